#include "runtime/state/history.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>

#include "compiler/core/ops.h"
#include "runtime/state/cell.h"

namespace trig::state {
namespace {

using Kind = Value::Kind;
// The encoding of a kept value (cell.h).
using coding::cellEquals;
using coding::decode;
using coding::encode;
using coding::kInlineMax;
using coding::kLongString;
using coding::ownedBytes;
using coding::releaseCell;
using coding::sameBytes;
using coding::tagOf;

// Back to Absent, every member at its default, keeping the buffers.
void clear(Value& v) {
  if (v.kind == Kind::Absent && v.s.empty() && v.list.empty()) return;
  v.kind = Kind::Absent;
  v.b = false;
  v.i = 0;
  v.f = 0;
  v.m = Decimal{};
  v.s.clear();
  v.list.clear();
}

// The rows and Events callbacks see, shared by every history of the thread: one per nesting
// level (a filter evaluated on a remembered event may look at the history again), each reused
// row after row, so that reading the history allocates nothing once warm.
struct Scratch {
  std::vector<std::unique_ptr<Event>> levels;
  size_t depth = 0;
};
thread_local Scratch scratch;

// One level's Event, its fields all absent and at least `fields` of them.
struct Level {
  Event& event;
  Level(uint32_t type, size_t fields) : event(enter()) {
    event.kind = Event::Kind::Track;
    event.type = type;
    for (Value& v : event.fields) clear(v);
    if (event.fields.size() < fields) event.fields.resize(fields);
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

}  // namespace

EventHistory::~EventHistory() {
  for (auto& s : stores_) release(s);
}

EventHistory::EventHistory(EventHistory&& other) noexcept : stores_(std::move(other.stores_)) {}

EventHistory& EventHistory::operator=(EventHistory&& other) noexcept {
  if (this != &other) {
    for (auto& s : stores_) release(s);
    stores_ = std::move(other.stores_);
  }
  return *this;
}

const EventHistory::Store* EventHistory::find(uint32_t type) const {
  for (const auto& s : stores_)
    if (s.type == type) return &s;
  return nullptr;
}

// Row `i` of the live ones (0: the oldest).
EventHistory::Unit* EventHistory::rowAt(const Store& s, size_t i) {
  size_t p = s.head + i;
  if (p >= s.capacity) p -= s.capacity;
  return s.units + p * (1 + size_t{s.width});
}

// Moves the live rows to a buffer of `capacity` rows (at least `count`), oldest first.
void EventHistory::resize(Store& s, uint32_t capacity) {
  const size_t stride = 1 + size_t{s.width};
  Unit* units = capacity == 0 ? nullptr : new Unit[capacity * stride];
  // The live rows are at most two runs of the ring: [head, capacity) and [0, rest).
  const size_t first = std::min<size_t>(s.count, s.capacity - s.head);
  if (first > 0) std::memcpy(units, s.units + s.head * stride, first * stride * sizeof(Unit));
  if (s.count > first)
    std::memcpy(units + first * stride, s.units, (s.count - first) * stride * sizeof(Unit));
  delete[] s.units;
  s.units = units;
  s.capacity = capacity;
  s.head = 0;
}

void EventHistory::release(Store& s) {
  dropOldest(s, s.count);
  delete[] s.units;
  s.units = nullptr;
  s.capacity = 0;
}

// Forgets the `n` oldest live rows, freeing what their cells own.
void EventHistory::dropOldest(Store& s, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const Cell* cells = &rowAt(s, i)[1].cell;
    for (uint32_t k = 0; k < s.width; ++k) releaseCell(cells[k]);
  }
  size_t head = s.head + n;
  s.head = static_cast<uint32_t>(head >= s.capacity && s.capacity > 0 ? head - s.capacity : head);
  s.count -= static_cast<uint32_t>(n);
}

void EventHistory::appendRow(const Event& e, const Retention& r, const RetentionPlan& plan,
                             TimeMs oldestFiring) {
  Store* store = nullptr;
  for (auto& s : stores_)
    if (s.type == e.type) store = &s;
  if (store == nullptr) {
    Store fresh;
    fresh.type = e.type;
    fresh.width = static_cast<uint32_t>(r.slots.size());
    // One more (CompactVector grows by one while small): a customer's few types arrive once
    // each, and every spare Store is 32 bytes of every customer's state.
    stores_.push_back(fresh);
    store = &stores_.back();
  }
  setPlan(plan);
  Store& s = *store;
  if (s.count == s.capacity) {
    // Grow by half (most customers hold one or two events of a type; the deep ones, windows
    // of tens): doubling would leave a quarter of the rows unused on average.
    const uint32_t max = std::numeric_limits<uint32_t>::max() / (1 + s.width) / 2;
    if (s.capacity >= max)
      throw std::length_error("trig: too many remembered events for one customer");
    resize(s, std::max<uint32_t>(s.capacity + s.capacity / 2, s.capacity + 1));
  }
  Unit* row = rowAt(s, s.count);
  row->row = Row{e.time, e.seq};
  Cell* cells = &row[1].cell;
  static const Value kAbsent;
  for (uint32_t k = 0; k < s.width; ++k) {
    const uint32_t slot = r.slots[k];
    try {
      encode(cells[k], slot < e.fields.size() ? e.fields[slot] : kAbsent);
    } catch (...) {
      for (uint32_t j = 0; j < k; ++j) releaseCell(cells[j]);
      throw;
    }
  }
  ++s.count;
  pruneStore(s, e.time, r, oldestFiring);
}

void EventHistory::pruneStore(Store& s, TimeMs now, const Retention& r, TimeMs oldestFiring) {
  if (r.keepAll) return;
  TimeMs keepFrom = r.window > 0 ? now - r.window : now;
  if (r.sinceFiring) keepFrom = std::min(keepFrom, oldestFiring);
  if (r.window == 0 && !r.sinceFiring) keepFrom = INT64_MAX;  // only `last`: the newest one
  size_t drop = 0;
  while (drop < s.count && rowAt(s, drop)->row.time < keepFrom) ++drop;
  if (r.keepLast && drop == s.count && s.count > 0) --drop;  // the newest stays, at any age
  if (drop == 0) return;
  dropOldest(s, drop);
  // Give back what a shrunken window no longer uses (with room to grow again by half before
  // the next move), and everything when nothing is left.
  if (s.count == 0) {
    delete[] s.units;
    s.units = nullptr;
    s.capacity = 0;
    s.head = 0;
  } else if (s.count * 2 < s.capacity && s.capacity > 4) {
    resize(s, s.count + (s.count + 1) / 2);
  }
}

void EventHistory::prune(TimeMs now, const RetentionPlan& plan, TimeMs oldestFiring) {
  setPlan(plan);
  for (auto& s : stores_) {
    pruneStore(s, now, plan.of(s.type), oldestFiring);
    if (s.count == 0) release(s);
  }
  if (stores_.eraseIf([](const Store& s) { return s.count == 0; }) > 0) stores_.shrink_to_fit();
}

void EventHistory::mergeFrom(EventHistory&& other, const RetentionPlan& plan, TimeMs now,
                             TimeMs oldestFiring) {
  for (Store& from : other.stores_) {
    Store* into = nullptr;
    for (auto& s : stores_)
      if (s.type == from.type) into = &s;
    if (into == nullptr) {
      stores_.push_back(from);  // the rows change hands as they are
    } else {
      mergeStores(*into, from);
      delete[] from.units;
    }
    from = Store{};
  }
  other.stores_.clear();
  setPlan(plan);
  prune(now, plan, oldestFiring);
}

// Interleaves the live rows of two stores of one type (same width) by (time, input order) into
// a new buffer of `into`. Rows are moved bitwise: the cells' owned strings and lists change
// hands, so `from`'s buffer must then be freed without releasing its cells.
void EventHistory::mergeStores(Store& into, Store& from) {
  const size_t stride = 1 + size_t{into.width};
  const uint32_t total = into.count + from.count;
  Unit* units = total == 0 ? nullptr : new Unit[total * stride];
  size_t a = 0, b = 0;
  for (size_t k = 0; k < total; ++k) {
    const Unit* ra = a < into.count ? rowAt(into, a) : nullptr;
    const Unit* rb = b < from.count ? rowAt(from, b) : nullptr;
    const bool takeA =
        rb == nullptr ||
        (ra != nullptr && (ra->row.time < rb->row.time ||
                           (ra->row.time == rb->row.time && ra->row.seq <= rb->row.seq)));
    std::memcpy(units + k * stride, takeA ? ra : rb, stride * sizeof(Unit));
    ++(takeA ? a : b);
  }
  delete[] into.units;
  into.units = units;
  into.capacity = total;
  into.count = total;
  into.head = 0;
}

// The live rows of `s` stamped in [from, to], as [first, second) indices.
std::pair<size_t, size_t> EventHistory::rowsIn(const Store& s, TimeMs from, TimeMs to) {
  auto firstAfter = [&](size_t lo, auto&& before) {
    size_t hi = s.count;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (before(rowAt(s, mid)->row.time))
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  };
  if (s.count == 0) return {0, 0};
  // Windows mostly reach back past the oldest row or up to the newest one (`to` is often now):
  // those ends need no search.
  const size_t begin =
      rowAt(s, 0)->row.time >= from ? 0 : firstAfter(0, [&](TimeMs t) { return t < from; });
  const size_t end = rowAt(s, s.count - 1)->row.time <= to
                         ? s.count
                         : firstAfter(begin, [&](TimeMs t) { return t <= to; });
  return {begin, end};
}

// Calls f(row, cells) for rows [begin, end) of `s`, oldest or newest first, until it returns
// false. Oldest first walks the (at most two) contiguous runs of the ring by stride.
template <typename F>
void EventHistory::walk(const Store& s, size_t begin, size_t end, bool newestFirst, F&& f) {
  if (newestFirst) {
    for (size_t i = end; i > begin; --i) {
      const Unit* row = rowAt(s, i - 1);
      if (!f(row->row, &row[1].cell)) return;
    }
    return;
  }
  const size_t stride = 1 + size_t{s.width};
  for (size_t i = begin; i < end;) {
    size_t p = s.head + i;
    if (p >= s.capacity) p -= s.capacity;
    const size_t run = std::min(end - i, s.capacity - p);
    const Unit* row = s.units + p * stride;
    for (size_t j = 0; j < run; ++j, row += stride)
      if (!f(row->row, &row[1].cell)) return;
    i += run;
  }
}

void EventHistory::visitEvents(uint32_t type, TimeMs from, TimeMs to, bool newestFirst,
                               const std::function<bool(const Event&)>& f) const {
  const Store* s = find(type);
  if (s == nullptr || plan() == nullptr) return;
  auto [begin, end] = rowsIn(*s, from, to);
  if (begin >= end) return;
  const Retention& r = plan()->of(type);
  Level level(s->type, std::max<size_t>(r.fields, r.slots.empty() ? 0 : r.slots.back() + 1));
  Event& x = level.event;
  walk(*s, begin, end, newestFirst, [&](const Row& row, const Cell* cells) {
    x.time = row.time;
    x.seq = row.seq;
    for (uint32_t k = 0; k < s->width; ++k) decode(x.fields[r.slots[k]], cells[k]);
    return f(x);
  });
}

void EventHistory::forEach(uint32_t type, TimeMs from, TimeMs to,
                           const std::function<bool(const Event&)>& f) const {
  visitEvents(type, from, to, false, f);
}

void EventHistory::forEachNewestFirst(uint32_t type, TimeMs from, TimeMs to,
                                      const std::function<bool(const Event&)>& f) const {
  visitEvents(type, from, to, true, f);
}

void EventHistory::visitRows(uint32_t type, TimeMs from, TimeMs to, bool newestFirst,
                             size_t minFields, Reads reads, RowVisitor f, void* data) const {
  const Store* s = find(type);
  if (s == nullptr || plan() == nullptr) return;
  auto [begin, end] = rowsIn(*s, from, to);
  if (begin >= end) return;
  const Retention& r = plan()->of(type);
  size_t fields = std::max<size_t>(minFields, r.fields);
  if (!r.slots.empty()) fields = std::max<size_t>(fields, r.slots.back() + 1);
  Level level(s->type, fields);
  Value* values = level.event.fields.data();
  // The cells to fill per row: those of the fields the visitor reads (building a string Value
  // is most of a row's cost), or every kept one. A field the plan does not keep stays absent.
  constexpr size_t kMaxPicked = 16;
  uint32_t picked[kMaxPicked];
  size_t count = 0;
  const bool all = reads.all || reads.count > kMaxPicked;
  if (!all) {
    for (size_t i = 0; i < reads.count; ++i) {
      auto kept = std::lower_bound(r.slots.begin(), r.slots.end(), reads.slots[i]);
      if (kept == r.slots.end() || *kept != reads.slots[i]) continue;
      const auto k = static_cast<uint32_t>(kept - r.slots.begin());
      if (std::find(picked, picked + count, k) == picked + count) picked[count++] = k;
    }
  }
  walk(*s, begin, end, newestFirst, [&](const Row& row, const Cell* cells) {
    if (all)
      for (uint32_t k = 0; k < s->width; ++k) decode(values[r.slots[k]], cells[k]);
    else
      for (size_t i = 0; i < count; ++i) decode(values[r.slots[picked[i]]], cells[picked[i]]);
    return f(data, row.time, row.seq, values);
  });
}

int64_t EventHistory::countEqual(const EqualCount& q) const {
  if (q.value == nullptr || q.value->isAbsent() || q.limit <= 0) return 0;
  const Store* s = find(q.type);
  if (s == nullptr || plan() == nullptr) return 0;
  const Retention& r = plan()->of(q.type);
  // A field the plan does not keep reads as absent, which equals nothing.
  auto kept = std::lower_bound(r.slots.begin(), r.slots.end(), q.slot);
  if (kept == r.slots.end() || *kept != q.slot) return 0;
  const size_t k = static_cast<size_t>(kept - r.slots.begin());
  auto [begin, end] = rowsIn(*s, q.from, q.to);
  const Value& v = *q.value;
  // The value as a cell, when that encoding allocates nothing and equal values of its kind
  // have equal cells (every byte: encode zero-fills): a row then matches when its cell's 16
  // bytes are the probe's. Other kinds (absent aside) are left to ops: floats (-0 == 0), long
  // strings and lists; their probe has a tag no cell has, so that no row's bytes are its.
  Cell probe{};
  const bool exact = v.kind != Kind::Float && v.kind != Kind::List &&
                     !(v.kind == Kind::String && v.s.size() > kInlineMax);
  if (exact)
    encode(probe, v);
  else
    probe.bytes[coding::kTagByte] = 0xff;
  // The tags of the cells that may still equal the value when their bytes differ from the
  // probe's, as a bit set: never absent ones; for an exact probe, not those of its own kind
  // either (for a string: any string, in place or not).
  static_assert(coding::kInlineString + kInlineMax < 64, "every tag is a bit of a word");
  const unsigned char probeTag = tagOf(probe);
  uint64_t unsettled = ~uint64_t{1};
  if (exact)
    unsettled &=
        probeTag >= kLongString ? ~uint64_t{0} >> (64 - kLongString) : ~(uint64_t{1} << probeTag);
  int64_t n = 0;
  Value tmp;
  // The rows [begin, end) as the (at most two) contiguous runs of the ring, by stride: this
  // loop is the whole cost of `count(E(same f))` over deep histories. Most rows differ from the
  // probe in their bytes and settle there; only a match is checked against the firing.
  const size_t stride = 1 + size_t{s->width};
  for (size_t i = begin; i < end;) {
    size_t p = s->head + i;
    if (p >= s->capacity) p -= s->capacity;
    const size_t run = std::min(end - i, s->capacity - p);
    const Unit* row = s->units + p * stride;
    for (const Unit* last = row + run * stride; row != last; row += stride) {
      const Cell& c = row[1 + k].cell;
      const bool match =
          sameBytes(c, probe) || (((unsettled >> tagOf(c)) & 1) != 0 && cellEquals(c, v, tmp));
      if (!match) continue;
      if (q.afterFiring && row->row.time == q.firedAt &&
          static_cast<int64_t>(row->row.seq) <= q.firedAfterSeq)
        continue;
      if (++n >= q.limit) return n;
    }
    i += run;
  }
  return n;
}

size_t EventHistory::size() const {
  size_t n = 0;
  for (const auto& s : stores_) n += s.count;
  return n;
}

size_t EventHistory::heapBytes() const {
  size_t n = stores_.heapBytes();
  for (const auto& s : stores_) {
    n += size_t{s.capacity} * (1 + size_t{s.width}) * sizeof(Unit);
    for (size_t i = 0; i < s.count; ++i) {
      const Cell* cells = &rowAt(s, i)[1].cell;
      for (uint32_t k = 0; k < s.width; ++k) n += ownedBytes(cells[k]);
    }
  }
  return n;
}

}  // namespace trig::state
