#pragma once
// An event kept for later as an anchor, by a pending `idle` evaluation or by a flow whose later
// steps read it: what the rule's condition and templates read of it when the timer fires or the
// step runs — kind, type, time, input order and the fields that were sent — in one allocation
// of 16-byte cells (cell.h) instead of Values of 88 bytes. A million pending evaluations hold a
// million anchors, so this is most of their state: an anchor of six fields is 152 bytes here,
// about 600 as a vector of (slot, Value) pairs.
//
// Copies share the allocation (the anchor never changes once kept): the rules one event arms
// keep it once. The count is not atomic: an engine's state belongs to one thread.
#include <cstddef>
#include <cstdint>

#include "compiler/core/event.h"
#include "runtime/state/cell.h"

namespace trig::state {

class KeptEvent {
 public:
  KeptEvent() = default;
  // The event's kind, type, time, input order and present fields (no identity strings, no
  // source: Engine's anchor copies never had them).
  explicit KeptEvent(const Event& e);
  KeptEvent(const KeptEvent& other) noexcept : block_(other.block_) {
    if (block_ != nullptr) ++block_->refs;
  }
  KeptEvent(KeptEvent&& other) noexcept : block_(other.block_) { other.block_ = nullptr; }
  KeptEvent& operator=(const KeptEvent& other) noexcept {
    KeptEvent copy(other);
    swap(copy);
    return *this;
  }
  KeptEvent& operator=(KeptEvent&& other) noexcept {
    KeptEvent moved(static_cast<KeptEvent&&>(other));
    swap(moved);
    return *this;
  }
  ~KeptEvent() { release(); }

  bool empty() const { return block_ == nullptr; }
  // Not empty().
  Event::Kind kind() const { return block_->kind; }
  uint32_t type() const { return block_->type; }
  TimeMs time() const { return block_->time; }
  uint64_t seq() const { return block_->seq; }

  // Whether this holds `e` exactly (kind, type, time, input order, and every field the same
  // value of the same kind, bit for bit): then a copy of this may stand for a keep of `e`.
  bool holds(const Event& e) const;

  // The event again into `e`, its buffers reused (fields past the kept width are dropped, as
  // an unpacked copy never had them); identity strings, source and traits are left as they
  // were. Not empty().
  void unpackInto(Event& e) const;
  // The event again, as Engine's anchor copies are: no identity strings, no source.
  Event unpack() const;

  // Bytes of the shared allocation and what its cells own (long strings, lists); 0 when empty.
  size_t heapBytes() const;
  // The shared allocation's address, for a prefetch (null when empty).
  const void* address() const { return block_; }
  // How many KeptEvents share the allocation (0 when empty).
  uint32_t shares() const { return block_ == nullptr ? 0 : block_->refs; }

  void swap(KeptEvent& other) noexcept {
    Block* b = block_;
    block_ = other.block_;
    other.block_ = b;
  }

 private:
  // The allocation: this header, `count` cells, then `count` slots (uint32, ascending).
  struct Block {
    TimeMs time;
    uint64_t seq;
    uint32_t refs;
    uint32_t type;
    uint32_t width;  // the Event's fields.size()
    uint32_t count;  // present fields
    Event::Kind kind;
  };
  static_assert(sizeof(Block) % alignof(Cell) == 0);
  static size_t bytesFor(uint32_t count) {
    return sizeof(Block) + count * (sizeof(Cell) + sizeof(uint32_t));
  }
  const Cell* cells() const { return reinterpret_cast<const Cell*>(block_ + 1); }
  const uint32_t* slots() const {
    return reinterpret_cast<const uint32_t*>(cells() + block_->count);
  }
  void release() noexcept;

  Block* block_ = nullptr;
};

}  // namespace trig::state
