#pragma once
// Pending timers ordered by (due time, scheduling order): idle evaluations, flow steps, deferred
// sends and arbitration decisions. An indexed 4-ary min-heap: schedule, cancel and pop are
// O(log n), cancelling removes the entry at once (no tombstones piling up), and the memory is
// one small entry per pending timer, so millions of pending timers stay cheap.
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "compiler/support/time.h"

namespace trig::timers {

// Names one scheduled timer. A handle goes stale when its timer fires or is cancelled; using a
// stale handle is harmless (cancel returns false).
struct TimerHandle {
  uint32_t slot = std::numeric_limits<uint32_t>::max();
  uint32_t generation = 0;
  bool valid() const { return slot != std::numeric_limits<uint32_t>::max(); }
};

template <typename Payload>
class TimerQueue {
 public:
  TimerHandle schedule(TimeMs at, Payload payload) {
    uint32_t slot;
    if (!freeSlots_.empty()) {
      slot = freeSlots_.back();
      freeSlots_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.push_back(Slot{});
    }
    Slot& s = slots_[slot];
    s.payload = std::move(payload);
    heap_.push_back(Entry{at, nextSeq_++, slot});
    s.pos = static_cast<uint32_t>(heap_.size() - 1);
    siftUp(s.pos);
    return TimerHandle{slot, s.generation};
  }

  // Removes the timer; false when it already fired or was cancelled. Resets the handle.
  bool cancel(TimerHandle& h) {
    bool ok = isPending(h);
    if (ok) removeAt(slots_[h.slot].pos);
    h = TimerHandle{};
    return ok;
  }

  bool isPending(const TimerHandle& h) const {
    return h.valid() && h.slot < slots_.size() && slots_[h.slot].pos != kFree &&
           slots_[h.slot].generation == h.generation;
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // Due time of the earliest timer; max() when none is pending.
  TimeMs nextTime() const {
    return heap_.empty() ? std::numeric_limits<TimeMs>::max() : heap_[0].at;
  }
  // The due time of a pending timer.
  TimeMs dueTime(const TimerHandle& h) const { return heap_[slots_[h.slot].pos].at; }

  // Removes the earliest timer (ties: scheduled first) and returns its payload. Not empty().
  Payload pop(TimeMs* at = nullptr) {
    if (at != nullptr) *at = heap_[0].at;
    uint32_t slot = heap_[0].slot;
    Payload p = std::move(slots_[slot].payload);
    removeAt(0);
    return p;
  }

 private:
  static constexpr size_t kArity = 4;
  struct Entry {
    TimeMs at;
    uint64_t seq;
    uint32_t slot;
  };
  // A slot's `pos` while its timer is not pending.
  static constexpr uint32_t kFree = std::numeric_limits<uint32_t>::max();
  struct Slot {
    Payload payload{};
    uint32_t pos = kFree;  // its entry's index in heap_; kFree: not pending
    uint32_t generation = 0;
  };

  static bool before(const Entry& a, const Entry& b) {
    return a.at != b.at ? a.at < b.at : a.seq < b.seq;
  }

  void place(size_t i, Entry e) {
    heap_[i] = e;
    slots_[e.slot].pos = static_cast<uint32_t>(i);
  }

  void siftUp(size_t i) {
    Entry e = heap_[i];
    while (i > 0) {
      size_t parent = (i - 1) / kArity;
      if (!before(e, heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, e);
  }

  void siftDown(size_t i) {
    Entry e = heap_[i];
    const size_t n = heap_.size();
    for (;;) {
      size_t first = i * kArity + 1;
      if (first >= n) break;
      size_t best = first;
      for (size_t c = first + 1; c < first + kArity && c < n; ++c)
        if (before(heap_[c], heap_[best])) best = c;
      if (!before(heap_[best], e)) break;
      place(i, heap_[best]);
      i = best;
    }
    place(i, e);
  }

  void removeAt(size_t i) {
    uint32_t slot = heap_[i].slot;
    Slot& s = slots_[slot];
    s.pos = kFree;
    ++s.generation;
    s.payload = Payload{};
    freeSlots_.push_back(slot);
    Entry lastEntry = heap_.back();
    heap_.pop_back();
    if (i < heap_.size()) {
      place(i, lastEntry);
      if (i > 0 && before(heap_[i], heap_[(i - 1) / kArity]))
        siftUp(i);
      else
        siftDown(i);
    }
  }

  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> freeSlots_;
  uint64_t nextSeq_ = 0;
};

}  // namespace trig::timers
