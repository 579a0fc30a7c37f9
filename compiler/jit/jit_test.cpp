// The JIT end to end: .trig text -> native predicates, run over hand-built events and histories,
// checked against the expected answer and against the reference interpreter.
#include "compiler/jit/jit.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <stdexcept>

#include "compiler/interp/interp.h"
#include "compiler/jit/jit_evaluator.h"
#include "compiler/jit/jit_test_support.h"

using namespace trig;
using namespace trig::jit::testing;

namespace {

jit::JitOptions noCache() {
  jit::JitOptions o;
  o.useCache = false;
  o.verify = true;
  return o;
}

// Both evaluators on one environment; they must agree, and the JIT must not have fallen back.
struct Both {
  const Compilation& c;
  jit::JitEvaluator jit;
  interp::Interpreter interp;
  explicit Both(const Compilation& comp, jit::JitOptions o = noCache())
      : c(comp),
        jit(comp, o, std::make_unique<interp::Interpreter>(comp.model)),
        interp(comp.model) {}

  bool test(const ast::Expr& e, const EvalEnv& env) {
    REQUIRE(jit.compiled(e.id));
    bool a = jit.test(e.id, env);
    bool b = interp.test(e, env);
    CHECK(a == b);
    return a;
  }
};

const char* kRules = R"(
event visit { page: string, score?: int, ratio?: float, spend?: money, vip?: bool, tags?: [string], at?: time, stay?: duration }

trigger numbers: when visit and score > 3 and spend >= 49.99 and ratio < 0.5 send t
trigger strings: when visit and page starts_with "/shop" and page contains "shoe" and page != "/shop/x" send t
trigger lists: when visit and page in ["/a", "/b"] and "red" in tags send t
trigger absent: when visit and not (score > 3) and not exists(spend) send t
trigger bools: when visit and vip and customer.subscribed send t
trigger arith: when visit and spend * 2 > 100 and score / 0 == 1 send t
trigger times: when visit and at + 1h > 2026-01-01T10:00:00Z and stay >= 30m send t
trigger history: when visit and count(cart_add) within 7d >= 2 unless purchased within 1d send t
trigger seen: when cart_add and count(cart_add(same product_id)) within 7d >= 2 and sum(cart_add.price) within 7d > 10 and last(product_view).category == "lamps" send t

template t { subject "s" body "b" }
)";

}  // namespace

TEST_CASE("JIT: comparisons on every type agree with the interpreter") {
  auto c = compileText(kRules);
  Both both(*c);
  auto visit = [&](std::vector<std::pair<std::string, Value>> f) {
    return event(*c, "visit", 1000, std::move(f));
  };
  auto cond = [&](const char* r, size_t i) -> const ast::Expr& {
    return *rule(*c, r).conditions.at(i);
  };
  std::vector<Value> traits(c->model.traits.size());
  traits[c->model.traitIndex("subscribed")] = Value::boolean(true);

  Event full = visit({{"page", Value::str("/shop/shoes")},
                      {"score", Value::integer(4)},
                      {"ratio", Value::flt(0.25)},
                      {"spend", Value::money(Decimal{49'990'000})},
                      {"vip", Value::boolean(true)},
                      {"at", Value::time(1767261600000 - 30 * kMinute)},
                      {"stay", Value::duration(30 * kMinute)}});
  EvalEnv env;
  env.anchor = &full;
  env.traits = &traits;
  env.now = 1000;

  SUBCASE("numbers: money is exact at 49.99") {
    CHECK(both.test(cond("numbers", 0), env));
    CHECK(both.test(cond("numbers", 1), env));
    CHECK(both.test(cond("numbers", 2), env));
    full.fields[c->model.findEvent("visit")->fieldIndex("spend")] =
        Value::money(Decimal{49'989'999});
    CHECK_FALSE(both.test(cond("numbers", 1), env));
  }
  SUBCASE("strings") {
    CHECK(both.test(cond("strings", 0), env));
    CHECK(both.test(cond("strings", 1), env));
    CHECK(both.test(cond("strings", 2), env));
    full.fields[0] = Value::str("/shop/x");
    CHECK_FALSE(both.test(cond("strings", 1), env));
    CHECK_FALSE(both.test(cond("strings", 2), env));
  }
  SUBCASE("in-lists, literal and field") {
    CHECK_FALSE(both.test(cond("lists", 0), env));
    full.fields[0] = Value::str("/b");
    CHECK(both.test(cond("lists", 0), env));
    CHECK_FALSE(both.test(cond("lists", 1), env));  // tags absent
    Value tags;
    tags.kind = Value::Kind::List;
    tags.list = {Value::str("blue"), Value::str("red")};
    full.fields[c->model.findEvent("visit")->fieldIndex("tags")] = tags;
    CHECK(both.test(cond("lists", 1), env));
  }
  SUBCASE("absent: a comparison with an absent side is false, its negation true") {
    Event bare = visit({{"page", Value::str("/")}});
    env.anchor = &bare;
    CHECK(both.test(cond("absent", 0), env));
    CHECK(both.test(cond("absent", 1), env));
    env.anchor = &full;
    CHECK_FALSE(both.test(cond("absent", 0), env));
    CHECK_FALSE(both.test(cond("absent", 1), env));
  }
  SUBCASE("bool fields and traits") {
    CHECK(both.test(cond("bools", 0), env));
    CHECK(both.test(cond("bools", 1), env));
    traits[c->model.traitIndex("subscribed")] = Value{};
    CHECK_FALSE(both.test(cond("bools", 1), env));
  }
  SUBCASE("arithmetic: money products, division by zero is absent") {
    CHECK_FALSE(both.test(cond("arith", 0), env));  // 99.98 > 100
    full.fields[c->model.findEvent("visit")->fieldIndex("spend")] =
        Value::money(Decimal{50'000'001});
    CHECK(both.test(cond("arith", 0), env));
    CHECK_FALSE(both.test(cond("arith", 1), env));
  }
  SUBCASE("time and duration") {
    CHECK(both.test(cond("times", 0), env));
    CHECK(both.test(cond("times", 1), env));
  }
}

TEST_CASE("JIT: history terms, same, aggregates and last agree with the interpreter") {
  auto c = compileText(kRules);
  Both both(*c);
  VectorHistory h;
  h.events.reserve(8);  // `anchor` below refers into the vector while later events are added
  auto add = [&](const char* name, TimeMs t, std::vector<std::pair<std::string, Value>> f) {
    h.events.push_back(event(*c, name, t, std::move(f), h.events.size() + 1));
  };
  add("product_view", 10 * kDay,
      {{"product_id", Value::str("p1")}, {"category", Value::str("lamps")}});
  add("cart_add", 10 * kDay,
      {{"product_id", Value::str("p1")}, {"price", Value::money(Decimal{6'000'000})}});
  add("cart_add", 11 * kDay,
      {{"product_id", Value::str("p2")}, {"price", Value::money(Decimal{5'000'000})}});
  add("cart_add", 12 * kDay, {{"product_id", Value::str("p1")}});
  const Event& anchor = h.events.back();
  EvalEnv env;
  env.anchor = &anchor;
  env.history = &h;
  env.now = 12 * kDay;
  const auto& seen = rule(*c, "seen");
  CHECK(both.test(*seen.conditions.at(0), env));  // two p1 adds
  CHECK(both.test(*seen.conditions.at(1), env));  // 6 + 5 > 10 (the absent price is skipped)
  CHECK(both.test(*seen.conditions.at(2), env));  // last product_view was lamps
  env.now = 18 * kDay;                            // the first add falls out of the window
  CHECK_FALSE(both.test(*seen.conditions.at(0), env));
  CHECK_FALSE(both.test(*seen.conditions.at(1), env));
  add("product_view", 18 * kDay, {{"product_id", Value::str("p1")}});
  CHECK_FALSE(both.test(*seen.conditions.at(2), env));  // the newest view has no category

  const auto& hist = rule(*c, "history");
  CHECK_FALSE(both.test(*hist.unless.at(0), env));
  add("purchased", 18 * kDay - kHour, {{"order_id", Value::str("o1")}});
  CHECK(both.test(*hist.unless.at(0), env));
}

TEST_CASE("JIT: stable symbol names, one per condition, filter and binding") {
  auto c = compileText(R"(
trigger cart_abandon "Cart abandonment":
  when cart_add and idle 15m
  unless purchased within 30d
  priority 2
  send cart_reminder
  then after 24h unless purchased send cart_followup
    with last_viewed_category = last(product_view).category

trigger browse_abandon:
  when product_view as v and count(product_view(same product_id)) within 7d >= 3
  unless cart_add(same product_id) within 7d
  unless purchased(product_id == v.product_id) within 30d
  send browse_reminder

template cart_reminder { subject "s" body "b" }
template cart_followup { subject "s" body "{{ last_viewed_category | default "x" }}" }
template browse_reminder { subject "s" body "b" }
)");
  auto code = jit::compileRuleSet(*c, noCache());
  for (const char* sym :
       {"trig.rule.cart_abandon.unless.0", "trig.rule.cart_abandon.step.2.unless.0",
        "trig.rule.cart_abandon.step.2.with.last_viewed_category",
        "trig.rule.browse_abandon.when.0", "trig.rule.browse_abandon.unless.0",
        "trig.rule.browse_abandon.unless.1"}) {
    CAPTURE(sym);
    CHECK(code->address(sym) != nullptr);
  }
  CHECK(code->fallbacks().empty());
  CHECK(code->scratchSlots() == 1);
  for (const auto& e : code->entries()) CHECK(e.symbol == e.name);

  // Per rule: one function per rule, the entries its cases; same names, same answers.
  jit::JitOptions perRule = noCache();
  perRule.granularity = lower::Granularity::PerRule;
  auto fast = jit::compileRuleSet(*c, perRule);
  REQUIRE(fast->entries().size() == code->entries().size());
  for (size_t i = 0; i < fast->entries().size(); ++i) {
    const auto& e = fast->entries()[i];
    CHECK(e.name == code->entries()[i].name);
    CHECK(e.symbol == e.name.substr(0, e.name.find('.', std::string("trig.rule.").size())));
    // Entries of one rule share its function.
    bool sameFunction = fast->entryAddress(i) == fast->entryAddress(0);
    CHECK(sameFunction == (e.symbol == fast->entries()[0].symbol));
  }
  CHECK(fast->find("trig.rule.browse_abandon.unless.1")->which !=
        fast->find("trig.rule.browse_abandon.unless.0")->which);
}

TEST_CASE("JIT: a History that throws: the exception crosses no JIT frame and reaches the caller") {
  auto c = compileText(kRules);
  jit::JitEvaluator jit(*c, noCache(), std::make_unique<interp::Interpreter>(c->model));
  struct Throwing final : History {
    void forEach(uint32_t, TimeMs, TimeMs,
                 const std::function<bool(const Event&)>&) const override {
      throw std::runtime_error("store unavailable");
    }
  } h;
  Event anchor = event(*c, "cart_add", 0, {{"product_id", Value::str("p")}});
  EvalEnv env;
  env.anchor = &anchor;
  env.history = &h;
  CHECK_THROWS_WITH_AS(jit.test(rule(*c, "seen").conditions.at(0)->id, env), "store unavailable",
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(jit.test(rule(*c, "seen").conditions.at(2)->id, env), "store unavailable",
                       std::runtime_error);
}

TEST_CASE("JIT: the object cache makes an unchanged rule set load without compiling") {
  auto c = compileText(kRules);
  TempDir dir;
  jit::JitOptions o;
  o.cacheDir = dir.path.string();
  auto first = jit::compileRuleSet(*c, o);
  CHECK_FALSE(first->stats().cacheHit);
  CHECK(first->stats().cacheError.empty());
  CHECK(std::filesystem::exists(first->stats().cachePath));
  auto second = jit::compileRuleSet(*c, o);
  CHECK(second->stats().cacheHit);
  CHECK(second->stats().cacheKey == first->stats().cacheKey);
  CHECK(second->stats().codegenMs == 0);
  // Other options are another key.
  o.optLevel = 0;
  auto third = jit::compileRuleSet(*c, o);
  CHECK_FALSE(third->stats().cacheHit);
  CHECK(third->stats().cacheKey != first->stats().cacheKey);

  // Both copies run (each in its own JITDylib), and the cached one still answers correctly.
  Both cached(*c, [&] {
    jit::JitOptions again;
    again.cacheDir = dir.path.string();
    return again;
  }());
  CHECK(cached.jit.code().stats().cacheHit);
  Event e = event(*c, "visit", 0, {{"page", Value::str("/b")}});
  EvalEnv env;
  env.anchor = &e;
  CHECK(cached.test(*rule(*c, "lists").conditions.at(0), env));

  // A corrupt entry is a miss, not a crash, and is replaced.
  std::ofstream(first->stats().cachePath, std::ios::trunc) << "not an object file";
  jit::JitOptions again;
  again.cacheDir = dir.path.string();
  auto fourth = jit::compileRuleSet(*c, again);
  CHECK_FALSE(fourth->stats().cacheHit);
  auto fifth = jit::compileRuleSet(*c, again);
  CHECK(fifth->stats().cacheHit);
}

TEST_CASE("JIT: rule sets unload and reload in one process") {
  auto c = compileText(kRules);
  for (int i = 0; i < 3; ++i) {
    Both both(*c);
    Event e = event(*c, "visit", 0, {{"page", Value::str("/a")}});
    EvalEnv env;
    env.anchor = &e;
    CHECK(both.test(*rule(*c, "lists").conditions.at(0), env));
  }
}

TEST_CASE(
    "JIT: rule sets compile in modules of a few rules; a cancelled compile keeps what it "
    "finished") {
  auto c = compileText(kRules);
  TempDir dir;
  jit::JitOptions o;
  o.cacheDir = dir.path.string();
  o.verify = true;
  o.chunkRules = 2;
  std::atomic<bool> cancel{true};
  CHECK(jit::compileRuleSet(*c, o, &cancel) == nullptr);
  o.cachedOnly = true;
  CHECK(jit::compileRuleSet(*c, o) == nullptr);  // nothing was finished, nothing is cached
  o.cachedOnly = false;
  auto code = jit::compileRuleSet(*c, o);
  CHECK(code->stats().chunks == (c->model.rules.size() + 1) / 2);
  CHECK_FALSE(code->stats().cacheHit);
  o.cachedOnly = true;
  auto again = jit::compileRuleSet(*c, o);
  REQUIRE(again != nullptr);
  CHECK(again->stats().cacheHit);
  CHECK(again->entries().size() == code->entries().size());

  // Entries of every module answer, `last` slots included (each module numbers its own).
  Both both(*c, o);
  VectorHistory h;
  h.events.push_back(event(*c, "product_view", 0,
                           {{"product_id", Value::str("p")}, {"category", Value::str("lamps")}},
                           1));
  h.events.push_back(
      event(*c, "cart_add", 0,
            {{"product_id", Value::str("p")}, {"price", Value::money(Decimal{20'000'000})}}, 2));
  h.events.push_back(event(*c, "cart_add", 0, {{"product_id", Value::str("p")}}, 3));
  EvalEnv env;
  env.anchor = &h.events.back();
  env.history = &h;
  for (const auto* cond : rule(*c, "seen").conditions) CHECK(both.test(*cond, env));
}

TEST_CASE("JIT: tiered evaluation starts on the fast tier and switches to the optimised code") {
  auto c = compileText(kRules);
  TempDir dir;
  jit::JitOptions o;
  o.cacheDir = dir.path.string();
  o.verify = true;
  o.tiered = true;
  o.tierFromSize = 2;
  o.chunkRules = 3;
  Event e = event(*c, "visit", 0, {{"page", Value::str("/a")}});
  EvalEnv env;
  env.anchor = &e;
  const ast::Expr& cond = *rule(*c, "lists").conditions.at(0);
  {
    Both both(*c, o);
    CHECK(both.jit.tierPending());
    CHECK(both.jit.code().find("trig.rule.lists.when.0")->symbol ==
          "trig.rule.lists");  // one function per rule
    CHECK(both.test(cond, env));
    both.jit.waitForTier();
    CHECK_FALSE(both.jit.tierPending());
    CHECK(both.jit.code().find("trig.rule.lists.when.0")->symbol == "trig.rule.lists.when.0");
    CHECK(both.test(cond, env));
  }
  {
    // The optimised code is cached now: no tiers.
    Both both(*c, o);
    CHECK_FALSE(both.jit.tierPending());
    CHECK(both.jit.code().stats().cacheHit);
    CHECK(both.test(cond, env));
  }
  {
    // An evaluator destroyed while its tier compiles cancels it cleanly.
    jit::JitOptions other = o;
    other.optLevel = 3;
    jit::JitEvaluator quick(*c, other, std::make_unique<interp::Interpreter>(c->model));
    CHECK(quick.tierPending());
  }
}

TEST_CASE("JIT: the tier is chosen by the size of the code, not the number of rules") {
  // One rule whose condition is a long `or` chain: code enough for the fast tier on its own.
  std::string terms;
  for (int i = 0; i < 400; ++i)
    terms += (i ? " or page == \"/p" : "page == \"/p") + std::to_string(i) + "\"";
  auto big = compileText("event visit { page: string }\ntrigger big:\n  when visit(" + terms +
                         ")\n  send t\ntemplate t { subject \"s\" body \"b\" }\n");
  REQUIRE(big->ok());
  auto small = compileText(kRules);
  CHECK(jit::codeSize(*big) >= jit::JitOptions{}.tierFromSize);
  CHECK(jit::codeSize(*small) < jit::JitOptions{}.tierFromSize);
  TempDir dir;
  jit::JitOptions o;
  o.cacheDir = dir.path.string();
  o.tiered = true;
  {
    jit::JitEvaluator one(*big, o, std::make_unique<interp::Interpreter>(big->model));
    CHECK(one.tierPending());  // one rule, yet the fast tier first
    one.waitForTier();
  }
  jit::JitEvaluator several(*small, o, std::make_unique<interp::Interpreter>(small->model));
  CHECK_FALSE(several.tierPending());  // several small rules: -O2 at once
}

TEST_CASE("JIT: testSome answers as test() would, sharing the context only where it may") {
  auto c = compileText(R"(
event visit { page: string, score?: int, spend?: money, vip?: bool }
trigger f1: when visit(score > 3) send t
trigger f2: when visit(page starts_with "/shop" and spend >= 10) send t
trigger f3: when (visit(vip) or cart_add) send t
trigger f4: when cart_add(price > 5) send t
trigger f5: when visit and score > 1 and count(visit(page == "/a")) within 1d >= 1 send t
template t { subject "s" body "b" }
)");
  Both both(*c);
  auto anchorFilter = [&](const char* r, size_t i) {
    return rule(*c, r).rule->anchor.events.at(i)->filter;
  };
  // Filters of the visit anchors, then a filter of another subject event (cart_add) and a
  // rule-level condition: the last two must not run with the visit filter's context.
  std::vector<const ast::Expr*> conds = {
      anchorFilter("f1", 0), anchorFilter("f2", 0),           anchorFilter("f3", 0),
      anchorFilter("f4", 0), rule(*c, "f5").conditions.at(0), rule(*c, "f5").conditions.at(1)};
  for (const auto* e : conds) REQUIRE(e != nullptr);
  std::vector<ExprId> ids;
  for (const auto* e : conds) ids.push_back(e->id);
  std::vector<Value> traits(c->model.traits.size());
  VectorHistory h;
  h.events.reserve(4);
  for (int round = 0; round < 16; ++round) {
    CAPTURE(round);
    std::vector<std::pair<std::string, Value>> f = {
        {"page", Value::str(round & 1 ? "/shop/x" : "/a")}};
    if (round & 2) f.emplace_back("score", Value::integer(round));
    if (round & 4) f.emplace_back("spend", Value::money(Decimal{round * 2'000'000}));
    if (round & 8) f.emplace_back("vip", Value::boolean(true));
    h.events.clear();
    h.events.push_back(event(*c, "visit", 1000, f, 1));
    const Event& e = h.events.back();
    EvalEnv env;
    env.anchor = &e;
    env.subject = &e;
    env.traits = &traits;
    env.history = &h;
    env.now = 1000;
    std::vector<uint8_t> out(conds.size(), 2);
    std::vector<uint32_t> all(conds.size());
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    both.jit.testSome(ids, all, env, out.data());
    for (size_t i = 0; i < conds.size(); ++i) {
      CAPTURE(i);
      CHECK(out[i] == (both.jit.test(conds[i]->id, env) ? 1 : 0));
      CHECK(out[i] == (both.interp.test(*conds[i], env) ? 1 : 0));
    }
    // The visit filters do answer (not all false): f1 holds exactly when score > 3.
    CHECK(out[0] == ((round & 2) && round > 3 ? 1 : 0));
    // A subset (which differs by round) answers the same and leaves the others alone.
    std::vector<uint32_t> some;
    for (uint32_t i = 0; i < conds.size(); ++i)
      if ((i + static_cast<uint32_t>(round)) % 3 != 0) some.push_back(i);
    std::vector<uint8_t> part(conds.size(), 2);
    both.jit.testSome(ids, some, env, part.data());
    for (uint32_t i = 0; i < conds.size(); ++i) {
      CAPTURE(i);
      bool asked = std::find(some.begin(), some.end(), i) != some.end();
      CHECK(part[i] == (asked ? out[i] : 2));
    }
  }
}
