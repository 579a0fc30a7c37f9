#include "runtime/state/history.h"

#include <algorithm>
#include <memory>

namespace trig::state {
namespace {

// The Events callbacks see, shared by every history of the thread: one per nesting level (a
// filter evaluated on a remembered event may look at the history again), each reused row after
// row, so that reading the history allocates nothing once warm.
struct Scratch {
  std::vector<std::unique_ptr<Event>> levels;
  size_t depth = 0;
};
thread_local Scratch scratch;

struct Level {
  Event& event;
  explicit Level(uint32_t type, uint32_t fields) : event(enter()) {
    event.kind = Event::Kind::Track;
    event.type = type;
    event.fields.assign(fields, Value{});
  }
  ~Level() { --scratch.depth; }
  Level(const Level&) = delete;
  Level& operator=(const Level&) = delete;

 private:
  static Event& enter() {
    if (scratch.depth == scratch.levels.size()) scratch.levels.push_back(std::make_unique<Event>());
    return *scratch.levels[scratch.depth++];
  }
};

// dst = src, member for member as Value's own assignment leaves them, without its calls for
// the members a scalar does not use: rows are rebuilt for every look at the history, and the
// generic assignment (the list's above all) was a tenth of a replay with deep windows.
void assign(Value& dst, const Value& src) {
  dst.kind = src.kind;
  dst.b = src.b;
  dst.i = src.i;
  dst.f = src.f;
  dst.m = src.m;
  if (src.s.empty()) dst.s.clear();
  else dst.s.assign(src.s);
  if (src.list.empty()) dst.list.clear();
  else dst.list = src.list;
}

}  // namespace

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
    store->retention = &r;
  }
  store->rows.push_back(Row{e.time, e.seq});
  for (uint32_t slot : r.slots)
    store->values.push_back(slot < e.fields.size() ? e.fields[slot] : Value{});
  pruneStore(*store, e.time, r, oldestFiring);
}

void EventHistory::pruneStore(Store& s, TimeMs now, const Retention& r, TimeMs oldestFiring) {
  if (r.keepAll) return;
  TimeMs keepFrom = r.window > 0 ? now - r.window : now;
  if (r.sinceFiring) keepFrom = std::min(keepFrom, oldestFiring);
  if (r.window == 0 && !r.sinceFiring) keepFrom = INT64_MAX;  // only `last`: the newest one
  size_t live = s.rows.size() - s.head;
  size_t drop = 0;
  while (drop < live && s.rows[s.head + drop].time < keepFrom) ++drop;
  if (r.keepLast && drop == live && live > 0) --drop;  // the newest stays, at any age
  s.head += drop;
  // Compact when the dead prefix dominates, so appends stay amortised O(1); a store that is
  // all dead is emptied at once (most customers hold one or two events of a type).
  if (s.head == s.rows.size() || (s.head > 32 && s.head * 2 > s.rows.size())) {
    const size_t width = r.slots.size();
    s.rows.erase(s.rows.begin(), s.rows.begin() + static_cast<std::ptrdiff_t>(s.head));
    s.values.erase(s.values.begin(), s.values.begin() + static_cast<std::ptrdiff_t>(s.head * width));
    s.head = 0;
  }
}

void EventHistory::prune(TimeMs now, const RetentionPlan& plan, TimeMs oldestFiring) {
  for (auto& s : stores_) pruneStore(s, now, plan.of(s.type), oldestFiring);
  std::erase_if(stores_, [](const Store& s) { return s.head == s.rows.size(); });
}

void EventHistory::visit(const Store& s, size_t begin, size_t end, bool newestFirst,
                         const std::function<bool(const Event&)>& f) {
  if (begin >= end) return;
  const Retention& r = *s.retention;
  const size_t width = r.slots.size();
  Level level(s.type, r.fields);
  Event& x = level.event;
  for (size_t n = 0; n < end - begin; ++n) {
    size_t i = newestFirst ? end - 1 - n : begin + n;
    x.time = s.rows[i].time;
    x.seq = s.rows[i].seq;
    for (size_t k = 0; k < width; ++k) {
      uint32_t slot = r.slots[k];
      if (slot >= x.fields.size()) x.fields.resize(slot + 1);
      assign(x.fields[slot], s.values[i * width + k]);
    }
    if (!f(x)) return;
  }
}

// The live rows of `s` stamped in [from, to], as [first, second) indices.
std::pair<size_t, size_t> EventHistory::rowsIn(const Store& s, TimeMs from, TimeMs to) {
  auto live = s.rows.begin() + static_cast<std::ptrdiff_t>(s.head);
  auto begin = std::lower_bound(live, s.rows.end(), from, [](const Row& row, TimeMs t) { return row.time < t; });
  auto end = std::upper_bound(begin, s.rows.end(), to, [](TimeMs t, const Row& row) { return t < row.time; });
  return {static_cast<size_t>(begin - s.rows.begin()), static_cast<size_t>(end - s.rows.begin())};
}

void EventHistory::forEach(uint32_t type, TimeMs from, TimeMs to,
                           const std::function<bool(const Event&)>& f) const {
  if (const Store* s = find(type)) {
    auto [begin, end] = rowsIn(*s, from, to);
    visit(*s, begin, end, false, f);
  }
}

void EventHistory::forEachNewestFirst(uint32_t type, TimeMs from, TimeMs to,
                                      const std::function<bool(const Event&)>& f) const {
  if (const Store* s = find(type)) {
    auto [begin, end] = rowsIn(*s, from, to);
    visit(*s, begin, end, true, f);
  }
}

size_t EventHistory::size() const {
  size_t n = 0;
  for (const auto& s : stores_) n += s.rows.size() - s.head;
  return n;
}

}  // namespace trig::state
