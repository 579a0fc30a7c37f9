// The history keeps only the fields some expression reads (RetentionPlan::slots). A slot left
// out would read as absent, silently: so every condition shape that reads remembered events is
// evaluated over the compact history and over one that keeps whole events, on random streams,
// and the answers must be the same.
#include <doctest/doctest.h>

#include <random>

#include "compiler/interp/interp.h"
#include "compiler/interp/test_fixture.h"
#include "compiler/jit/jit_evaluator.h"
#include "compiler/jit/jit_test_support.h"
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
  RetentionPlan plan = plan::buildRetention(p.model);
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
  RetentionPlan plan = plan::buildRetention(p.model);
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
          e.fields[p.model.findEvent("product_view")->fieldIndex("product_id")] =
              pick({"p1", "p2", "p3"});
          e.fields[p.model.findEvent("product_view")->fieldIndex("product_name")] =
              pick({"Blue lamp", "Red pen"});
          e.fields[p.model.findEvent("product_view")->fieldIndex("category")] =
              pick({"lamps", "pens"});
          e.fields[p.model.findEvent("product_view")->fieldIndex("price")] = money();
          break;
        case 1: {
          e = p.event("cart_add", t, {}, seq);
          const auto* info = p.model.findEvent("cart_add");
          e.fields[info->fieldIndex("product_id")] = pick({"p1", "p2", "p3"});
          e.fields[info->fieldIndex("category")] = pick({"lamps", "pens"});
          e.fields[info->fieldIndex("price")] = money();
          if (rng() % 2)
            e.fields[info->fieldIndex("quantity")] =
                Value::integer(static_cast<int64_t>(rng() % 4));
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
        if (std::find(rule.anchorEvents.begin(), rule.anchorEvents.end(), e.type) ==
            rule.anchorEvents.end())
          continue;
        CAPTURE(rule.name);
        for (const auto* cond : rule.conditions)
          CHECK(interp.test(*cond, a) == interp.test(*cond, b));
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

// ---- the cells: every kind of field value, through both engines ----

namespace trig::state {
namespace {

const char* kCellRules = R"(
event rich { s?: string, i?: int, f?: float, m?: money, b?: bool, t?: time, d?: duration, tags?: [string] }
event probe { s?: string, i?: int, f?: float, m?: money, b?: bool, t?: time, d?: duration }

trigger same_s: when probe and count(rich(same s)) within 7d >= 2 send t
trigger same_i: when probe and rich(same i) within 3d send t
trigger same_f: when probe and count(rich(same f)) within 7d >= 1 send t
trigger same_m: when probe and count(rich(same m)) within 7d >= 1 send t
trigger same_b: when probe and count(rich(same b)) within 7d >= 2 send t
trigger same_t: when probe and rich(same t) within 7d send t
trigger same_d: when probe and count(rich(same d)) within 7d >= 1 send t
trigger same_two: when probe and count(rich(same s, same i)) within 7d >= 1 send t
trigger tags: when probe and count(rich("x" in tags)) within 7d >= 1 send t
trigger long_s: when probe and rich(s starts_with "a string longer than") within 7d send t
trigger sums: when probe and sum(rich.m) within 7d > 10 and max(rich.f) within 7d > 0.5 and min(rich.i) within 7d < 1 send t
trigger durations: when probe and count(rich(d < 1h)) within 7d >= 2 send t
trigger last_s: when probe and last(rich).s == "b" send t
trigger last_tags: when probe and "x" in last(rich(i > 0)).tags send t
trigger stepped: when probe send t then after 1h unless rich(same s) send t then after 2h unless count(rich(same i)) >= 2 send t
trigger multi: when probe and count(rich(s == "b" and i > 0 and b and "y" in tags)) within 7d >= 1 send t
trigger last_filtered: when probe and last(rich(b)).t > 2020-01-01T00:00:00Z send t
trigger sum_filtered: when probe and sum(rich(s != "b").m) within 7d > 1 send t
trigger anchor_ref: when probe as p and count(rich(i == p.i and f < p.f)) within 7d >= 1 send t

template t { subject "s" body "b" }
)";

// Field values with the edges of each cell: empty, 15-byte (the longest in place) and longer
// strings, extreme ints, -0.0 and 0.0, lists.
struct Pools {
  std::mt19937 rng{7};
  Value pick(sema::TypeKind k) {
    using sema::TypeKind;
    if (rng() % 5 == 0) return Value{};
    auto one = [&](auto&& options) { return options[rng() % options.size()]; };
    switch (k) {
      case TypeKind::String:
        return Value::str(one(std::vector<std::string>{
            "", "b", "b", "fifteen bytes!!", "fifteen bytes!?", "sixteen bytes!!!",
            "a string longer than fifteen bytes", "a string longer than that one, by far"}));
      case TypeKind::Int:
        return Value::integer(one(std::vector<int64_t>{0, 1, 1, -7, INT64_MAX, INT64_MIN}));
      case TypeKind::Float:
        return Value::flt(one(std::vector<double>{0.0, -0.0, 0.25, 0.75, 1.0, -1e300}));
      case TypeKind::Money:
        return Value::money(
            Decimal{one(std::vector<int64_t>{0, 1'000'000, 6'000'000, 1, -5'000'000})});
      case TypeKind::Bool: return Value::boolean(rng() % 2 == 0);
      case TypeKind::Time: return Value::time(one(std::vector<int64_t>{0, 1'700'000'000'000, -1}));
      case TypeKind::Duration:
        return Value::duration(one(std::vector<int64_t>{0, 60'000, 3'600'000, 7'200'000}));
      case TypeKind::List: {
        Value v;
        v.kind = Value::Kind::List;
        for (size_t n = rng() % 4; n > 0; --n)
          v.list.push_back(Value::str(
              one(std::vector<std::string>{"x", "y", "a tag longer than fifteen bytes"})));
        return v;
      }
      case TypeKind::Error: break;
    }
    return Value{};
  }
};

Event randomEvent(const Compilation& c, Pools& pools, const char* name, TimeMs t, uint64_t seq) {
  const sema::EventInfo* info = c.model.findEvent(name);
  REQUIRE(info != nullptr);
  Event e;
  e.type = info->index;
  e.name = name;
  e.time = t;
  e.seq = seq;
  for (const auto& f : info->fields) e.fields.push_back(pools.pick(f.type.kind));
  return e;
}

struct Row {
  TimeMs time;
  uint64_t seq;
  std::vector<Value> fields;
  friend bool operator==(const Row&, const Row&) = default;
};

std::vector<Row> rowsOf(const History& h, uint32_t type, TimeMs from, TimeMs to, bool newestFirst,
                        size_t width, const std::vector<uint32_t>& kept) {
  struct Out {
    std::vector<Row> rows;
    size_t width;
    const std::vector<uint32_t>* kept;
  } out{{}, width, &kept};
  h.visitRows(
      type, from, to, newestFirst, width, History::Reads{},
      [](void* data, TimeMs time, uint64_t seq, const Value* fields) {
        auto& o = *static_cast<Out*>(data);
        Row r{time, seq, std::vector<Value>(o.width)};
        // Only the kept fields are comparable: the others read as absent in the compact one.
        for (uint32_t slot : *o.kept) r.fields[slot] = fields[slot];
        o.rows.push_back(std::move(r));
        return true;
      },
      &out);
  return out.rows;
}

TEST_CASE(
    "compact history: cells of every kind read back as sent, and both engines answer as over whole "
    "events") {
  auto c = jit::testing::compileText(kCellRules);
  jit::JitOptions options;
  options.useCache = false;
  jit::JitEvaluator jit(*c, options, std::make_unique<interp::Interpreter>(c->model));
  REQUIRE(jit.code().fallbacks().empty());
  interp::Interpreter interp(c->model);
  RetentionPlan plan = plan::buildRetention(c->model);
  const uint32_t rich = c->model.findEvent("rich")->index;
  const Retention& kept = plan.of(rich);
  const size_t width = c->model.events[rich].fields.size();
  // Every field of rich is read by some rule: the cells of every kind are exercised.
  REQUIRE(kept.slots.size() == width);
  REQUIRE(kept.keepAll);  // last(rich(i > 0)): nothing is pruned but by the test below
  Pools pools;
  const TimeMs start = testing::at("2026-01-01T00:00:00Z");
  size_t evaluations = 0, held = 0;
  for (int stream = 0; stream < 30; ++stream) {
    CAPTURE(stream);
    EventHistory compact;
    jit::testing::VectorHistory whole;
    TimeMs t = start;
    for (uint64_t seq = 1; seq <= 40; ++seq) {
      // Equal stamps now and then: input order must hold for them.
      if (pools.rng() % 3 != 0) t += static_cast<TimeMs>(pools.rng() % (20 * kHour));
      bool isProbe = pools.rng() % 3 == 0;
      Event e = randomEvent(*c, pools, isProbe ? "probe" : "rich", t, seq);
      compact.append(e, plan, start);
      whole.events.push_back(e);
      if (!isProbe) continue;

      // The rows as the JIT's helpers see them, both ways and over random ranges.
      TimeMs from = t - static_cast<TimeMs>(pools.rng() % (5 * kDay));
      for (bool newestFirst : {false, true})
        CHECK(rowsOf(compact, rich, from, t, newestFirst, width, kept.slots) ==
              rowsOf(whole, rich, from, t, newestFirst, width, kept.slots));
      // Field equality against every kind of value (mixed numbers included), with the firing
      // exclusion and a limit, as the default implementation over whole events counts.
      for (int k = 0; k < 8; ++k) {
        History::EqualCount q;
        q.type = rich;
        q.from = from;
        q.to = t;
        q.slot = kept.slots[pools.rng() % kept.slots.size()];
        static const sema::TypeKind kinds[] = {sema::TypeKind::String,   sema::TypeKind::Int,
                                               sema::TypeKind::Float,    sema::TypeKind::Money,
                                               sema::TypeKind::Bool,     sema::TypeKind::Time,
                                               sema::TypeKind::Duration, sema::TypeKind::List};
        Value v = pools.pick(pools.rng() % 2 ? c->model.events[rich].fields[q.slot].type.kind
                                             : kinds[pools.rng() % 8]);
        q.value = &v;
        q.afterFiring = pools.rng() % 2 == 0;
        q.firedAt = from;
        q.firedAfterSeq = static_cast<int64_t>(pools.rng() % seq);
        q.limit = pools.rng() % 3 == 0 ? 1 : INT64_MAX;
        CAPTURE(q.slot);
        CHECK(compact.countEqual(q) == whole.countEqual(q));
      }

      EvalEnv a, b;
      a.anchor = b.anchor = &whole.events.back();
      a.now = b.now = t;
      a.history = &compact;
      b.history = &whole;
      for (const auto& rule : c->model.rules) {
        CAPTURE(rule.name);
        std::vector<const ast::Expr*> conds(rule.conditions.begin(), rule.conditions.end());
        conds.insert(conds.end(), rule.unless.begin(), rule.unless.end());
        for (const auto& st : rule.rule->steps)
          conds.insert(conds.end(), st.unless.begin(), st.unless.end());
        const bool steps = !rule.rule->steps.empty();
        if (steps) {
          a.firedAt = b.firedAt = from;
          a.firedAfterSeq = b.firedAfterSeq = static_cast<int64_t>(pools.rng() % seq);
        }
        for (const auto* cond : conds) {
          REQUIRE(jit.compiled(cond->id));
          bool want = interp.test(*cond, b);
          CHECK(interp.test(*cond, a) == want);
          CHECK(jit.test(cond->id, a) == want);
          ++evaluations;
          held += want ? 1 : 0;
          if (cond->kind == ast::ExprKind::Binary && cond->lhs->kind == ast::ExprKind::Last)
            CHECK(interp.value(*cond->lhs, a) == interp.value(*cond->lhs, b));
          if (cond->kind == ast::ExprKind::Binary && cond->rhs->kind == ast::ExprKind::Last)
            CHECK(interp.value(*cond->rhs, a) == interp.value(*cond->rhs, b));
        }
        a.firedAt = b.firedAt = INT64_MIN;
        a.firedAfterSeq = b.firedAfterSeq = -1;
      }
    }
    // Moved, the history keeps its rows (and owns its strings once).
    EventHistory moved = std::move(compact);
    CHECK(rowsOf(moved, rich, INT64_MIN, t, false, width, kept.slots) ==
          rowsOf(whole, rich, INT64_MIN, t, false, width, kept.slots));
    CHECK(compact.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    CHECK(moved.heapBytes() > 0);
  }
  // Both outcomes occur, or agreement would mean little.
  CHECK(held > evaluations / 20);
  CHECK(held < evaluations - evaluations / 20);
}

TEST_CASE("compact history: pruning frees long strings and lists, and gives back unused rows") {
  CheckedProgram p(R"(
event note { text?: string, tags?: [string] }
trigger a: when cart_add and count(note(text starts_with "x" and "t" in tags)) within 1d >= 1 send t
template t { subject "s" body "b" }
)");
  RetentionPlan plan = plan::buildRetention(p.model);
  const uint32_t note = p.model.findEvent("note")->index;
  EventHistory h;
  const TimeMs start = testing::at("2026-01-01T00:00:00Z");
  Value tags;
  tags.kind = Value::Kind::List;
  tags.list = {Value::str("t"), Value::str("a tag longer than fifteen bytes")};
  // A burst: 200 notes in one day, each with a long string and a list.
  for (uint64_t i = 0; i < 200; ++i)
    h.append(p.event("note", start + static_cast<TimeMs>(i) * kMinute,
                     {{"text",
                       Value::str("x, and a text longer than fifteen bytes " + std::to_string(i))},
                      {"tags", tags}},
                     i + 1),
             plan, INT64_MAX);
  CHECK(h.size() == 200);
  const size_t burst = h.heapBytes();
  // Then one every other day: the burst ages out, and so does its memory.
  for (uint64_t i = 0; i < 3; ++i)
    h.append(p.event("note", start + static_cast<TimeMs>(2 * i + 2) * kDay,
                     {{"text", Value::str("short")}}, 300 + i),
             plan, INT64_MAX);
  CHECK(h.size() == 1);
  CHECK(h.heapBytes() * 20 < burst);
  int64_t seen = 0;
  h.forEach(note, INT64_MIN, INT64_MAX, [&](const Event& e) {
    CHECK(e.fields[p.model.findEvent("note")->fieldIndex("text")] == Value::str("short"));
    ++seen;
    return true;
  });
  CHECK(seen == 1);
  h.prune(start + 30 * kDay, plan, INT64_MAX);
  CHECK(h.empty());
  CHECK(h.heapBytes() == 0);
}

}  // namespace
}  // namespace trig::state
