#pragma once
// What an evaluation sees, whatever the engine (the reference interpreter or the JIT's code): the
// environment of one customer at one instant (EvalEnv) and the contract the runtime's
// per-customer state fulfils for conditions about the past (History).
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "compiler/core/event.h"
#include "compiler/core/ops.h"
#include "compiler/core/value.h"

namespace trig {

// What a condition can ask about one customer's past. Implemented by the runtime's
// per-customer state (and by test fixtures).
class History {
 public:
  virtual ~History() = default;
  // Calls `f` for each remembered event of `type` stamped in [from, to], oldest first (input
  // order for equal stamps), until `f` returns false. The Event is valid only during the call:
  // the runtime's history rebuilds remembered events in a reused Event.
  virtual void forEach(uint32_t type, TimeMs from, TimeMs to,
                       const std::function<bool(const Event&)>& f) const = 0;
  // The same, newest first (`last(E)`). The default collects forEach's events and walks them
  // backwards, which only suits a history whose Events stay put (test fixtures); the runtime's
  // state overrides it with a direct reverse walk.
  virtual void forEachNewestFirst(uint32_t type, TimeMs from, TimeMs to,
                                  const std::function<bool(const Event&)>& f) const {
    std::vector<const Event*> seen;
    forEach(type, from, to, [&](const Event& e) {
      seen.push_back(&e);
      return true;
    });
    for (auto it = seen.rbegin(); it != seen.rend(); ++it)
      if (!f(**it)) return;
  }
  // Which fields of a row a visitor reads: every one (`all`), or the `count` slots at `slots`.
  struct Reads {
    const uint32_t* slots = nullptr;
    size_t count = 0;
    bool all = true;
  };
  // The walk the JIT's helpers take (no std::function, no Event per row): calls
  // `f(data, time, seq, fields)` for each remembered event of `type` stamped in [from, to], in
  // forEach's order or newest first, until it returns false. `fields` holds at least
  // `minFields` Values by slot (Absent where the event had none or the history did not keep
  // it; a field outside `reads` may read as Absent too) and is valid only during the call. The
  // default goes through forEach and pads short rows; the runtime's state overrides it with
  // rows it fills in place, field by field as `reads` asks.
  using RowVisitor = bool (*)(void* data, TimeMs time, uint64_t seq, const Value* fields);
  virtual void visitRows(uint32_t type, TimeMs from, TimeMs to, bool newestFirst, size_t minFields,
                         Reads reads, RowVisitor f, void* data) const {
    (void)reads;
    std::vector<Value> padded;
    auto one = [&](const Event& e) {
      if (e.fields.size() >= minFields) return f(data, e.time, e.seq, e.fields.data());
      padded = e.fields;
      padded.resize(minFields);
      return f(data, e.time, e.seq, padded.data());
    };
    if (newestFirst)
      forEachNewestFirst(type, from, to, one);
    else
      forEach(type, from, to, one);
  }
  // `count(E(same f))` and `E(same f)` without a filter: how many of forEach's events of
  // `type` in [from, to] have field `slot` equal to `*value` (the language's ==, as `same`
  // compares: absent equals nothing), counting up to `limit`. With `afterFiring`, the events
  // stamped `firedAt` with seq <= `firedAfterSeq` do not count (they preceded the firing).
  struct EqualCount {
    uint32_t type = 0;
    TimeMs from = 0;
    TimeMs to = 0;
    uint32_t slot = 0;
    const Value* value = nullptr;
    bool afterFiring = false;
    TimeMs firedAt = INT64_MIN;
    int64_t firedAfterSeq = -1;
    int64_t limit = INT64_MAX;
  };
  // The default reads the rows through visitRows; the runtime's state compares its stored
  // cells without building rows.
  virtual int64_t countEqual(const EqualCount& q) const {
    if (q.value == nullptr || q.value->isAbsent() || q.limit <= 0) return 0;
    int64_t n = 0;
    auto visit = [&](TimeMs time, uint64_t seq, const Value* fields) {
      if (q.afterFiring && time == q.firedAt && static_cast<int64_t>(seq) <= q.firedAfterSeq)
        return true;
      if (core::compare(core::Op::Eq, fields[q.slot], *q.value)) ++n;
      return n < q.limit;
    };
    visitRows(
        q.type, q.from, q.to, false, size_t{q.slot} + 1, Reads{&q.slot, 1, false},
        [](void* data, TimeMs time, uint64_t seq, const Value* fields) {
          return (*static_cast<decltype(visit)*>(data))(time, seq, fields);
        },
        &visit);
    return n;
  }
};

struct EvalEnv {
  const Event* anchor = nullptr;               // the rule's anchor event
  const std::vector<Value>* traits = nullptr;  // the profile, by sema trait slot
  const History* history = nullptr;
  TimeMs now = 0;  // the evaluation time t
  // Step conditions: an event term without a window means "since the rule fired", i.e. in
  // [firedAt, now]. Unset (INT64_MIN) at rule level.
  TimeMs firedAt = INT64_MIN;
  // Of the events stamped exactly `firedAt`, only those with Event::seq > firedAfterSeq happened
  // after the firing (the anchor of a rule without `idle` and the events before it did not).
  // -1: all of them (a firing by a timer comes before the events stamped at its instant).
  int64_t firedAfterSeq = -1;
  const Event* subject = nullptr;  // inside E(filter): the E being tested
  // Template/step bindings (`with name = expr`), when evaluating inside a send.
  const std::vector<std::pair<std::string, Value>>* bindings = nullptr;
};

}  // namespace trig
