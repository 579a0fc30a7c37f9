#include "compiler/core/aggregate.h"

#include <cstdint>

#include "compiler/core/ops.h"

namespace trig::core {

const char* aggName(AggFn fn) {
  switch (fn) {
    case AggFn::Count: return "count";
    case AggFn::Sum: return "sum";
    case AggFn::Min: return "min";
    case AggFn::Max: return "max";
    case AggFn::Avg: return "avg";
    case AggFn::Median: return "median";
  }
  return "?";
}

std::optional<AggFn> aggNamed(std::string_view name) {
  // Every AggFn has a name; the first value past the last one is "?".
  for (int i = 0; std::string_view(aggName(static_cast<AggFn>(i))) != "?"; ++i)
    if (name == aggName(static_cast<AggFn>(i))) return static_cast<AggFn>(i);
  return std::nullopt;
}

TypeKind aggregateType(AggFn fn, TypeKind field) {
  switch (fn) {
    case AggFn::Count: return TypeKind::Int;
    case AggFn::Avg: return field == TypeKind::Int ? TypeKind::Float : field;
    case AggFn::Sum:
    case AggFn::Min:
    case AggFn::Max:
    case AggFn::Median: return field;
  }
  return field;
}

TypeKind aggregateResultKind(AggFn fn, TypeKind field, TypeKind hint) {
  switch (fn) {
    case AggFn::Count: return TypeKind::Int;
    case AggFn::Sum:
    case AggFn::Min:
    case AggFn::Max:
    case AggFn::Median: return field;
    case AggFn::Avg: break;
  }
  // avg: money stays exact money; int and float average to a float unless sema typed it else.
  if (field == TypeKind::Float) return TypeKind::Float;
  if (hint == TypeKind::Error || hint == TypeKind::Int)
    hint = field == TypeKind::Money ? TypeKind::Money : TypeKind::Float;
  if (hint == TypeKind::Float) return TypeKind::Float;
  if (field == TypeKind::Int) return hint == TypeKind::Money ? TypeKind::Money : TypeKind::Int;
  return TypeKind::Money;
}

void Aggregate::add(const Value& v) {
  if (fn_ == AggFn::Count) {
    ++n_;
    return;
  }
  if (v.isAbsent()) return;
  ++n_;
  kind_ = v.kind;
  switch (fn_) {
    case AggFn::Sum:
    case AggFn::Avg:
      if (v.kind == Value::Kind::Int)
        exact_ += v.i;
      else if (v.kind == Value::Kind::Money)
        exact_ += v.m.units;
      else if (v.kind == Value::Kind::Float)
        real_ += v.f;
      // Far past int64 either way: the sum cannot come back into range.
      if (exact_ > static_cast<Int128>(INT64_MAX) * 1024 ||
          exact_ < static_cast<Int128>(INT64_MIN) * 1024)
        overflow_ = true;
      break;
    case AggFn::Min:
      if (best_.isAbsent() || compare(Op::Lt, v, best_)) best_ = v;
      break;
    case AggFn::Max:
      if (best_.isAbsent() || compare(Op::Gt, v, best_)) best_ = v;
      break;
    case AggFn::Median: values_.push_back(v); break;
    case AggFn::Count: break;  // counted above
  }
}

Value Aggregate::result() {
  if (fn_ == AggFn::Count) return Value::integer(n_);
  if (n_ == 0 || overflow_) return Value::absent();  // over nothing: absent
  switch (fn_) {
    case AggFn::Min:
    case AggFn::Max: return best_;
    case AggFn::Median: return lowerMedian(values_);
    case AggFn::Sum:
    case AggFn::Avg:
    case AggFn::Count: break;
  }
  Value total;
  if (kind_ == Value::Kind::Float)
    total = Value::flt(real_);
  else if (exact_ > INT64_MAX || exact_ < INT64_MIN)
    return Value::absent();
  else if (kind_ == Value::Kind::Money)
    total = Value::money(Decimal{static_cast<int64_t>(exact_)});
  else
    total = Value::integer(static_cast<int64_t>(exact_));
  if (fn_ == AggFn::Sum) return total;
  TypeKind field = kind_ == Value::Kind::Money   ? TypeKind::Money
                   : kind_ == Value::Kind::Float ? TypeKind::Float
                                                 : TypeKind::Int;
  return arithmetic(Op::Div, total, Value::integer(n_), aggregateResultKind(fn_, field, hint_));
}

}  // namespace trig::core
