#pragma once
// Values by string id, for millions of ids: what the engine keeps per customer.
//
// A lookup is the hot path of every event, and with a million customers each one misses the
// cache. std::unordered_map pays three dependent misses (bucket, the node before, the node);
// this table pays one for the slot, which holds 32 bits of the hash and the entry's index, and
// then the entry itself (which the caller reads next anyway). Entries live in chunks that never
// move, so pointers to values stay valid (timers and flows hold them), and ids are never removed.
// The slots are split into shards by hash: a shard that grows rehashes only its own slots (a
// single table stalled every event behind it for milliseconds at a million customers).
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace trig::engine {

// A 64-bit hash of a short string, 8 bytes at a time.
inline uint64_t hashId(std::string_view s) {
  auto mix = [](uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
  };
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ s.size();
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix(h ^ w) * 0x9e3779b97f4a7c15ULL;
  }
  if (n > 0) {
    // The last 1-7 bytes in at most two loads (overlapping when n is not 4), no memcpy call.
    uint64_t w;
    if (n >= 4) {
      uint32_t lo, hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + n - 4, 4);
      w = (uint64_t{hi} << 32) | lo;
    } else {
      w = uint64_t{static_cast<unsigned char>(p[0])} |
          uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
          uint64_t{static_cast<unsigned char>(p[n - 1])} << 16;
    }
    h = mix(h ^ w) * 0x9e3779b97f4a7c15ULL;
  }
  return mix(h);
}

template <typename T>
class IdTable {
 public:
  struct Entry {
    std::string_view id;  // the id's bytes, kept by the table (they never move)
    T value;
  };

  IdTable() = default;
  IdTable(const IdTable&) = delete;
  IdTable& operator=(const IdTable&) = delete;
  ~IdTable() {
    for (size_t c = 0; c < chunks_.size(); ++c) {
      const size_t built = c + 1 == chunks_.size() ? chunkUsed_ : chunkSize(c);
      for (size_t i = 0; i < built; ++i) chunks_[c][i].~Entry();
      ::operator delete(static_cast<void*>(chunks_[c]), std::align_val_t{alignof(Entry)});
    }
  }

  // The entry of `id`, added (with a default-constructed value) when it is new.
  Entry& findOrAdd(std::string_view id, bool* added = nullptr) {
    const uint64_t h = hashId(id);
    Shard& shard = shards_[h >> (64 - kShardBits)];
    if ((shard.used + 1) * 4 > shard.slots.size() * 3) grow(shard);
    const size_t mask = shard.slots.size() - 1;
    const auto tag = static_cast<uint32_t>(h);
    for (size_t i = tag & mask;; i = (i + 1) & mask) {
      Slot& s = shard.slots[i];
      if (s.index == kEmpty) {
        Entry* e = newEntry(id);
        s.tag = tag;
        s.index = static_cast<uint32_t>(size_ - 1);
        ++shard.used;
        if (added != nullptr) *added = true;
        return *e;
      }
      if (s.tag == tag) {
        Entry& e = at(s.index);
        if (e.id == id) {
          if (added != nullptr) *added = false;
          return e;
        }
      }
    }
  }

  // The entry of `id`, or null when it was never added (nothing is added).
  Entry* find(std::string_view id) {
    const uint64_t h = hashId(id);
    const Shard& shard = shards_[h >> (64 - kShardBits)];
    if (shard.slots.empty()) return nullptr;
    const size_t mask = shard.slots.size() - 1;
    const auto tag = static_cast<uint32_t>(h);
    // The table is at most 3/4 full: the probe meets an empty slot.
    for (size_t i = tag & mask;; i = (i + 1) & mask) {
      const Slot& s = shard.slots[i];
      if (s.index == kEmpty) return nullptr;
      if (s.tag == tag && at(s.index).id == id) return &at(s.index);
    }
  }

  size_t size() const { return size_; }

  // Calls `f(entry)` on every entry, in the order they were added.
  template <typename F>
  void forEach(F&& f) const {
    for (size_t c = 0; c < chunks_.size(); ++c) {
      const size_t built = c + 1 == chunks_.size() ? chunkUsed_ : chunkSize(c);
      for (size_t i = 0; i < built; ++i) f(static_cast<const Entry&>(chunks_[c][i]));
    }
  }

 private:
  static constexpr unsigned kShardBits = 8;
  // Chunks of entries double from kFirstChunk up to kLargestChunk, then stay that size; an
  // entry's index (the order it was added) says its chunk (chunkOf).
  static constexpr size_t kFirstChunk = 16, kLargestChunk = 4096;
  static constexpr size_t kLadderChunks = 9;  // 16, 32, ..., 4096
  static constexpr size_t kLadderEntries = kFirstChunk * ((size_t{1} << kLadderChunks) - 1);
  static_assert(kFirstChunk << (kLadderChunks - 1) == kLargestChunk);
  static constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();
  // 8 bytes: the low 32 bits of the id's hash (the probe's start, and a filter before the
  // entry is read) and the entry's index. A table of 16-byte slots (full hash and pointer) was
  // a tenth of the state of a customer who has nothing else (W3: 1M customers, each seen once).
  struct Slot {
    uint32_t tag = 0;
    uint32_t index = kEmpty;
  };
  struct Shard {
    std::vector<Slot> slots;
    size_t used = 0;
  };

  static size_t chunkSize(size_t c) { return c < kLadderChunks ? kFirstChunk << c : kLargestChunk; }

  Entry& at(uint32_t index) const {
    size_t c, offset;
    if (index < kLadderEntries) {
      c = static_cast<size_t>(std::bit_width(index / kFirstChunk + 1)) - 1;
      offset = index - kFirstChunk * ((size_t{1} << c) - 1);
    } else {
      c = kLadderChunks + (index - kLadderEntries) / kLargestChunk;
      offset = (index - kLadderEntries) % kLargestChunk;
    }
    return chunks_[c][offset];
  }

  static void grow(Shard& shard) {
    std::vector<Slot> bigger(shard.slots.empty() ? 16 : shard.slots.size() * 2);
    const size_t mask = bigger.size() - 1;
    for (const Slot& s : shard.slots) {
      if (s.index == kEmpty) continue;
      size_t i = s.tag & mask;
      while (bigger[i].index != kEmpty) i = (i + 1) & mask;
      bigger[i] = s;
    }
    shard.slots = std::move(bigger);
  }

  // Chunks are raw memory, and an entry is built when its id arrives: building (and touching)
  // a whole chunk at once stalled the event that needed it for a millisecond (4,096 customers,
  // 200 page faults), and every event arriving meanwhile queued behind it.
  Entry* newEntry(std::string_view id) {
    if (size_ == kEmpty) throw std::length_error("trig: too many customers for one engine");
    if (chunks_.empty() || chunkUsed_ == chunkSize(chunks_.size() - 1)) {
      const size_t n = chunkSize(chunks_.size());
      chunks_.push_back(
          static_cast<Entry*>(::operator new(n * sizeof(Entry), std::align_val_t{alignof(Entry)})));
      chunkUsed_ = 0;
    }
    Entry* e = new (&chunks_.back()[chunkUsed_]) Entry{keep(id), T{}};
    ++chunkUsed_;
    ++size_;
    return e;
  }

  // A copy of `id` in the table's id storage: blocks that are filled and never freed before
  // the table (ids are never removed), so the bytes never move. A std::string per entry was 32
  // bytes of every customer for ids that are mostly a few bytes long.
  std::string_view keep(std::string_view id) {
    if (id.empty()) return {};
    if (id.size() > idLeft_) {
      const size_t n = std::max(kIdBlock, id.size());
      idBlocks_.push_back(std::make_unique<char[]>(n));
      idNext_ = idBlocks_.back().get();
      idLeft_ = n;
    }
    std::memcpy(idNext_, id.data(), id.size());
    std::string_view kept(idNext_, id.size());
    idNext_ += id.size();
    idLeft_ -= id.size();
    return kept;
  }
  static constexpr size_t kIdBlock = 64 * 1024;

  std::array<Shard, size_t{1} << kShardBits> shards_;
  std::vector<Entry*> chunks_;  // raw storage; the first chunkUsed_ of the last one are built
  size_t chunkUsed_ = 0, size_ = 0;
  std::vector<std::unique_ptr<char[]>> idBlocks_;
  char* idNext_ = nullptr;
  size_t idLeft_ = 0;
};

}  // namespace trig::engine
