#pragma once
// A run-time value of the language: what event fields, traits, template variables and
// expressions evaluate to. `Absent` is the value of an optional field that was not sent, of
// `last` over nothing, of `sum/min/max/avg` over nothing and of a division by zero.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "compiler/support/decimal.h"
#include "compiler/support/time.h"

namespace trig {

struct Value {
  enum class Kind : uint8_t { Absent, String, Int, Float, Money, Bool, Time, Duration, List };
  Kind kind = Kind::Absent;
  bool b = false;
  int64_t i = 0;  // Int, Time (ms since epoch), Duration (ms)
  double f = 0;   // Float
  Decimal m;      // Money
  std::string s;  // String
  std::vector<Value> list;

  static Value absent() { return {}; }
  static Value str(std::string v) {
    Value x;
    x.kind = Kind::String;
    x.s = std::move(v);
    return x;
  }
  static Value integer(int64_t v) {
    Value x;
    x.kind = Kind::Int;
    x.i = v;
    return x;
  }
  static Value flt(double v) {
    Value x;
    x.kind = Kind::Float;
    x.f = v;
    return x;
  }
  static Value money(Decimal v) {
    Value x;
    x.kind = Kind::Money;
    x.m = v;
    return x;
  }
  static Value boolean(bool v) {
    Value x;
    x.kind = Kind::Bool;
    x.b = v;
    return x;
  }
  static Value time(TimeMs v) {
    Value x;
    x.kind = Kind::Time;
    x.i = v;
    return x;
  }
  static Value duration(DurationMs v) {
    Value x;
    x.kind = Kind::Duration;
    x.i = v;
    return x;
  }
  static Value listOf(std::vector<Value> items) {
    Value x;
    x.kind = Kind::List;
    x.list = std::move(items);
    return x;
  }

  bool isAbsent() const { return kind == Kind::Absent; }
  friend bool operator==(const Value&, const Value&) = default;
};

}  // namespace trig
