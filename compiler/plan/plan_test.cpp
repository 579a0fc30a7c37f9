// The rule plan's per-rule data: the flat step array (each list contiguous, variants after),
// templates and placeholders resolved, conditions by expression id, settings as values.
#include "compiler/plan/build.h"

#include <doctest/doctest.h>

#include <string>

#include "compiler/interp/test_fixture.h"

namespace trig::plan {
namespace {

using testing::CheckedProgram;

const Rule& ruleNamed(const Plan& plan, const std::string& name) {
  for (const Rule& r : plan.rules)
    if (r.name == name) return r;
  FAIL("no rule " << name);
  return plan.rules.front();
}

TEST_CASE("a rule's steps are one contiguous range, a split's variants ranges after it") {
  CheckedProgram p(R"(
template a {
  subject "A {{ product_name | default "x" }}"
  body "{{ customer.first_name | default "there" }} {{ note }}"
}
template b { subject "B" body "." }
trigger promo:
  when cart_add as c
  priority 2
  send a with note = c.product_id
  then split ab { 50% x: after 1h send b then after 2h send a with note = "n"  50% y: holdout }
  then after 1d unless purchased within 1d send b
)");
  const Plan plan = buildPlan(p.model);
  const Rule& r = ruleNamed(plan, "promo");
  REQUIRE(r.steps.size() == 3);
  const Step& first = plan.steps[r.steps.first];
  CHECK(first.kind == Step::Kind::Send);
  CHECK(first.templateName == "a");
  REQUIRE(first.templateIndex < plan.templates.size());
  CHECK(plan.templates[first.templateIndex].name == "a");
  REQUIRE(first.bindings.size() == 1);
  CHECK(first.bindings[0] == p.expr("c.product_id").id);
  // Each placeholder of `a` resolved: the anchor's field, a trait, the binding.
  REQUIRE(first.vars.size() == 3);
  int anchorFields = 0, traits = 0, bindings = 0;
  for (const SendVar& v : first.vars) {
    anchorFields += v.kind == SendVar::Kind::AnchorField && !v.anchorSlots.empty();
    traits += v.kind == SendVar::Kind::Trait && v.index == plan.traits.slot("first_name");
    bindings += v.kind == SendVar::Kind::Binding && v.index == 0;
  }
  CHECK(anchorFields == 1);
  CHECK(traits == 1);
  CHECK(bindings == 1);

  const Step& split = plan.steps[r.steps.first + 1];
  CHECK(split.kind == Step::Kind::Split);
  CHECK(split.arms.name == "ab");
  REQUIRE(split.variants.size() == 2);
  CHECK(split.arms.variants == std::vector<std::string>{"x", "y"});
  const Variant& x = split.variants[0];
  CHECK(x.name == "x");
  CHECK_FALSE(x.holdout);
  REQUIRE(x.steps.size() == 2);
  CHECK(x.steps.first >= r.steps.end);  // after the rule's own list
  CHECK(plan.steps[x.steps.first].templateName == "b");
  CHECK(plan.steps[x.steps.first].after == DurationMs{3'600'000});
  CHECK(plan.steps[x.steps.first + 1].templateName == "a");
  CHECK(split.variants[1].holdout);
  CHECK(split.variants[1].steps.empty());

  const Step& last = plan.steps[r.steps.first + 2];
  CHECK(last.templateName == "b");
  CHECK(last.after == DurationMs{86'400'000});
  REQUIRE(last.unless.size() == 1);
  CHECK(last.unless[0].id == p.expr("purchased within 1d").id);
  // Every step id is the AST's, so that coverage can be mapped back to the source.
  CHECK(first.id != split.id);
  CHECK(r.priority == 2);
  CHECK(r.priorityExpr == core::kNone);
}

TEST_CASE("a rule's conditions by id, with the sides of a comparison; settings and limits") {
  CheckedProgram p(R"(
template a { subject "A" body "." }
settings {
  arbitration 5m
  cap 3 per 1d
  dedup 10m
  await_email 2h
}
trigger t:
  when cart_add as c and count(product_view) within 1d >= 2 and idle 15m
  unless purchased within 30d
  limit 1 per 7d
  goal purchased within 2d
  send a
)");
  const Plan plan = buildPlan(p.model);
  const Rule& r = ruleNamed(plan, "t");
  CHECK(r.idle == DurationMs{15 * 60'000});
  REQUIRE(r.conditions.size() == 1);
  const ast::Expr& cond = p.expr("count(product_view) within 1d >= 2");
  CHECK(r.conditions[0].id == cond.id);
  CHECK(r.conditions[0].lhs == cond.lhs->id);
  CHECK(r.conditions[0].rhs == cond.rhs->id);
  REQUIRE(r.unless.size() == 1);
  CHECK(r.unless[0].lhs == core::kNone);  // not a comparison
  CHECK(r.hasGoal);
  CHECK(r.goalWithin == DurationMs{2 * 86'400'000});
  REQUIRE(r.limit);
  CHECK(r.limit->count == 1);
  CHECK(r.limit->per == DurationMs{7 * 86'400'000});
  CHECK(plan.settings.arbitration == DurationMs{5 * 60'000});
  REQUIRE(plan.settings.cap);
  CHECK(plan.settings.cap->count == 3);
  CHECK(plan.settings.dedup == DurationMs{10 * 60'000});
  CHECK(plan.settings.awaitEmail == DurationMs{2 * 3'600'000});
  CHECK(plan.known.traitEmail == plan.traits.slot("email"));
  CHECK(plan.known.bounceEvent != core::kNone);
  CHECK(plan.eventNames.size() == p.model.events.size());
}

// What the report and the service's dashboard read of the plan instead of the model.
TEST_CASE("a program holds a rule's title and goal event, the templates and the ingest plan") {
  CheckedProgram p(R"(
template a { subject "A" body "." }
trigger titled "Win them back":
  when cart_add
  goal purchased within 1d
  send a
trigger plain:
  when cart_add
  send a
)");
  const Program program = buildProgram(p.model, p.sources);
  const Rule& titled = ruleNamed(program.plan, "titled");
  REQUIRE(titled.title);
  CHECK(*titled.title == "Win them back");
  REQUIRE(titled.goalEvent < program.plan.eventNames.size());
  CHECK(program.plan.eventNames[titled.goalEvent].name == "purchased");
  const Rule& plain = ruleNamed(program.plan, "plain");
  CHECK_FALSE(plain.title);
  CHECK(plain.goalEvent == core::kNone);
  REQUIRE(program.plan.templates.size() == p.model.templates.size());
  for (size_t i = 0; i < program.plan.templates.size(); ++i)
    CHECK(program.plan.templates[i].path == p.model.templates[i].path);
  // The ingest plan names the same event types, in the same order, with the same slots.
  REQUIRE(program.ingest.events.size() == p.model.events.size());
  for (size_t t = 0; t < p.model.events.size(); ++t) {
    CHECK(program.ingest.events[t].name == program.plan.eventNames[t].name);
    for (const IngestField& f : program.ingest.events[t].fields)
      CHECK(f.slot == p.model.events[t].fieldIndex(f.name));
  }
  CHECK(program.sources.paths.size() == p.sources.size());
  CHECK(program.sources.format(titled.loc) == formatLoc(titled.loc, p.sources));
}

// The engine looks the customer up before testing a type's anchor filters only when one may
// read it (Engine::Impl::needsCustomer): a trait, or the history, anywhere in a filter.
TEST_CASE("an event type's filters read the customer when one names a trait") {
  CheckedProgram p(R"(
template t { subject "T" body "." }
trigger fields: when page_view(url starts_with "/p" and exists(title) and category in ["a", "b"]) send t
trigger either: when (cart_add(price > 10) or purchased) send t
trigger trait: when product_view(price > 10 and not (customer.country == "FR")) send t
trigger none: when purchased send t
trigger cond: when checkout_start and customer.country == "FR" unless purchased within 1h send t
)");
  const Plan plan = buildPlan(p.model);
  auto reads = [&](const char* event) {
    return plan.events[p.model.findEvent(event)->index].filtersReadCustomer;
  };
  CHECK_FALSE(reads("page_view"));
  CHECK_FALSE(reads("cart_add"));
  CHECK(reads("product_view"));
  CHECK_FALSE(reads("purchased"));
  // Conditions are evaluated once a rule anchors, with the customer: not filters.
  CHECK_FALSE(reads("checkout_start"));
}

}  // namespace
}  // namespace trig::plan
