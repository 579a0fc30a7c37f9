// The history keeps only the fields some expression reads (RetentionPlan::slots). A slot left
// out would read as absent, silently: so every condition shape that reads remembered events is
// evaluated over the compact history and over one that keeps whole events, on random streams,
// and the answers must be the same.
#include <doctest/doctest.h>

#include <random>

#include "compiler/interp/interp.h"
#include "compiler/interp/test_fixture.h"
#include "runtime/state/history.h"

namespace trig::state {
namespace {

using testing::CheckedProgram;

std::vector<uint32_t> slotsOf(const CheckedProgram& p, const RetentionPlan& plan, const char* event,
                              std::initializer_list<const char*> fields) {
  std::vector<uint32_t> want;
  for (const char* f : fields) want.push_back(p.model.findEvent(event)->fieldIndex(f));
  std::sort(want.begin(), want.end());
  (void)plan;
  return want;
}

TEST_CASE("retention: only the field slots expressions read are kept") {
  CheckedProgram p(R"(
trigger a: when cart_add and count(product_view(same product_id)) within 7d >= 2 send t
trigger b: when cart_add and sum(purchased.revenue) within 30d > 10 send t
trigger c: when product_view(category == "books") unless purchased(order_id == "x") within 1d send t
template t { subject "s" body "b" }
)");
  RetentionPlan plan = RetentionPlan::build(p.model);
  const auto& pv = plan.of(p.model.findEvent("product_view")->index);
  CHECK(pv.slots == slotsOf(p, plan, "product_view", {"product_id"}));
  CHECK(pv.fields == p.model.findEvent("product_view")->fields.size());
  // The anchor filter of `c` reads the incoming product_view, not a remembered one.
  CHECK(plan.of(p.model.findEvent("purchased")->index).slots ==
        slotsOf(p, plan, "purchased", {"revenue", "order_id"}));
}

TEST_CASE("compact history: every shape of history read answers as with whole events") {
  CheckedProgram p(R"(
trigger same_count: when cart_add and count(product_view(same product_id)) within 7d >= 2 send t
trigger sum_price: when cart_add and sum(cart_add.price) within 7d > 10 send t
trigger last_cat: when cart_add and last(product_view).category == "lamps" send t
trigger last_filtered: when cart_add and last(product_view(price > 5)).product_name starts_with "B" send t
trigger filtered: when cart_add and product_view(price > 5 and product_name starts_with "B") within 1d send t
trigger anchor_ref: when cart_add as c and count(product_view(category == c.category)) within 7d >= 1 send t
trigger avg_max: when purchased and avg(purchased.revenue) within 30d > 50 and max(cart_add.quantity) within 30d >= 2 send t
trigger excluded: when purchased unless purchased(revenue > 100) within 30d send t
template t { subject "s" body "b" }
)");
  RetentionPlan plan = RetentionPlan::build(p.model);
  interp::Interpreter interp(p.model);
  std::mt19937 rng(42);
  auto pick = [&](std::initializer_list<const char*> options) -> Value {
    size_t i = rng() % (options.size() + 1);
    if (i == options.size()) return Value{};  // absent
    return Value::str(*(options.begin() + static_cast<std::ptrdiff_t>(i)));
  };
  auto money = [&]() -> Value {
    if (rng() % 4 == 0) return Value{};
    return Value::money(Decimal{static_cast<int64_t>(rng() % 20'000'000)});
  };
  for (int stream = 0; stream < 40; ++stream) {
    CAPTURE(stream);
    EventHistory compact;
    testing::VectorHistory whole;
    TimeMs t = testing::at("2026-01-01T00:00:00Z");
    for (uint64_t seq = 1; seq <= 60; ++seq) {
      t += static_cast<TimeMs>(rng() % (12 * kHour));
      Event e;
      switch (rng() % 3) {
        case 0:
          e = p.event("product_view", t, {}, seq);
          e.fields[p.model.findEvent("product_view")->fieldIndex("product_id")] = pick({"p1", "p2", "p3"});
          e.fields[p.model.findEvent("product_view")->fieldIndex("product_name")] = pick({"Blue lamp", "Red pen"});
          e.fields[p.model.findEvent("product_view")->fieldIndex("category")] = pick({"lamps", "pens"});
          e.fields[p.model.findEvent("product_view")->fieldIndex("price")] = money();
          break;
        case 1: {
          e = p.event("cart_add", t, {}, seq);
          const auto* info = p.model.findEvent("cart_add");
          e.fields[info->fieldIndex("product_id")] = pick({"p1", "p2", "p3"});
          e.fields[info->fieldIndex("category")] = pick({"lamps", "pens"});
          e.fields[info->fieldIndex("price")] = money();
          if (rng() % 2) e.fields[info->fieldIndex("quantity")] = Value::integer(static_cast<int64_t>(rng() % 4));
          break;
        }
        default:
          e = p.event("purchased", t, {{"order_id", Value::str("o")}}, seq);
          e.fields[p.model.findEvent("purchased")->fieldIndex("revenue")] = money();
          break;
      }
      compact.append(e, plan, INT64_MAX);
      whole.add(e);
      if (e.type == p.model.findEvent("product_view")->index) continue;
      EvalEnv a, b;
      a.anchor = b.anchor = &e;
      a.now = b.now = t;
      a.history = &compact;
      b.history = &whole;
      for (const auto& rule : p.model.rules) {
        if (std::find(rule.anchorEvents.begin(), rule.anchorEvents.end(), e.type) == rule.anchorEvents.end())
          continue;
        CAPTURE(rule.name);
        for (const auto* cond : rule.conditions) CHECK(interp.test(*cond, a) == interp.test(*cond, b));
        for (const auto* u : rule.unless) CHECK(interp.test(*u, a) == interp.test(*u, b));
        for (const auto* cond : rule.conditions)
          if (cond->kind == ast::ExprKind::Binary && cond->lhs->kind == ast::ExprKind::Last)
            CHECK(interp.value(*cond->lhs, a) == interp.value(*cond->lhs, b));
      }
    }
  }
}

}  // namespace
}  // namespace trig::state
