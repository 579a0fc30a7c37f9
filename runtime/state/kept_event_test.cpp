#include "runtime/state/kept_event.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

using namespace trig;
using state::KeptEvent;

namespace {

// An event with every kind of value, some fields absent, a long string and a list.
Event sample() {
  Event e;
  e.kind = Event::Kind::Track;
  e.type = 3;
  e.time = 1'767'225'600'123;
  e.seq = 42;
  e.customer = "c1";
  e.name = "cart_add";
  e.fields.resize(11);
  e.fields[0] = Value::str("p7");
  e.fields[2] = Value::str("A product name longer than fifteen bytes");
  e.fields[3] = Value::integer(-5);
  e.fields[4] = Value::flt(-0.0);
  e.fields[5] = Value::money(*Decimal::fromInt(200));
  e.fields[6] = Value::boolean(true);
  e.fields[7].kind = Value::Kind::Time;
  e.fields[7].i = 1'767'225'000'000;
  e.fields[8].kind = Value::Kind::Duration;
  e.fields[8].i = 900'000;
  e.fields[9].kind = Value::Kind::List;
  e.fields[9].list = {Value::str("a"), Value::integer(1)};
  e.fields[10] = Value::str("");
  return e;
}

Value money(int64_t units) {
  Decimal d;
  d.units = units;
  return Value::money(d);
}

}  // namespace

TEST_CASE("a kept event unpacks to the fields, kind, type, time and order it was kept with") {
  Event e = sample();
  KeptEvent k(e);
  REQUIRE_FALSE(k.empty());
  CHECK(k.type() == 3);
  CHECK(k.time() == e.time);
  CHECK(k.seq() == 42);
  CHECK(k.kind() == Event::Kind::Track);
  Event back = k.unpack();
  CHECK(back.kind == e.kind);
  CHECK(back.type == e.type);
  CHECK(back.time == e.time);
  CHECK(back.seq == e.seq);
  CHECK(back.customer.empty());  // no identity strings, as Engine's anchor copies
  REQUIRE(back.fields.size() == e.fields.size());
  for (size_t i = 0; i < e.fields.size(); ++i) {
    INFO("field " << i);
    CHECK(back.fields[i] == e.fields[i]);
  }
  CHECK(back.fields[1].isAbsent());
  CHECK(std::signbit(back.fields[4].f));  // -0 stays -0

  // Unpacking into a used event replaces its fields (none left over from before).
  Event reused;
  reused.fields.assign(20, Value::integer(9));
  k.unpackInto(reused);
  REQUIRE(reused.fields.size() == e.fields.size());
  CHECK(reused.fields[1].isAbsent());
  CHECK(reused.fields[2] == e.fields[2]);

  // And into a narrower one holding strings and lists where the kept event has other values or
  // none: every field equals the kept one, member for member (an absent one is Value{}).
  Event other;
  other.fields.assign(4, Value::listOf({Value::str("x")}));
  other.fields[1] = Value::str("a string long enough to own its room, not inline");
  other.fields[3] = Value::str("a string where an int goes, longer than fifteen");
  k.unpackInto(other);
  REQUIRE(other.fields.size() == e.fields.size());
  for (size_t i = 0; i < e.fields.size(); ++i) {
    INFO("field " << i);
    CHECK(other.fields[i] == e.fields[i]);
  }
}

TEST_CASE("copies of a kept event share one allocation, which the last one frees") {
  Event e = sample();
  KeptEvent a(e);
  CHECK(a.shares() == 1);
  {
    KeptEvent b = a;
    KeptEvent c;
    c = b;
    CHECK(a.shares() == 3);
    CHECK(c.unpack().fields[2] == e.fields[2]);
  }
  CHECK(a.shares() == 1);
  KeptEvent moved = std::move(a);
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): a moved-from KeptEvent is empty
  CHECK(moved.shares() == 1);
  moved = KeptEvent();
  CHECK(moved.empty());
  CHECK(moved.heapBytes() == 0);
}

TEST_CASE("a kept event holds exactly the event it was kept from") {
  Event e = sample();
  e.fields[9] = Value{};  // lists are never taken as the same
  KeptEvent k(e);
  CHECK(k.holds(e));

  auto differs = [&](auto&& change) {
    Event other = e;
    change(other);
    return !k.holds(other);
  };
  CHECK(differs([](Event& x) { ++x.seq; }));
  CHECK(differs([](Event& x) { ++x.time; }));
  CHECK(differs([](Event& x) { x.type = 4; }));
  CHECK(differs([](Event& x) { x.kind = Event::Kind::Undeclared; }));
  CHECK(differs([](Event& x) { x.fields.emplace_back(); }));
  CHECK(differs([](Event& x) { x.fields[0] = Value::str("p8"); }));
  CHECK(differs([](Event& x) { x.fields[1] = Value::integer(0); }));  // was absent
  CHECK(differs([](Event& x) { x.fields[0] = Value{}; }));            // was present
  CHECK(differs([](Event& x) { x.fields[2].s.back() = '!'; }));
  CHECK(differs([](Event& x) { x.fields[3] = Value::flt(-5); }));   // same number, other kind
  CHECK(differs([](Event& x) { x.fields[4] = Value::flt(0.0); }));  // +0 is not -0
  CHECK(differs([](Event& x) { x.fields[6] = Value::boolean(false); }));
  CHECK(differs([](Event& x) { x.fields[10] = Value::str("x"); }));
  // Identity strings and the source are not kept, so they do not matter.
  Event renamed = e;
  renamed.customer = "c2";
  CHECK(k.holds(renamed));

  Event withList = sample();
  CHECK_FALSE(KeptEvent(withList).holds(withList));
  CHECK_FALSE(KeptEvent().holds(e));
}

TEST_CASE("a kept event is smaller than the event's Values") {
  Event e;
  e.type = 1;
  e.fields = {Value::str("p7"),   Value::str("Oak Chair 7"), Value::str("chairs"),
              money(228'080'000), Value::integer(1),         money(1'140'400'000)};
  KeptEvent k(e);
  // The header, six 16-byte cells and six slots; every string fits its cell.
  CHECK(k.heapBytes() < 200);
  CHECK(k.heapBytes() < e.fields.size() * sizeof(Value));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  e.fields[4] = Value::flt(nan);
  KeptEvent withNan(e);
  CHECK(withNan.holds(e));  // NaN is itself, bit for bit
  CHECK(std::isnan(withNan.unpack().fields[4].f));
}
