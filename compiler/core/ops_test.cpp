#include "compiler/core/ops.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace trig;
using namespace trig::core;

namespace {
Value money(const char* s) {
  return Value::money(*Decimal::parse(s));
}
}  // namespace

TEST_CASE("an absent side makes every comparison false") {
  for (Op op :
       {Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::In, Op::Contains, Op::StartsWith}) {
    CHECK_FALSE(compare(op, Value::absent(), Value::integer(1)));
    CHECK_FALSE(compare(op, Value::str("a"), Value::absent()));
    CHECK_FALSE(compare(op, Value::absent(), Value::absent()));
  }
}

TEST_CASE("money compares exactly with money, int and decimal literals") {
  CHECK(compare(Op::Eq, money("49.99"), money("49.99")));
  CHECK(compare(Op::Lt, money("49.99"), money("50")));
  CHECK(compare(Op::Eq, money("150"), Value::integer(150)));
  CHECK(compare(Op::Gt, money("150.000001"), Value::integer(150)));
  // 0.1 + 0.2 == 0.3 holds for money, unlike binary floating point.
  Value sum = arithmetic(Op::Add, money("0.1"), money("0.2"), TypeKind::Money);
  CHECK(sum.kind == Value::Kind::Money);
  CHECK(compare(Op::Eq, sum, money("0.3")));
  CHECK(compare(Op::Ge, Value::flt(2.5), Value::integer(2)));
  CHECK(compare(Op::Ne, Value::flt(2.5), money("2.4")));
}

TEST_CASE("strings, bools, times and durations compare within their type") {
  CHECK(compare(Op::Lt, Value::str("apple"), Value::str("banana")));
  CHECK(compare(Op::Eq, Value::boolean(true), Value::boolean(true)));
  CHECK(compare(Op::Ne, Value::boolean(true), Value::boolean(false)));
  CHECK(compare(Op::Lt, Value::time(10), Value::time(20)));
  CHECK(compare(Op::Ge, Value::duration(kHour), Value::duration(kMinute)));
  CHECK_FALSE(compare(Op::Eq, Value::str("1"), Value::integer(1)));
  CHECK_FALSE(compare(Op::Eq, Value::time(5), Value::duration(5)));
}

TEST_CASE("in, contains and starts_with") {
  Value list;
  list.kind = Value::Kind::List;
  list.list = {Value::str("shoes"), Value::str("bags")};
  CHECK(compare(Op::In, Value::str("bags"), list));
  CHECK_FALSE(compare(Op::In, Value::str("hats"), list));
  Value nums;
  nums.kind = Value::Kind::List;
  nums.list = {Value::integer(1), Value::integer(2)};
  CHECK(compare(Op::In, money("2"), nums));
  CHECK(compare(Op::Contains, Value::str("/checkout/cart"), Value::str("checkout")));
  CHECK_FALSE(compare(Op::Contains, Value::str("/home"), Value::str("checkout")));
  CHECK(compare(Op::Contains, list, Value::str("shoes")));
  CHECK(compare(Op::StartsWith, Value::str("/sale/x"), Value::str("/sale")));
  CHECK_FALSE(compare(Op::StartsWith, Value::str("/x/sale"), Value::str("/sale")));
}

TEST_CASE(
    "arithmetic: exact money, int division by the type sema chose, division by zero is absent") {
  Value t = arithmetic(Op::Mul, money("19.99"), Value::integer(3), TypeKind::Money);
  CHECK(t.kind == Value::Kind::Money);
  CHECK(t.m.toString() == "59.97");
  Value half = arithmetic(Op::Div, money("10"), Value::integer(4), TypeKind::Money);
  CHECK(half.m.toString() == "2.5");
  CHECK(arithmetic(Op::Div, Value::integer(7), Value::integer(2), TypeKind::Int).i == 3);
  Value f = arithmetic(Op::Div, Value::integer(7), Value::integer(2), TypeKind::Float);
  CHECK(f.kind == Value::Kind::Float);
  CHECK(f.f == doctest::Approx(3.5));
  CHECK(arithmetic(Op::Div, Value::integer(1), Value::integer(0), TypeKind::Int).isAbsent());
  CHECK(arithmetic(Op::Div, money("1"), money("0"), TypeKind::Money).isAbsent());
  CHECK(arithmetic(Op::Div, Value::flt(1), Value::flt(0), TypeKind::Float).isAbsent());
  CHECK(arithmetic(Op::Add, Value::absent(), Value::integer(1), TypeKind::Int).isAbsent());
  CHECK(
      arithmetic(Op::Add, Value::integer(INT64_MAX), Value::integer(1), TypeKind::Int).isAbsent());
  CHECK(arithmetic(Op::Sub, Value::integer(5), Value::integer(7), TypeKind::Int).i == -2);
  CHECK(arithmetic(Op::Mul, money("0.5"), money("0.5"), TypeKind::Money).m.toString() == "0.25");
  CHECK(arithmetic(Op::Add, Value::str("a"), Value::str("b"), TypeKind::Error).isAbsent());
}

TEST_CASE("time plus or minus a duration is a time") {
  Value t = arithmetic(Op::Add, Value::time(1000), Value::duration(kMinute), TypeKind::Time);
  CHECK(t.kind == Value::Kind::Time);
  CHECK(t.i == 1000 + kMinute);
  Value u = arithmetic(Op::Sub, Value::time(kHour), Value::duration(kMinute), TypeKind::Time);
  CHECK(u.kind == Value::Kind::Time);
  CHECK(u.i == kHour - kMinute);
  Value d = arithmetic(Op::Sub, Value::time(kHour), Value::time(0), TypeKind::Duration);
  CHECK(d.kind == Value::Kind::Duration);
  CHECK(d.i == kHour);
  CHECK(arithmetic(Op::Add, Value::time(1), Value::time(1), TypeKind::Error).isAbsent());
}

TEST_CASE("negation and numeric conversion") {
  CHECK(negate(Value::integer(3)).i == -3);
  CHECK(negate(money("1.5")).m.toString() == "-1.5");
  CHECK(negate(Value::str("x")).isAbsent());
  CHECK(convertNumeric(Value::integer(3), TypeKind::Money).m.toString() == "3");
  CHECK(convertNumeric(money("2.5"), TypeKind::Float).f == doctest::Approx(2.5));
}

TEST_CASE("median: the lower middle value, of the values' kind, absent over nothing") {
  std::vector<Value> none;
  CHECK(lowerMedian(none).isAbsent());
  std::vector<Value> two{Value::integer(30), Value::integer(10)};
  CHECK(lowerMedian(two).i == 10);
  std::vector<Value> three{Value::money(Decimal{50'000000}), Value::money(Decimal{10'000000}),
                           Value::money(Decimal{30'000000})};
  Value m = lowerMedian(three);
  CHECK(m.kind == Value::Kind::Money);
  CHECK(m.m.units == 30'000000);
  std::vector<Value> floats{Value::flt(std::nan("")), Value::flt(2.5), Value::flt(-1)};
  CHECK(lowerMedian(floats).f == 2.5);  // NaN counts as the largest
}
