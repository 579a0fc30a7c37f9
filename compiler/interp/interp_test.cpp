// The reference interpreter: section 4 of the language, one form at a time.
#include "compiler/interp/interp.h"

#include <doctest/doctest.h>

#include "compiler/interp/test_fixture.h"

namespace trig::interp {
namespace {

using testing::at;
using testing::CheckedProgram;
using testing::money;
using testing::VectorHistory;

const char* kRules = R"(
event trial { ends_at: time, plan: string, seats?: int, ratio?: float, tags?: [string] }
customer { vip?: bool, score?: int }
template t { subject "x" body "." }

trigger gt: when cart_add and quantity > 2 send t
trigger not_gt: when cart_add and not (quantity > 2) send t
trigger ne: when cart_add and quantity != 2 send t
trigger has_price: when cart_add and exists(price) send t
trigger recent_cart: when purchased and cart_add within 1h send t
trigger same_views: when product_view and count(product_view(same product_id)) within 7d >= 2 send t
trigger same_category: when product_view and count(product_view(same category)) within 7d >= 1 send t
trigger bought_it: when product_view as v and purchased(product_id == v.product_id) within 30d send t
trigger spend: when page_view and sum(purchased.revenue) within 30d > 100 send t
trigger lo: when page_view and min(purchased.revenue) within 30d < 10 send t
trigger hi: when page_view and max(purchased.revenue) within 30d >= 50 send t
trigger mean: when page_view and avg(purchased.revenue) within 30d == 33.34 send t
trigger mean_qty: when page_view and avg(cart_add.quantity) within 30d > 1.4 send t
trigger last_cat: when search and last(product_view).category == "shoes" send t
trigger last_shoe: when search and last(product_view(category == "shoes")).product_id == "s1" send t
trigger per_item: when cart_add and cart_value / quantity > 10 send t
trigger exact: when cart_add and price == 49.99 send t
trigger line: when cart_add and price * quantity > 100 send t
trigger sale: when page_view and url starts_with "/sale" send t
trigger shoe_search: when search and query contains "shoe" send t
trigger cats: when product_view and category in ["shoes", "bags"] send t
trigger tagged: when trial and tags contains "beta" send t
trigger ending: when trial and ends_at - 3d <= 2026-03-10T00:00:00Z send t
trigger later: when trial and ends_at + 1h > 2026-03-13T00:30:00Z send t
trigger vip: when page_view and customer.vip send t
trigger scored: when page_view and customer.score >= 10 send t
trigger either: when (cart_add or checkout_start) and cart_value > 10 send t
trigger followup: when cart_add after 1d unless purchased send t
trigger followup_window: when cart_add after 1d unless purchased within 2h send t
trigger float_ratio: when trial and ratio * 2 > 1 send t
trigger int_div: when trial and seats / 2 == 1.5 send t
)";

struct Fixture {
  CheckedProgram p{kRules};
  Interpreter interp{p.model};
  VectorHistory history;
  std::vector<Value> traits = p.traits({});

  // Whether rule `name`'s first `and` term holds for `anchor` at `now`.
  bool holds(const std::string& name, const Event& anchor, TimeMs now) {
    const auto& r = p.rule(name);
    REQUIRE(!r.conditions.empty());
    EvalEnv env;
    env.anchor = &anchor;
    env.traits = &traits;
    env.history = &history;
    env.now = now;
    return interp.test(*r.conditions[0], env);
  }
  Value value(const std::string& text, const Event& anchor, TimeMs now) {
    EvalEnv env;
    env.anchor = &anchor;
    env.traits = &traits;
    env.history = &history;
    env.now = now;
    return interp.value(p.expr(text), env);
  }
};

const TimeMs T0 = at("2026-03-01T10:00:00Z");

}  // namespace

TEST_CASE("a comparison with an absent side is false, and `not` of it is true") {
  Fixture f;
  Event none = f.p.event("cart_add", T0, {{"product_id", Value::str("p")}});
  CHECK_FALSE(f.holds("gt", none, T0));
  CHECK(f.holds("not_gt", none, T0));
  CHECK_FALSE(f.holds("ne", none, T0));
  CHECK_FALSE(f.holds("has_price", none, T0));
  Event three =
      f.p.event("cart_add", T0, {{"product_id", Value::str("p")}, {"quantity", Value::integer(3)}});
  CHECK(f.holds("gt", three, T0));
  CHECK_FALSE(f.holds("not_gt", three, T0));
  CHECK(f.holds("ne", three, T0));
  Event priced =
      f.p.event("cart_add", T0, {{"product_id", Value::str("p")}, {"price", money("1")}});
  CHECK(f.holds("has_price", priced, T0));
}

TEST_CASE("windows are [t - D, t], inclusive at both ends") {
  Fixture f;
  Event anchor = f.p.event("purchased", T0, {{"order_id", Value::str("o")}});
  SUBCASE("exactly D before") {
    f.history.add(f.p.event("cart_add", T0 - kHour, {{"product_id", Value::str("p")}}));
    CHECK(f.holds("recent_cart", anchor, T0));
  }
  SUBCASE("one millisecond more") {
    f.history.add(f.p.event("cart_add", T0 - kHour - 1, {{"product_id", Value::str("p")}}));
    CHECK_FALSE(f.holds("recent_cart", anchor, T0));
  }
  SUBCASE("at t") {
    f.history.add(f.p.event("cart_add", T0, {{"product_id", Value::str("p")}}));
    CHECK(f.holds("recent_cart", anchor, T0));
  }
  SUBCASE("after t is not seen") {
    f.history.add(f.p.event("cart_add", T0 + 1, {{"product_id", Value::str("p")}}));
    CHECK_FALSE(f.holds("recent_cart", anchor, T0));
  }
}

TEST_CASE("`same f` compares with the anchor's field and is false when either lacks it") {
  Fixture f;
  Event v1 = f.p.event("product_view", T0 - kDay, {{"product_id", Value::str("p1")}});
  Event v2 = f.p.event("product_view", T0 - kHour,
                       {{"product_id", Value::str("p2")}, {"category", Value::str("shoes")}});
  Event anchor = f.p.event("product_view", T0, {{"product_id", Value::str("p1")}});
  f.history.add(v1);
  f.history.add(v2);
  f.history.add(anchor);
  CHECK(f.value("count(product_view(same product_id)) within 7d", anchor, T0) == Value::integer(2));
  CHECK(f.holds("same_views", anchor, T0));
  Event p2 = f.p.event("product_view", T0, {{"product_id", Value::str("p2")}});
  CHECK(f.value("count(product_view(same product_id)) within 7d", p2, T0) == Value::integer(1));
  // The anchor has no category: `same category` matches nothing, not even events without one.
  CHECK(f.value("count(product_view(same category)) within 7d", anchor, T0) == Value::integer(0));
  Event shoes = f.p.event("product_view", T0,
                          {{"product_id", Value::str("p3")}, {"category", Value::str("shoes")}});
  CHECK(f.value("count(product_view(same category)) within 7d", shoes, T0) == Value::integer(1));
}

TEST_CASE("a filter sees the filtered event's fields and the anchor by its alias") {
  Fixture f;
  f.history.add(f.p.event("purchased", T0 - kDay,
                          {{"order_id", Value::str("o")}, {"product_id", Value::str("p1")}}));
  f.history.add(f.p.event("purchased", T0 - kDay, {{"order_id", Value::str("o2")}}));
  CHECK(
      f.holds("bought_it", f.p.event("product_view", T0, {{"product_id", Value::str("p1")}}), T0));
  CHECK_FALSE(
      f.holds("bought_it", f.p.event("product_view", T0, {{"product_id", Value::str("p9")}}), T0));
}

TEST_CASE("sum, min, max and avg: exact money, absent over nothing; count is 0 over nothing") {
  Fixture f;
  Event anchor = f.p.event("page_view", T0, {{"url", Value::str("/")}});
  CHECK(f.value("sum(purchased.revenue) within 30d", anchor, T0).isAbsent());
  CHECK(f.value("min(purchased.revenue) within 30d", anchor, T0).isAbsent());
  CHECK(f.value("avg(purchased.revenue) within 30d", anchor, T0).isAbsent());
  CHECK_FALSE(f.holds("spend", anchor, T0));
  CHECK_FALSE(f.holds("hi", anchor, T0));
  for (const char* r : {"60", "40.01", "0.01"})
    f.history.add(
        f.p.event("purchased", T0 - kDay, {{"order_id", Value::str("o")}, {"revenue", money(r)}}));
  // A purchase without revenue is skipped, not counted as zero.
  f.history.add(f.p.event("purchased", T0 - kDay, {{"order_id", Value::str("o")}}));
  Value sum = f.value("sum(purchased.revenue) within 30d", anchor, T0);
  CHECK(sum.kind == Value::Kind::Money);
  CHECK(sum.m.toString() == "100.02");
  CHECK(f.holds("spend", anchor, T0));
  CHECK(f.value("min(purchased.revenue) within 30d", anchor, T0) == money("0.01"));
  CHECK(f.value("max(purchased.revenue) within 30d", anchor, T0) == money("60"));
  CHECK(f.holds("lo", anchor, T0));
  CHECK(f.holds("hi", anchor, T0));
  // 100.02 / 3 = 33.34 exactly in money.
  CHECK(f.value("avg(purchased.revenue) within 30d", anchor, T0) == money("33.34"));
  CHECK(f.holds("mean", anchor, T0));
  // The average of ints is a float: (1 + 2) / 2 = 1.5.
  f.history.add(f.p.event("cart_add", T0 - kHour,
                          {{"product_id", Value::str("p")}, {"quantity", Value::integer(1)}}));
  f.history.add(f.p.event("cart_add", T0 - kHour,
                          {{"product_id", Value::str("p")}, {"quantity", Value::integer(2)}}));
  Value avg = f.value("avg(cart_add.quantity) within 30d", anchor, T0);
  CHECK(avg.kind == Value::Kind::Float);
  CHECK(avg.f == doctest::Approx(1.5));
  CHECK(f.holds("mean_qty", anchor, T0));
}

TEST_CASE("last(E).f is the newest E at or before t, absent when there is none") {
  Fixture f;
  Event anchor = f.p.event("search", T0, {{"query", Value::str("q")}});
  CHECK(f.value("last(product_view).category", anchor, T0).isAbsent());
  CHECK_FALSE(f.holds("last_cat", anchor, T0));
  f.history.add(f.p.event("product_view", T0 - 3 * kDay,
                          {{"product_id", Value::str("s1")}, {"category", Value::str("shoes")}}));
  f.history.add(f.p.event("product_view", T0 - kDay,
                          {{"product_id", Value::str("h1")}, {"category", Value::str("hats")}}));
  f.history.add(f.p.event("product_view", T0 + kDay,
                          {{"product_id", Value::str("s2")}, {"category", Value::str("shoes")}}));
  CHECK(f.value("last(product_view).category", anchor, T0) == Value::str("hats"));
  CHECK_FALSE(f.holds("last_cat", anchor, T0));
  CHECK(f.holds("last_shoe", anchor, T0));  // the newest shoe at or before t is s1, at any age
  CHECK(f.holds("last_cat", anchor, T0 + kDay));
}

TEST_CASE("division by zero is absent; int division gives a fraction") {
  Fixture f;
  Event zero = f.p.event("cart_add", T0,
                         {{"product_id", Value::str("p")},
                          {"cart_value", money("100")},
                          {"quantity", Value::integer(0)}});
  CHECK(f.value("cart_value / quantity", zero, T0).isAbsent());
  CHECK_FALSE(f.holds("per_item", zero, T0));
  Event five = f.p.event("cart_add", T0,
                         {{"product_id", Value::str("p")},
                          {"cart_value", money("100")},
                          {"quantity", Value::integer(5)}});
  CHECK(f.value("cart_value / quantity", five, T0) == money("20"));
  CHECK(f.holds("per_item", five, T0));
  Event seats = f.p.event(
      "trial", T0,
      {{"ends_at", Value::time(T0)}, {"plan", Value::str("x")}, {"seats", Value::integer(3)}});
  CHECK(f.holds("int_div", seats, T0));
  Event ratio = f.p.event(
      "trial", T0,
      {{"ends_at", Value::time(T0)}, {"plan", Value::str("x")}, {"ratio", Value::flt(0.6)}});
  CHECK(f.holds("float_ratio", ratio, T0));
}

TEST_CASE("money is exact: 49.99 is 49.99 and 33.34 * 3 is 100.02") {
  Fixture f;
  auto cart = [&](const char* price, int64_t qty) {
    return f.p.event("cart_add", T0,
                     {{"product_id", Value::str("p")},
                      {"price", money(price)},
                      {"quantity", Value::integer(qty)}});
  };
  CHECK(f.holds("exact", cart("49.99", 1), T0));
  CHECK_FALSE(f.holds("exact", cart("49.98", 1), T0));
  CHECK(f.holds("line", cart("33.34", 3), T0));
  CHECK_FALSE(f.holds("line", cart("33.33", 3), T0));
}

TEST_CASE("starts_with, contains and in") {
  Fixture f;
  CHECK(f.holds("sale", f.p.event("page_view", T0, {{"url", Value::str("/sale/x")}}), T0));
  CHECK_FALSE(f.holds("sale", f.p.event("page_view", T0, {{"url", Value::str("/x/sale")}}), T0));
  CHECK(f.holds("shoe_search", f.p.event("search", T0, {{"query", Value::str("red shoes")}}), T0));
  CHECK_FALSE(f.holds("shoe_search", f.p.event("search", T0, {{"query", Value::str("hat")}}), T0));
  CHECK(f.holds("cats",
                f.p.event("product_view", T0,
                          {{"product_id", Value::str("p")}, {"category", Value::str("bags")}}),
                T0));
  CHECK_FALSE(
      f.holds("cats",
              f.p.event("product_view", T0,
                        {{"product_id", Value::str("p")}, {"category", Value::str("hats")}}),
              T0));
  CHECK_FALSE(
      f.holds("cats", f.p.event("product_view", T0, {{"product_id", Value::str("p")}}), T0));
  Value tags;
  tags.kind = Value::Kind::List;
  tags.list = {Value::str("alpha"), Value::str("beta")};
  CHECK(
      f.holds("tagged",
              f.p.event("trial", T0,
                        {{"ends_at", Value::time(T0)}, {"plan", Value::str("x")}, {"tags", tags}}),
              T0));
  CHECK_FALSE(f.holds(
      "tagged", f.p.event("trial", T0, {{"ends_at", Value::time(T0)}, {"plan", Value::str("x")}}),
      T0));
}

TEST_CASE("time plus or minus a duration") {
  Fixture f;
  auto trial = [&](const char* ends) {
    return f.p.event("trial", T0, {{"ends_at", Value::time(at(ends))}, {"plan", Value::str("x")}});
  };
  CHECK(f.holds("ending", trial("2026-03-13T00:00:00Z"), T0));
  CHECK_FALSE(f.holds("ending", trial("2026-03-13T00:00:01Z"), T0));
  CHECK(f.holds("later", trial("2026-03-12T23:30:01Z"), T0));
  CHECK_FALSE(f.holds("later", trial("2026-03-12T23:30:00Z"), T0));
}

TEST_CASE("traits: a bool trait is a condition; an absent trait compares false") {
  Fixture f;
  Event pv = f.p.event("page_view", T0, {{"url", Value::str("/")}});
  CHECK_FALSE(f.holds("vip", pv, T0));
  CHECK_FALSE(f.holds("scored", pv, T0));
  f.traits = f.p.traits({{"vip", Value::boolean(true)}, {"score", Value::integer(10)}});
  CHECK(f.holds("vip", pv, T0));
  CHECK(f.holds("scored", pv, T0));
}

TEST_CASE("an anchor with alternatives reads its fields by name") {
  Fixture f;
  CHECK(f.holds(
      "either",
      f.p.event("cart_add", T0, {{"product_id", Value::str("p")}, {"cart_value", money("11")}}),
      T0));
  CHECK(f.holds("either", f.p.event("checkout_start", T0, {{"cart_value", money("11")}}), T0));
  CHECK_FALSE(
      f.holds("either", f.p.event("checkout_start", T0, {{"cart_value", money("10")}}), T0));
  CHECK_FALSE(f.holds("either", f.p.event("checkout_start", T0, {}), T0));
}

TEST_CASE("a step condition without a window means since the rule fired") {
  Fixture f;
  const auto& step = f.p.rule("followup").rule->steps.at(0);
  REQUIRE(step.unless.size() == 1);
  Event anchor = f.p.event("purchased", T0, {{"order_id", Value::str("anchor")}}, 5);
  EvalEnv env;
  env.anchor = &anchor;
  env.traits = &f.traits;
  env.history = &f.history;
  env.now = T0 + kDay;
  env.firedAt = T0;
  env.firedAfterSeq = 5;
  f.history.add(f.p.event("purchased", T0 - kHour, {{"order_id", Value::str("before")}}, 1));
  f.history.add(f.p.event("purchased", T0, {{"order_id", Value::str("same instant, earlier")}}, 4));
  CHECK_FALSE(f.interp.test(*step.unless[0], env));
  f.history.add(f.p.event("purchased", T0, {{"order_id", Value::str("same instant, later")}}, 6));
  CHECK(f.interp.test(*step.unless[0], env));
  // A firing by a timer comes before every event of its instant: all of them count.
  VectorHistory h2;
  h2.add(f.p.event("purchased", T0, {{"order_id", Value::str("o")}}, 1));
  env.history = &h2;
  env.firedAfterSeq = -1;
  CHECK(f.interp.test(*step.unless[0], env));
  // With a window, the window decides, not the firing.
  const auto& windowed = f.p.rule("followup_window").rule->steps.at(0);
  env.history = &f.history;
  env.now = T0 + kHour;
  CHECK(f.interp.test(*windowed.unless[0], env));
  env.now = T0 + 3 * kHour;
  CHECK_FALSE(f.interp.test(*windowed.unless[0], env));
}

}  // namespace trig::interp
