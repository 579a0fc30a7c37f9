#pragma once
// The meaning of the aggregates (`count`, `sum`, `min`, `max`, `avg`, `median` of E.f within D;
// docs/language.md, "Aggregates"), written once: sema types them with aggregateType, the
// parser reads their names here, the interpreter and the JIT's helper both fold the matching
// events' values through an Aggregate, and the lowering reads the result's kind from
// aggregateResultKind.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "compiler/core/kinds.h"
#include "compiler/core/value.h"

namespace trig::core {

// How `fn` is spelled in rules ("count", "sum", ...), and the aggregate spelled `name`.
const char* aggName(AggFn fn);
std::optional<AggFn> aggNamed(std::string_view name);

// The type sema gives `fn` over a numeric field of kind `field`: count is int, avg of an int
// field is float, the others keep the field's kind.
TypeKind aggregateType(AggFn fn, TypeKind field);

// The kind of value `fn` yields over a field of kind `field` when sema settled the whole
// expression on `hint` (a literal-flexible average may be money or int): what Aggregate::result
// returns when present.
TypeKind aggregateResultKind(AggFn fn, TypeKind field, TypeKind hint);

// Folds the values of one aggregate, in the order of the history's walk.
class Aggregate {
 public:
  // `hint`: the type sema gave the aggregate expression (decides avg's result type).
  Aggregate(AggFn fn, TypeKind hint) : fn_(fn), hint_(hint) {}

  // One matching event's value. `count` counts every call; the others skip an absent value
  // (an aggregate is over the values that were sent).
  void add(const Value& v);
  // The aggregate: absent over nothing (except count, 0) and on overflow of an exact sum.
  Value result();

 private:
  __extension__ using Int128 = __int128;  // __extension__: no -Wpedantic noise

  AggFn fn_;
  TypeKind hint_;
  int64_t n_ = 0;
  Value::Kind kind_ = Value::Kind::Absent;
  Int128 exact_ = 0;  // int and money, in their own units (int) or millionths (money)
  double real_ = 0;   // float
  bool overflow_ = false;
  Value best_;                 // min / max
  std::vector<Value> values_;  // median
};

}  // namespace trig::core
