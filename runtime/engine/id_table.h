#pragma once
// Values by string id, for millions of ids: what the engine keeps per customer.
//
// A lookup is the hot path of every event, and with a million customers each one misses the
// cache. std::unordered_map pays three dependent misses (bucket, the node before, the node);
// this table pays one for the slot, which holds the full hash and a pointer, and then the
// entry itself (which the caller reads next anyway). Entries live in chunks that never move,
// so pointers to values stay valid (timers and flows hold them), and ids are never removed.
// The slots are split into shards by hash: a shard that grows rehashes only its own slots (a
// single table stalled every event behind it for milliseconds at a million customers).
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
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
    std::string id;
    T value;
  };

  IdTable() = default;
  IdTable(const IdTable&) = delete;
  IdTable& operator=(const IdTable&) = delete;
  ~IdTable() {
    for (size_t c = 0; c < chunks_.size(); ++c) {
      const size_t built = c + 1 == chunks_.size() ? chunkUsed_ : chunkSizes_[c];
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
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = shard.slots[i];
      if (s.entry == nullptr) {
        s.hash = h;
        s.entry = newEntry(id);
        ++shard.used;
        if (added != nullptr) *added = true;
        return *s.entry;
      }
      if (s.hash == h && s.entry->id == id) {
        if (added != nullptr) *added = false;
        return *s.entry;
      }
    }
  }

  // The entry of `id`, or null when it was never added (nothing is added).
  Entry* find(std::string_view id) {
    const uint64_t h = hashId(id);
    const Shard& shard = shards_[h >> (64 - kShardBits)];
    if (shard.slots.empty()) return nullptr;
    const size_t mask = shard.slots.size() - 1;
    // The table is at most 3/4 full: the probe meets an empty slot.
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = shard.slots[i];
      if (s.entry == nullptr) return nullptr;
      if (s.hash == h && s.entry->id == id) return s.entry;
    }
  }

  size_t size() const { return size_; }

  // Calls `f(entry)` on every entry, in the order they were added.
  template <typename F>
  void forEach(F&& f) const {
    for (size_t c = 0; c < chunks_.size(); ++c) {
      const size_t built = c + 1 == chunks_.size() ? chunkUsed_ : chunkSizes_[c];
      for (size_t i = 0; i < built; ++i) f(static_cast<const Entry&>(chunks_[c][i]));
    }
  }

 private:
  static constexpr unsigned kShardBits = 8;
  static constexpr size_t kFirstChunk = 16, kLargestChunk = 4096;
  struct Slot {
    uint64_t hash = 0;
    Entry* entry = nullptr;  // null: empty
  };
  struct Shard {
    std::vector<Slot> slots;
    size_t used = 0;
  };

  static void grow(Shard& shard) {
    std::vector<Slot> bigger(shard.slots.empty() ? 16 : shard.slots.size() * 2);
    const size_t mask = bigger.size() - 1;
    for (const Slot& s : shard.slots) {
      if (s.entry == nullptr) continue;
      size_t i = s.hash & mask;
      while (bigger[i].entry != nullptr) i = (i + 1) & mask;
      bigger[i] = s;
    }
    shard.slots = std::move(bigger);
  }

  // Chunks are raw memory, and an entry is built when its id arrives: building (and touching)
  // a whole chunk at once stalled the event that needed it for a millisecond (4,096 customers,
  // 200 page faults), and every event arriving meanwhile queued behind it.
  Entry* newEntry(std::string_view id) {
    if (chunks_.empty() || chunkUsed_ == chunkSizes_.back()) {
      const size_t n =
          chunks_.empty() ? kFirstChunk : std::min(chunkSizes_.back() * 2, kLargestChunk);
      chunks_.push_back(
          static_cast<Entry*>(::operator new(n * sizeof(Entry), std::align_val_t{alignof(Entry)})));
      chunkSizes_.push_back(n);
      chunkUsed_ = 0;
    }
    Entry* e = new (&chunks_.back()[chunkUsed_]) Entry{std::string(id), T{}};
    ++chunkUsed_;
    ++size_;
    return e;
  }

  std::array<Shard, size_t{1} << kShardBits> shards_;
  std::vector<Entry*> chunks_;  // raw storage; the first chunkUsed_ of the last one are built
  std::vector<size_t> chunkSizes_;
  size_t chunkUsed_ = 0, size_ = 0;
};

}  // namespace trig::engine
