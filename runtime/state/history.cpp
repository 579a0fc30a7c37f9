#include "runtime/state/history.h"

#include <algorithm>

namespace trig::state {

const EventHistory::Store* EventHistory::find(uint32_t type) const {
  for (const auto& s : stores_)
    if (s.type == type) return &s;
  return nullptr;
}

void EventHistory::append(const Event& e, const RetentionPlan& plan, TimeMs oldestFiring) {
  const Retention& r = plan.of(e.type);
  if (e.kind != Event::Kind::Track || !r.stored()) return;
  Store* store = nullptr;
  for (auto& s : stores_)
    if (s.type == e.type) store = &s;
  if (store == nullptr) {
    stores_.push_back(Store{});
    store = &stores_.back();
    store->type = e.type;
  }
  Event& kept = store->events.emplace_back();
  kept.kind = e.kind;
  kept.type = e.type;
  kept.time = e.time;
  kept.fields = e.fields;
  kept.seq = e.seq;
  pruneStore(*store, e.time, r, oldestFiring);
}

void EventHistory::pruneStore(Store& s, TimeMs now, const Retention& r, TimeMs oldestFiring) {
  if (r.keepAll) return;
  TimeMs keepFrom = r.window > 0 ? now - r.window : now;
  if (r.sinceFiring) keepFrom = std::min(keepFrom, oldestFiring);
  if (r.window == 0 && !r.sinceFiring) keepFrom = INT64_MAX;  // only `last`: the newest one
  size_t live = s.events.size() - s.head;
  size_t drop = 0;
  while (drop < live && s.events[s.head + drop].time < keepFrom) ++drop;
  if (r.keepLast && drop == live && live > 0) --drop;  // the newest stays, at any age
  s.head += drop;
  // Compact when the dead prefix dominates, so appends stay amortised O(1).
  if (s.head > 32 && s.head * 2 > s.events.size()) {
    s.events.erase(s.events.begin(), s.events.begin() + static_cast<std::ptrdiff_t>(s.head));
    s.head = 0;
  }
}

void EventHistory::prune(TimeMs now, const RetentionPlan& plan, TimeMs oldestFiring) {
  for (auto& s : stores_) pruneStore(s, now, plan.of(s.type), oldestFiring);
  std::erase_if(stores_, [](const Store& s) { return s.head == s.events.size(); });
}

void EventHistory::forEach(uint32_t type, TimeMs from, TimeMs to,
                           const std::function<bool(const Event&)>& f) const {
  const Store* s = find(type);
  if (s == nullptr) return;
  auto begin = s->events.begin() + static_cast<std::ptrdiff_t>(s->head);
  auto it = std::lower_bound(begin, s->events.end(), from,
                             [](const Event& e, TimeMs t) { return e.time < t; });
  for (; it != s->events.end() && it->time <= to; ++it)
    if (!f(*it)) return;
}

void EventHistory::forEachNewestFirst(uint32_t type, TimeMs from, TimeMs to,
                                      const std::function<bool(const Event&)>& f) const {
  const Store* s = find(type);
  if (s == nullptr) return;
  auto begin = s->events.begin() + static_cast<std::ptrdiff_t>(s->head);
  auto end = std::upper_bound(begin, s->events.end(), to,
                              [](TimeMs t, const Event& e) { return t < e.time; });
  while (end != begin) {
    --end;
    if (end->time < from) return;
    if (!f(*end)) return;
  }
}

size_t EventHistory::size() const {
  size_t n = 0;
  for (const auto& s : stores_) n += s.events.size() - s.head;
  return n;
}

}  // namespace trig::state
