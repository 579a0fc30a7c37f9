#include "compiler/core/aggregate.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>

using namespace trig;
using namespace trig::core;

namespace {
Value fold(AggFn fn, TypeKind hint, std::initializer_list<Value> values) {
  Aggregate a(fn, hint);
  for (const Value& v : values) a.add(v);
  return a.result();
}
Value money(const char* s) {
  return Value::money(*Decimal::parse(s));
}
}  // namespace

TEST_CASE("count counts every matching event, absent values included") {
  CHECK(fold(AggFn::Count, TypeKind::Int, {}).i == 0);
  Value n = fold(AggFn::Count, TypeKind::Int, {Value::absent(), Value::integer(3)});
  CHECK(n.kind == Value::Kind::Int);
  CHECK(n.i == 2);
}

TEST_CASE("the other aggregates skip absent values and are absent over nothing") {
  for (AggFn fn : {AggFn::Sum, AggFn::Min, AggFn::Max, AggFn::Avg, AggFn::Median}) {
    CHECK(fold(fn, TypeKind::Int, {}).isAbsent());
    CHECK(fold(fn, TypeKind::Int, {Value::absent()}).isAbsent());
  }
  CHECK(
      fold(AggFn::Sum, TypeKind::Int, {Value::integer(2), Value::absent(), Value::integer(5)}).i ==
      7);
  CHECK(fold(AggFn::Min, TypeKind::Int, {Value::integer(2), Value::integer(-5)}).i == -5);
  CHECK(fold(AggFn::Max, TypeKind::Int, {Value::integer(2), Value::integer(-5)}).i == 2);
  CHECK(fold(AggFn::Median, TypeKind::Int,
             {Value::integer(9), Value::integer(1), Value::integer(4), Value::integer(7)})
            .i == 4);
}

TEST_CASE("avg of int is a float, of money exact money") {
  Value f = fold(AggFn::Avg, TypeKind::Float, {Value::integer(1), Value::integer(2)});
  CHECK(f.kind == Value::Kind::Float);
  CHECK(f.f == 1.5);
  Value m = fold(AggFn::Avg, TypeKind::Money, {money("1.00"), money("2.00"), money("2.00")});
  CHECK(m.kind == Value::Kind::Money);
  CHECK(m.m.units == Decimal::parse("1.666667")->units);
  CHECK(aggregateType(AggFn::Avg, TypeKind::Int) == TypeKind::Float);
  CHECK(aggregateType(AggFn::Sum, TypeKind::Money) == TypeKind::Money);
  CHECK(aggregateResultKind(AggFn::Avg, TypeKind::Int, TypeKind::Money) == TypeKind::Money);
  CHECK(aggregateResultKind(AggFn::Avg, TypeKind::Money, TypeKind::Error) == TypeKind::Money);
}

TEST_CASE("an exact sum past int64 is absent, not wrapped") {
  CHECK(fold(AggFn::Sum, TypeKind::Int, {Value::integer(INT64_MAX), Value::integer(1)}).isAbsent());
  CHECK(fold(AggFn::Sum, TypeKind::Int,
             {Value::integer(INT64_MAX), Value::integer(1), Value::integer(-1)})
            .i == INT64_MAX);
}

TEST_CASE("every aggregate has one name, read back by aggNamed") {
  for (AggFn fn : {AggFn::Count, AggFn::Sum, AggFn::Min, AggFn::Max, AggFn::Avg, AggFn::Median})
    CHECK(aggNamed(aggName(fn)) == fn);
  CHECK_FALSE(aggNamed("mean").has_value());
  CHECK_FALSE(aggNamed("?").has_value());
}
