#include "runtime/state/history.h"

#include <doctest/doctest.h>

#include "compiler/core/ops.h"

using namespace trig;

namespace {

Event ev(uint32_t type, TimeMs t, uint64_t seq) {
  Event e;
  e.type = type;
  e.time = t;
  e.seq = seq;
  e.customer = "c1";
  e.fields = {Value::integer(static_cast<int64_t>(seq))};
  return e;
}

std::vector<uint64_t> seqs(const History& h, uint32_t type, TimeMs from, TimeMs to,
                           bool newestFirst = false) {
  std::vector<uint64_t> out;
  auto f = [&](const Event& e) {
    out.push_back(e.seq);
    return true;
  };
  if (newestFirst)
    h.forEachNewestFirst(type, from, to, f);
  else
    h.forEach(type, from, to, f);
  return out;
}

// Three event types: a (looked back at for 10ms), b (`last` only), c (nothing).
struct Fixture {
  std::vector<state::Retention> kept = std::vector<state::Retention>(3);
  state::RetentionPlan plan;
  Fixture() {
    kept[0].window = 10;
    kept[1].keepLast = true;
    plan = state::RetentionPlan::of(kept);
  }
};

}  // namespace

TEST_CASE("history windows are inclusive at both ends and stay in input order") {
  Fixture fx;
  state::EventHistory h;
  h.append(ev(0, 100, 1), fx.plan, INT64_MAX);
  h.append(ev(0, 105, 2), fx.plan, INT64_MAX);
  h.append(ev(0, 105, 3), fx.plan, INT64_MAX);
  h.append(ev(0, 110, 4), fx.plan, INT64_MAX);
  CHECK(seqs(h, 0, 100, 110) == std::vector<uint64_t>{1, 2, 3, 4});
  CHECK(seqs(h, 0, 105, 105) == std::vector<uint64_t>{2, 3});
  CHECK(seqs(h, 0, 101, 110, true) == std::vector<uint64_t>{4, 3, 2});
  CHECK(seqs(h, 1, 0, 200).empty());
}

TEST_CASE("history keeps only what the rules can ask about") {
  Fixture fx;
  state::EventHistory h;
  h.append(ev(0, 100, 1), fx.plan, INT64_MAX);
  h.append(ev(0, 111, 2), fx.plan, INT64_MAX);  // 100 is now older than 111 - 10
  CHECK(seqs(h, 0, 0, 200) == std::vector<uint64_t>{2});
  h.append(ev(1, 100, 3), fx.plan, INT64_MAX);
  h.append(ev(1, 5000, 4), fx.plan, INT64_MAX);
  CHECK(seqs(h, 1, INT64_MIN, 10000) == std::vector<uint64_t>{4});  // the newest, at any age
  h.append(ev(2, 100, 5), fx.plan, INT64_MAX);
  CHECK(seqs(h, 2, INT64_MIN, 10000).empty());  // nothing looks at c
  h.prune(1000000, fx.plan, INT64_MAX);
  CHECK(seqs(h, 0, INT64_MIN, INT64_MAX).empty());
  CHECK(seqs(h, 1, INT64_MIN, INT64_MAX) == std::vector<uint64_t>{4});
}

TEST_CASE("events since the oldest active firing are kept for step conditions") {
  Fixture fx;
  fx.kept[2].sinceFiring = true;
  fx.plan = state::RetentionPlan::of(fx.kept);
  state::EventHistory h;
  h.append(ev(2, 100, 1), fx.plan, 50);
  h.append(ev(2, 200, 2), fx.plan, 50);
  CHECK(seqs(h, 2, 50, 300) == std::vector<uint64_t>{1, 2});
  h.prune(300, fx.plan, 150);
  CHECK(seqs(h, 2, 0, 300) == std::vector<uint64_t>{2});
  h.prune(300, fx.plan, INT64_MAX);
  CHECK(h.empty());
}

TEST_CASE("history merges another's events in time order, then input order, and prunes") {
  Fixture fx;
  state::EventHistory user, visitor;
  visitor.append(ev(0, 100, 1), fx.plan, INT64_MAX);
  visitor.append(ev(0, 104, 3), fx.plan, INT64_MAX);
  visitor.append(ev(0, 106, 5), fx.plan, INT64_MAX);
  visitor.append(ev(1, 50, 6), fx.plan, INT64_MAX);  // `last` only: the user's newer one wins
  visitor.append(ev(2, 50, 7), fx.plan, INT64_MAX);  // not kept at all
  user.append(ev(0, 104, 2), fx.plan, INT64_MAX);
  user.append(ev(0, 106, 4), fx.plan, INT64_MAX);
  user.append(ev(1, 60, 8), fx.plan, INT64_MAX);
  user.mergeFrom(std::move(visitor), fx.plan, 111, INT64_MAX);
  CHECK(visitor.empty());
  // 100 is older than 111 - 10: pruned at the merge.
  CHECK(seqs(user, 0, 0, 200) == std::vector<uint64_t>{2, 3, 4, 5});
  CHECK(seqs(user, 1, 0, 200) == std::vector<uint64_t>{8});
  // A type the user had none of moves over whole; strings change hands.
  fx.kept[0].slots = {0};
  fx.kept[0].fields = 1;
  fx.plan = state::RetentionPlan::of(fx.kept);
  state::EventHistory other;
  Event e = ev(0, 108, 9);
  e.fields = {Value::str("a string longer than fifteen bytes")};
  other.append(e, fx.plan, INT64_MAX);
  state::EventHistory empty;
  empty.mergeFrom(std::move(other), fx.plan, 110, INT64_MAX);
  std::vector<std::string> texts;
  empty.forEach(0, 0, 200, [&](const Event& x) {
    texts.push_back(x.fields.at(0).s);
    return true;
  });
  CHECK(texts == std::vector<std::string>{"a string longer than fifteen bytes"});
  CHECK(seqs(empty, 0, 0, 200) == std::vector<uint64_t>{9});
}

TEST_CASE("a window's edge row is kept until the clock passes it, then dropped") {
  Fixture fx;
  state::EventHistory h;
  h.append(ev(0, 100, 1), fx.plan, INT64_MAX);
  h.append(ev(0, 110, 2), fx.plan, INT64_MAX);  // 100 is exactly 110 - 10: still in
  CHECK(seqs(h, 0, 0, 200) == std::vector<uint64_t>{1, 2});
  h.prune(110, fx.plan, INT64_MAX);
  CHECK(h.size() == 2);
  h.prune(111, fx.plan, INT64_MAX);
  CHECK(seqs(h, 0, 0, 200) == std::vector<uint64_t>{2});
  h.append(ev(0, 121, 3), fx.plan, INT64_MAX);  // 110 is one past the edge now
  CHECK(seqs(h, 0, 0, 200) == std::vector<uint64_t>{3});
}

TEST_CASE("countEqual over a ring that wraps counts exactly the window's equal rows") {
  // One type looked back at for 10ms by one field: the ring's head moves round as rows expire,
  // and it grows and shrinks as the window fills and thins.
  std::vector<state::Retention> kept(1);
  kept[0].window = 10;
  kept[0].slots = {0};
  kept[0].fields = 1;
  const state::RetentionPlan plan = state::RetentionPlan::of(kept);
  const std::vector<Value> values = {
      Value::str("p1"),    Value::str("p2"), Value::str("a string longer than fifteen bytes"),
      Value::integer(1),   Value::flt(1.0),  Value::flt(-0.0),
      Value::integer(0),   Value::absent(),  Value::str(""),
      Value::boolean(true)};
  state::EventHistory h;
  std::vector<Event> all;
  TimeMs t = 1000;
  size_t counted = 0, limited = 0;
  for (uint64_t seq = 1; seq <= 400; ++seq) {
    // Bursts of equal stamps and gaps up to past the window, so that counts cross the edge.
    const uint64_t step = (seq * 2654435761u) % 17;
    if (step > 4) t += static_cast<TimeMs>(step > 15 ? 12 : step - 4);
    Event e = ev(0, t, seq);
    e.fields = {values[(seq * 7 + seq / 5) % values.size()]};
    h.append(e, plan, INT64_MAX);
    all.push_back(e);
    for (const Value& v : values) {
      for (TimeMs from : {t - 10, t - 4, t}) {
        for (const bool afterFiring : {false, true}) {
          for (const int64_t limit : {int64_t{1}, int64_t{3}, INT64_MAX}) {
            History::EqualCount q;
            q.type = 0;
            q.from = from;
            q.to = t - (seq % 4 == 0 ? 2 : 0);
            q.value = &v;
            q.afterFiring = afterFiring;
            q.firedAt = from;
            q.firedAfterSeq = static_cast<int64_t>(seq) - 3;
            q.limit = limit;
            int64_t want = 0;
            if (!v.isAbsent())
              for (const Event& x : all) {
                if (x.time < q.from || x.time > q.to) continue;
                if (afterFiring && x.time == q.firedAt &&
                    static_cast<int64_t>(x.seq) <= q.firedAfterSeq)
                  continue;
                if (core::compare(core::Op::Eq, x.fields[0], v)) ++want;
              }
            CAPTURE(seq);
            CAPTURE(from);
            CAPTURE(v.kind);
            CHECK(h.countEqual(q) == std::min(want, limit));
            counted += want > 0 ? 1 : 0;
            limited += want > limit ? 1 : 0;
          }
        }
      }
    }
  }
  // Matches, and counts the limit cuts, both occur, or agreement would mean little.
  CHECK(counted > 1000);
  CHECK(limited > 100);
}
