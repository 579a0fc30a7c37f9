// The Model that sema::analyze fills: the contract the interpreter, the JIT and the runtime use.
#include <doctest/doctest.h>

#include <algorithm>

#include "compiler/parse/parse.h"
#include "compiler/plan/build.h"
#include "compiler/sema/sema.h"
#include "stdlib/stdlib.h"

namespace trig::sema {
namespace {

// Parses the prelude and one file from memory and analyzes them, as the driver does.
struct Checked {
  SourceManager sources;
  ast::Program program;
  DiagEngine diags;
  Model model;

  explicit Checked(const std::string& text) {
    for (const auto& f : stdlib::files()) {
      FileId id = sources.add(std::string(f.path), std::string(f.text));
      ast::File file = parse::parseFile(sources.file(id), id, program.arena, diags);
      file.isStdlib = true;
      program.files.push_back(std::move(file));
    }
    FileId id = sources.add("unit.trig", text);
    program.files.push_back(parse::parseFile(sources.file(id), id, program.arena, diags));
    model = analyze(program, sources, diags);
  }

  // The kinds of the diagnostics, in order: "unknown-name type-mismatch".
  std::string kinds() const {
    std::string out;
    for (const auto& d : diags.sorted(sources))
      out += (out.empty() ? "" : " ") + std::string(kindName(d.kind));
    return out;
  }
  bool clean() const { return diags.all().empty(); }
  const EventInfo& event(const std::string& name) const {
    return model.events.at(model.eventByName.at(name));
  }
  const RuleInfo& rule(const std::string& name) const {
    for (const auto& r : model.rules)
      if (r.name == name) return r;
    FAIL("no rule " << name);
    return model.rules.front();
  }
  // The first expression whose source text is exactly `text`.
  const ast::Expr* expr(const std::string& text) {
    const SourceFile& f = sources.file(program.files.back().id);
    for (uint32_t i = 0; i < program.arena.exprCount(); ++i) {
      const ast::Expr* e = program.arena.expr(i);
      if (e->loc.file != program.files.back().id) continue;
      if (f.text().substr(e->loc.begin, e->loc.end - e->loc.begin) == text) return e;
    }
    FAIL("no expression " << text);
    return nullptr;
  }
  Type type(const std::string& text) { return model.exprType[expr(text)->id]; }
};

// What the rule plan keeps of event type `name` for the checked program.
plan::Retention kept(const Checked& c, const std::string& name) {
  return plan::buildRetention(c.model).of(c.event(name).index);
}

const char* kSeed = R"(
template cart_reminder { subject "Still thinking?" body "." }
template cart_followup { subject "Hi" body "{{ last_viewed_category | default "things" }}" }
template browse_reminder { subject "Back" body "." }
template checkout_nudge { subject "Finish" body "." }

trigger cart_abandon "Cart abandonment":
  when cart_add and idle 15m
  unless purchased within 30d
  priority 2
  goal purchased within 3d
  send cart_reminder
  then after 24h unless purchased send cart_followup
    with last_viewed_category = last(product_view).category

trigger browse_abandon:
  when product_view as v and count(product_view(same product_id)) within 7d >= 3
  unless cart_add(same product_id) within 7d
  unless purchased(product_id == v.product_id) within 30d
  priority 1
  send browse_reminder

trigger reminder_timing:
  when checkout_start and idle 30m
  split delay { 50% fast: after 1h send checkout_nudge  50% slow: after 3h send checkout_nudge }
)";

}  // namespace

TEST_CASE("the seed rules check clean and fill the rule table") {
  Checked c(kSeed);
  CHECK(c.clean());
  REQUIRE(c.model.rules.size() == 3);
  const RuleInfo& cart = c.rule("cart_abandon");
  CHECK(cart.order == 0);
  CHECK(cart.anchorEvents == std::vector<uint32_t>{c.event("cart_add").index});
  CHECK(cart.idle == 15 * kMinute);
  CHECK(cart.conditions.empty());
  CHECK(cart.unless.size() == 1);
  CHECK(cart.priority == 2);
  CHECK(cart.goalEvent == c.event("purchased").index);
  CHECK(cart.goalWithin == 3 * kDay);
  CHECK(c.model.eventRefEvent.at(cart.rule->anchor.events[0]) == c.event("cart_add").index);
  CHECK(c.model.eventRefEvent.at(cart.rule->goal->event) == c.event("purchased").index);

  const RuleInfo& browse = c.rule("browse_abandon");
  CHECK(browse.order == 1);
  CHECK(browse.conditions.size() == 1);
  CHECK(browse.unless.size() == 2);
  CHECK_FALSE(browse.idle.has_value());
  CHECK(c.rule("reminder_timing").priority == 0);
}

TEST_CASE("fields: `from` names fill a field; a key fills one field only") {
  Checked c(R"(
event order from "Order Placed" { order_id: string from "orderNumber", "order_no", total?: money = 0 }
customer { plan?: string from "tier" }
trigger t: when order send w
template w { subject "x" body "." }
)");
  CHECK(c.clean());
  CHECK(c.event("order").fields[0].aliases == std::vector<std::string>{"orderNumber", "order_no"});
  CHECK(c.event("order").fields[1].aliases.empty());
  CHECK(c.event("order").fields[1].defaultValue != nullptr);
  CHECK(c.model.traits[c.model.traitIndex("plan")].aliases == std::vector<std::string>{"tier"});
  // The prelude's Segment names.
  CHECK(c.model.findEvent("Product Added") == &c.event("cart_add"));
  CHECK(c.event("cart_add").fields[1].aliases == std::vector<std::string>{"name"});
  CHECK(c.event("email_open").fields[0].aliases == std::vector<std::string>{"email_id"});

  Checked bad(R"(
event order { order_id: string from "id", id?: string, total?: money from "id", amount?: money from "total" }
)");
  CHECK(bad.kinds() == "duplicate-declaration duplicate-declaration duplicate-declaration");
}

TEST_CASE("events: prelude first, slots are field positions, aliases and passive") {
  Checked c(R"(
event signup passive from "Signed Up", "signup_v2" { plan: string, seats?: int = 1, trial?: bool }
trigger t: when signup send w
template w { subject "x" body "." }
)");
  CHECK(c.clean());
  CHECK(c.model.events.front().name == "page_view");
  CHECK(c.model.events.front().stdlib);
  const EventInfo& s = c.event("signup");
  CHECK(s.index == c.model.events.size() - 1);
  CHECK_FALSE(s.stdlib);
  CHECK(s.passive);
  CHECK(s.aliases == std::vector<std::string>{"Signed Up", "signup_v2"});
  REQUIRE(s.fields.size() == 3);
  for (uint32_t i = 0; i < s.fields.size(); ++i) CHECK(s.fields[i].slot == i);
  CHECK(s.fields[1].type == Type::of(TypeKind::Int));
  CHECK(s.fields[1].optional);
  CHECK(s.fields[1].defaultValue != nullptr);
  CHECK(c.model.findEvent("Signed Up") == &s);
  CHECK(c.model.findEvent("signup") == &s);
  CHECK(c.event("cart_add").fields[4].name == "quantity");
  CHECK(c.event("cart_add").fields[4].slot == 4);
}

TEST_CASE("traits: the prelude's, then customer {} additions") {
  Checked c("customer { vip: bool = false, tier?: string }\n");
  CHECK(c.clean());
  CHECK(c.model.traits.front().name == "email");
  uint32_t vip = c.model.traitIndex("vip");
  REQUIRE(vip != kNone);
  CHECK(c.model.traits[vip].slot == vip);
  CHECK(c.model.traitIndex("subscribed") < vip);
}

TEST_CASE("names: anchor fields, alias, event name, filter fields, traits, bare events") {
  Checked c(R"(
template w { subject "x" body "." }
trigger t:
  when product_view as v and v.price > 10 and product_view.category == "a" and price > 1
    and purchased(revenue > 5 and product_id == v.product_id) within 1d and customer.country == "FR"
  send w then after 1h unless purchased send w
)");
  CHECK(c.clean());
  uint32_t pv = c.event("product_view").index;
  const Ref& alias = c.model.exprRef[c.expr("v.price")->id];
  CHECK(alias.kind == RefKind::AnchorField);
  CHECK(alias.event == pv);
  CHECK(alias.field == 3);
  CHECK(c.model.exprRef[c.expr("product_view.category")->id].kind == RefKind::AnchorField);
  CHECK(c.model.exprRef[c.expr("price")->id].field == 3);
  const Ref& inFilter = c.model.exprRef[c.expr("revenue")->id];
  CHECK(inFilter.kind == RefKind::EventField);
  CHECK(inFilter.event == c.event("purchased").index);
  CHECK(inFilter.field == 2);
  CHECK(c.model.exprRef[c.expr("v.product_id")->id].kind == RefKind::AnchorField);
  const Ref& trait = c.model.exprRef[c.expr("customer.country")->id];
  CHECK(trait.kind == RefKind::Trait);
  CHECK(trait.field == c.model.traitIndex("country"));
  CHECK(c.model.exprMaybeAbsent[c.expr("customer.country")->id] == 1);
  // `unless purchased` in a step: a bare event, since the rule fired.
  const ast::Expr* bare = c.rule("t").rule->steps[1].unless[0];
  CHECK(c.model.exprRef[bare->id].kind == RefKind::BareEvent);
  CHECK(c.model.exprType[bare->id] == Type::of(TypeKind::Bool));
  CHECK(kept(c, "purchased").sinceFiring);
  CHECK(kept(c, "purchased").window == kDay);
}

TEST_CASE("an anchor with alternatives resolves shared fields by name") {
  Checked c(R"(
template w { subject "x" body "." }
trigger t: when (cart_add or product_view) and category == "shoes" send w
)");
  CHECK(c.clean());
  const RuleInfo& r = c.rule("t");
  CHECK(r.anchorEvents.size() == 2);
  const Ref& ref = c.model.exprRef[c.expr("category")->id];
  CHECK(ref.kind == RefKind::AnchorField);
  CHECK(ref.event == kNone);
  CHECK(ref.name == "category");
}

TEST_CASE("types: decimal literals take the other side's type") {
  Checked c(R"(
event rated { score: float, n: int }
template w { subject "x" body "." }
trigger a: when cart_add and price > 49.99 and quantity > 2.5 send w
trigger b: when rated and score > 4.5 and n / 2 > 1 and price_ok send w
)");
  CHECK(c.type("49.99") == Type::of(TypeKind::Money));
  CHECK(c.type("price > 49.99") == Type::of(TypeKind::Bool));
  CHECK(c.type("2.5") == Type::of(TypeKind::Float));
  CHECK(c.type("4.5") == Type::of(TypeKind::Float));
  CHECK(c.type("n / 2") == Type::of(TypeKind::Float));
  CHECK(c.model.exprMaybeAbsent[c.expr("n / 2")->id] == 0);
  // `price_ok` is no field of `rated`: one error, the rest still typed.
  CHECK(c.kinds() == "unknown-name");
}

TEST_CASE("types: aggregates, last and same") {
  Checked c(R"(
template w { subject "x" body "." }
trigger t:
  when product_view and count(product_view(same product_id)) within 7d >= 3
    and sum(purchased.revenue) within 30d > 100 and avg(cart_add.quantity) within 1d > 1
    and last(product_view).category == "a"
  send w
)");
  CHECK(c.clean());
  const ast::Expr* count = c.expr("count(product_view(same product_id)) within 7d");
  CHECK(c.model.exprType[count->id] == Type::of(TypeKind::Int));
  CHECK(c.model.exprEvent[count->id] == c.event("product_view").index);
  REQUIRE(c.model.exprSame.count(count->id) == 1);
  CHECK(c.model.exprSame.at(count->id).front().anchorField == "product_id");
  CHECK(c.model.exprSame.at(count->id).front().eventField == 0);
  CHECK(c.model.eventRefSame.at(count->event).size() == 1);
  const ast::Expr* sum = c.expr("sum(purchased.revenue) within 30d");
  CHECK(c.model.exprType[sum->id] == Type::of(TypeKind::Money));
  CHECK(c.model.exprMaybeAbsent[sum->id] == 1);
  CHECK(c.model.exprField[sum->id] == 2);
  CHECK(c.type("avg(cart_add.quantity) within 1d") == Type::of(TypeKind::Float));
  const ast::Expr* last = c.expr("last(product_view).category");
  CHECK(c.model.exprType[last->id] == Type::of(TypeKind::String));
  CHECK(c.model.exprField[last->id] == 2);
  CHECK(kept(c, "product_view").keepLast);
  CHECK(kept(c, "product_view").window == 7 * kDay);
  CHECK(kept(c, "purchased").window == 30 * kDay);
}

TEST_CASE("one error per mistake") {
  CHECK(Checked("template w { subject \"x\" body \".\" }\ntrigger t: when cart_add and (price > "
                "1.5e1 or product_nme == \"x\") and "
                "quantity > 1 send w\n")
            .kinds()
            .size() > 0);
  Checked c(R"(
event rated { score: float }
template w { subject "x" body "." }
trigger a: when rated and score > price_of_it + 1 * 2 send w
trigger b: when cart_add and price > customer.nope and price == "x" send w
trigger c: when rated and score + 1 priority 1 send w
)");
  CHECK(c.kinds() == "unknown-name unknown-trait type-mismatch not-boolean");
}

TEST_CASE("money and float do not mix") {
  Checked c(R"(
event rated { score: float }
template w { subject "x" body "." }
trigger a: when rated and last(cart_add).price > score send w
)");
  CHECK(c.kinds() == "money-float-mix");
}

TEST_CASE("uses and the plan's retention: usedByRules, window and keepLast") {
  Checked c(R"(
event lonely { a: int }
template w { subject "x" body "." }
trigger t: when cart_add and idle 10m unless purchased within 2d send w
)");
  CHECK(c.kinds() == "unused-event");
  CHECK(c.event("cart_add").usedByRules);
  CHECK(c.event("purchased").usedByRules);
  CHECK(kept(c, "purchased").window == 2 * kDay);
  CHECK_FALSE(kept(c, "purchased").keepLast);
  CHECK_FALSE(c.event("lonely").usedByRules);
}

TEST_CASE("settings") {
  Checked c("settings { arbitration 5m  cap 3 per 1d  quiet_hours 22:00-08:00  dedup 0s }\n");
  CHECK(c.clean());
  CHECK(c.model.settings.arbitration == 5 * kMinute);
  REQUIRE(c.model.settings.cap.has_value());
  CHECK(c.model.settings.cap->count == 3);
  CHECK(c.model.settings.cap->per == kDay);
  REQUIRE(c.model.settings.quietHours.has_value());
  CHECK(c.model.settings.quietHours->startMinute == 22 * 60);
  CHECK(c.model.settings.quietHours->endMinute == 8 * 60);
  CHECK(c.model.settings.dedup == 0);
  CHECK_FALSE(c.model.settings.cooldown.has_value());
  CHECK(Checked("settings { cap 0 per 0s quiet_hour 1 }\n").kinds() ==
        "bad-setting non-positive-duration unknown-setting");
  Checked cooling("settings { cooldown 3d }\n");
  CHECK(cooling.clean());
  CHECK(cooling.model.settings.cooldown == 3 * kDay);
  CHECK(Checked("settings { cooldown 0s }\n").kinds() == "non-positive-duration");
  CHECK_FALSE(c.model.settings.ignoreUndeclared);
  Checked ignoring("settings { undeclared_events ignore  dedup 10s }\n");
  CHECK(ignoring.clean());
  CHECK(ignoring.model.settings.ignoreUndeclared);
  CHECK(ignoring.model.settings.dedup == 10 * kSecond);
  CHECK_FALSE(Checked("settings { undeclared_events activity }\n").model.settings.ignoreUndeclared);
  CHECK(Checked("settings { undeclared_events 1d }\n").kinds() == "bad-setting");
  CHECK(c.model.settings.awaitEmail == 0);
  CHECK(Checked("settings { await_email 5m }\n").model.settings.awaitEmail == 5 * kMinute);
}

TEST_CASE("priority: a constant, or a numeric expression evaluated at the firing") {
  Checked c(
      "template a { subject \"A\" body \".\" }\n"
      "trigger x: when cart_add priority 1 + cart_value / 100 send a\n"
      "trigger y: when cart_add priority -2 send a\n"
      "trigger z: when cart_add priority 1 + 1 send a\n");
  // Computed priorities never tie by declaration: no ambiguous-priority between x and z.
  CHECK(c.clean());
  CHECK(c.model.rules[0].priorityExpr != nullptr);
  CHECK(c.model.rules[1].priorityExpr == nullptr);
  CHECK(c.model.rules[1].priority == -2);
  CHECK(Checked("template a { subject \"A\" body \".\" }\n"
                "trigger x: when cart_add priority product_id send a\n")
            .kinds() == "type-mismatch");
  // Equal constant priorities are the review's business (`trig check`, compiler/review/), not
  // every compile's.
  CHECK(Checked("template a { subject \"A\" body \".\" }\n"
                "trigger x: when cart_add priority 1 send a\n"
                "trigger y: when cart_add priority 1 send a\n")
            .kinds() == "");
}

TEST_CASE("analysis is deterministic") {
  Checked a(kSeed), b(kSeed);
  CHECK(a.model.exprType == b.model.exprType);
  CHECK(a.model.exprEvent == b.model.exprEvent);
  const char* broken = "trigger t: when cart_ad and prce > 1 unless purchasd send nope\n";
  Checked x(broken), y(broken);
  auto render = [](const Checked& c) {
    std::string s;
    for (const auto& d : c.diags.sorted(c.sources)) s += d.message + "|";
    return s;
  };
  CHECK(render(x) == render(y));
  CHECK_FALSE(render(x).empty());
}

}  // namespace trig::sema
