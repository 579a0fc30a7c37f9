// The clock: event time moves forward only, and at each instant the timers due run first, then
// the events, then the arbitration windows that close (engine.h).
#include "runtime/engine/engine_impl.h"

#include <algorithm>

namespace trig::engine {

void Engine::Impl::setNow(TimeMs t) {
  if (t > now) {
    flush();
    now = t;
  }
}

// Runs timers due at or before `t` and decisions due before `t` (or at `t` too).
void Engine::Impl::runUntil(TimeMs t, bool decisionsAtT) {
  for (;;) {
    TimeMs tn = timers.nextTime(), td = decisions.nextTime();
    if (tn <= t && tn <= td) {
      TimeMs at;
      uint32_t lane;
      Timer tm = timers.pop(&at, &lane);
      if (lane != timers::kNoLane) prefetchIdle(lane);
      setNow(at);
      fireTimer(tm);
      continue;
    }
    if (td < t || (decisionsAtT && td <= t)) {
      TimeMs at;
      Customer* c = decisions.pop(&at);
      setNow(at);
      decide(*c);
      continue;
    }
    break;
  }
}

// An idle firing reads its customer, the customer's idle list and the wait's kept anchor, each
// a cache miss of its own when a million customers wait (W3): while one fires, ask for those of
// the lane's next ones, a step further along for each timer ahead (the anchor's address is in
// the idle list, the list's in the customer). Prefetches only: nothing here changes state.
void Engine::Impl::prefetchIdle(uint32_t lane) const {
  timers.lookAhead(
      lane, 8, 6, [](const Timer& t) { __builtin_prefetch(static_cast<const void*>(t.customer)); });
  timers.lookAhead(lane, 4, 3, [](const Timer& t) {
    if (t.customer->idle.size() > 0) __builtin_prefetch(t.customer->idle.begin());
  });
  timers.lookAhead(lane, 2, 1, [](const Timer& t) {
    const auto& idle = t.customer->idle;
    for (const Customer::Idle& p : idle)
      if (p.rule == t.rule) {
        __builtin_prefetch(p.anchor.address());
        break;
      }
  });
}

void Engine::Impl::fireTimer(const Timer& t) {
  Customer& c = *t.customer;
  switch (t.kind) {
    case Timer::Kind::Idle: {
      auto it = std::find_if(c.idle.begin(), c.idle.end(),
                             [&](const Customer::Idle& p) { return p.rule == t.rule; });
      if (it == c.idle.end()) return;
      // Into one event kept for this (its fields' room reused: a fresh Event per firing was an
      // allocation and a free of every field); a firing runs no timers, so nothing else writes
      // it before evaluate returns, and what the firing keeps of its anchor it copies.
      it->anchor.unpackInto(idleAnchor);
      c.idle.erase(it);
      // The wait ended in a firing: a customer may now be quiet for long, with a flow in flight
      // (a million of them hold 80 bytes each of an empty vector's room otherwise).
      if (c.idle.empty()) c.idle.shrink_to_fit();
      // A firing by a timer comes before every event stamped at its instant.
      evaluate(c, t.rule, idleAnchor, -1);
      break;
    }
    case Timer::Kind::Step: onStepTimer(c, t.rule); break;
    case Timer::Kind::Deferred: {
      auto fp = activeFlow(c, t.rule);
      if (!fp) return;
      if (auto ps = takeParked(*fp, Flow::State::Deferred)) becomeDue(std::move(*ps));
      break;
    }
    case Timer::Kind::Await: {
      auto fp = activeFlow(c, t.rule);
      if (!fp) return;
      if (auto ps = takeParked(*fp, Flow::State::Awaiting)) awaitExpired(std::move(*ps));
      break;
    }
  }
  c.history.prune(now, rulePlan.retention, oldestFiring(c));
}

}  // namespace trig::engine
