#pragma once
// Pending timers ordered by (due time, scheduling order): idle evaluations, flow steps, deferred
// sends and arbitration decisions. An indexed 4-ary min-heap: schedule, cancel and pop are
// O(log n), cancelling removes the entry at once, and the memory is one small entry per pending
// timer, so millions of pending timers stay cheap.
//
// Lanes: timers that arrive in due-time order (an idle rule's: the event time plus the rule's
// one idle period) may be scheduled on a lane, a FIFO of its own. Only a lane's first timer is
// in the heap; when it leaves, the lane's next one takes its place. The heap then holds a few
// entries instead of every pending evaluation (W3: 300,000 at once), and schedule and pop are
// O(1) plus a heap of the lanes. A timer due before its lane's last one goes to the heap as if
// it had no lane, so the order out is the same (due time, then scheduling order) either way.
// A timer cancelled behind its lane's first one stays there, dead, until the lane reaches it:
// a lane holds at most the timers scheduled on it within one period of its due times.
#include <cstdint>
#include <deque>
#include <limits>
#include <stdexcept>
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

// No lane: the timer goes to the heap.
inline constexpr uint32_t kNoLane = std::numeric_limits<uint32_t>::max();

template <typename Payload>
class TimerQueue {
 public:
  // `lane`: kNoLane, or a small number (lanes are made up to it) naming a stream of timers that
  // are mostly scheduled in due-time order (see above).
  TimerHandle schedule(TimeMs at, Payload payload, uint32_t lane = kNoLane) {
    uint32_t slot;
    if (!freeSlots_.empty()) {
      slot = freeSlots_.back();
      freeSlots_.pop_back();
    } else {
      if (slots_.size() >= kInLane) throw std::length_error("trig: too many pending timers");
      slot = static_cast<uint32_t>(slots_.size());
      slots_.push_back(Slot{});
    }
    Slot& s = slots_[slot];
    s.payload = std::move(payload);
    const uint64_t seq = nextSeq_++;
    ++size_;
    if (lane != kNoLane) {
      if (lane >= lanes_.size()) lanes_.resize(size_t{lane} + 1);
      std::deque<LaneEntry>& fifo = lanes_[lane];
      if (fifo.empty()) {
        fifo.push_back(LaneEntry{at, seq, slot, s.generation});
        push(Entry{at, seq, slot, lane});
        return TimerHandle{slot, s.generation};
      }
      if (at >= fifo.back().at) {
        fifo.push_back(LaneEntry{at, seq, slot, s.generation});
        s.pos = kInLane;
        return TimerHandle{slot, s.generation};
      }
      // Due before the lane's last: the heap keeps the order.
    }
    push(Entry{at, seq, slot, kNoLane});
    return TimerHandle{slot, s.generation};
  }

  // Removes the timer; false when it already fired or was cancelled. Resets the handle.
  bool cancel(TimerHandle& h) {
    bool ok = isPending(h);
    if (ok) {
      Slot& s = slots_[h.slot];
      if (s.pos == kInLane) {
        release(h.slot);  // its lane entry is dead now, and skipped when the lane reaches it
      } else {
        const uint32_t lane = heap_[s.pos].lane;
        removeAt(s.pos);
        if (lane != kNoLane) nextOfLane(lane);
      }
    }
    h = TimerHandle{};
    return ok;
  }

  bool isPending(const TimerHandle& h) const {
    return h.valid() && h.slot < slots_.size() && slots_[h.slot].pos != kFree &&
           slots_[h.slot].generation == h.generation;
  }

  // For prefetching what the timers about to fire will read (W3's firings missed the cache on
  // each customer): asks the cache for the slot of the timer `ahead` places behind the first of
  // `lane`, and calls `f(payload)` for the one `behind` places back when it is still pending.
  // Changes nothing.
  template <typename F>
  void lookAhead(uint32_t lane, size_t ahead, size_t behind, F&& f) const {
    if (lane >= lanes_.size()) return;
    const std::deque<LaneEntry>& fifo = lanes_[lane];
    if (ahead < fifo.size()) __builtin_prefetch(&slots_[fifo[ahead].slot]);
    if (behind < fifo.size()) {
      const LaneEntry& e = fifo[behind];
      const Slot& s = slots_[e.slot];
      if (s.generation == e.generation) f(s.payload);
    }
  }

  // A lane's first timer, and every timer that is not behind one, is in the heap: the heap is
  // empty when nothing is pending.
  bool empty() const { return heap_.empty(); }
  size_t size() const { return size_; }
  // Due time of the earliest timer; max() when none is pending.
  TimeMs nextTime() const {
    return heap_.empty() ? std::numeric_limits<TimeMs>::max() : heap_[0].at;
  }

  // Removes the earliest timer (ties: scheduled first) and returns its payload, and in `lane`
  // its lane (kNoLane: none). Not empty().
  Payload pop(TimeMs* at = nullptr, uint32_t* laneOut = nullptr) {
    if (at != nullptr) *at = heap_[0].at;
    const uint32_t slot = heap_[0].slot;
    const uint32_t lane = heap_[0].lane;
    if (laneOut != nullptr) *laneOut = lane;
    Payload p = std::move(slots_[slot].payload);
    removeAt(0);
    if (lane != kNoLane) nextOfLane(lane);
    return p;
  }

 private:
  static constexpr size_t kArity = 4;
  struct Entry {
    TimeMs at;
    uint64_t seq;
    uint32_t slot;
    uint32_t lane;  // kNoLane, or the lane whose first timer this is
  };
  // A timer waiting in its lane: dead when its slot's generation moved on (cancelled).
  struct LaneEntry {
    TimeMs at;
    uint64_t seq;
    uint32_t slot;
    uint32_t generation;
  };
  // A slot's `pos` while its timer is not pending, and while it waits behind its lane's first.
  static constexpr uint32_t kFree = std::numeric_limits<uint32_t>::max();
  static constexpr uint32_t kInLane = kFree - 1;
  struct Slot {
    Payload payload{};
    uint32_t pos = kFree;  // its entry's index in heap_; kInLane; kFree: not pending
    uint32_t generation = 0;
  };

  void push(Entry e) {
    heap_.push_back(e);
    siftUp(heap_.size() - 1);
  }

  // The lane's first timer left the heap (fired or cancelled): drops it and the dead behind
  // it, and puts the next live one in the heap.
  void nextOfLane(uint32_t lane) {
    std::deque<LaneEntry>& fifo = lanes_[lane];
    fifo.pop_front();
    while (!fifo.empty() && slots_[fifo.front().slot].generation != fifo.front().generation)
      fifo.pop_front();
    if (fifo.empty()) return;
    const LaneEntry& f = fifo.front();
    push(Entry{f.at, f.seq, f.slot, lane});
  }

  // The slot is free again: its timer fired or was cancelled.
  void release(uint32_t slot) {
    Slot& s = slots_[slot];
    s.pos = kFree;
    ++s.generation;
    s.payload = Payload{};
    freeSlots_.push_back(slot);
    --size_;
  }

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
    release(heap_[i].slot);
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
  std::vector<std::deque<LaneEntry>> lanes_;
  size_t size_ = 0;
  uint64_t nextSeq_ = 0;
};

}  // namespace trig::timers
