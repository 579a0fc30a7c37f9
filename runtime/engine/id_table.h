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
//
// The entry is the value itself, which holds its id as a `TableId` member named `id` (set by the
// table): the id is stored once, in 8 bytes of the entry.
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

#include <fmt/format.h>

namespace trig::engine {

// An id an IdTable keeps, as its entry holds it, in 8 bytes (a std::string_view is 16, and a
// std::string 32). Reads as a std::string_view. An id of up to 7 bytes is held in those 8
// bytes (the first says its length), so that comparing it reads only the entry: an event of a
// known customer with such an id misses the cache on the table's slot and the entry, not also
// on the id's bytes elsewhere (W3: 15% of the lookup's samples). A longer id is a pointer to
// its length (4 bytes) followed by its bytes, in the table's id storage.
//
// A short id lives in the TableId itself: it is not copyable, and the entry holding it never
// moves (see IdTable), so a view of it lasts as long as the table.
class TableId {
 public:
  static constexpr size_t kInlineMax = 7;

  TableId() = default;
  TableId(const TableId&) = delete;
  TableId& operator=(const TableId&) = delete;
  ~TableId() = default;

  std::string_view view() const {
    const auto first = static_cast<unsigned char>(bytes_[0]);
    if ((first & 1u) != 0) return {bytes_ + 1, size_t{first} >> 1};
    const char* p;
    std::memcpy(&p, bytes_, sizeof p);
    if (p == nullptr) return {};
    uint32_t n;
    std::memcpy(&n, p, sizeof n);
    return {p + sizeof n, n};
  }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  bool operator==(std::string_view s) const { return view() == s; }
  bool operator==(const TableId& o) const { return view() == o.view(); }

 private:
  template <typename T>
  friend class IdTable;
  // The pointer's first byte is its lowest (its low bit 0: the table keeps ids at even
  // addresses); an inline id's first byte is its length times 2, plus 1.
  static_assert(std::endian::native == std::endian::little);
  static_assert(sizeof(const char*) == 8);
  void setInline(std::string_view id) {
    std::memset(bytes_, 0, sizeof bytes_);
    bytes_[0] = static_cast<char>((id.size() << 1) | 1u);
    if (!id.empty()) std::memcpy(bytes_ + 1, id.data(), id.size());
  }
  void setStored(const char* p) { std::memcpy(bytes_, &p, sizeof p); }

  alignas(8) char bytes_[8] = {};  // all zero: the empty id
};

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

// T: default-constructible, with a public member `TableId id`.
template <typename T>
class IdTable {
 public:
  using Entry = T;

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
        if (e.id.view() == id) {
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
      if (s.tag == tag && at(s.index).id.view() == id) return &at(s.index);
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
    const char* stored = id.size() > TableId::kInlineMax ? keep(id) : nullptr;
    Entry* e = new (&chunks_.back()[chunkUsed_]) Entry{};
    if (stored != nullptr)
      e->id.setStored(stored);
    else if (!id.empty())
      e->id.setInline(id);
    ++chunkUsed_;
    ++size_;
    return e;
  }

  // A copy of `id` (longer than TableId::kInlineMax) in the table's id storage, its length
  // first, at an even address: blocks that are filled and never freed before the table (ids are
  // never removed), so the bytes never move. A std::string per entry was 32 bytes of every
  // customer for ids that are mostly a few bytes long.
  const char* keep(std::string_view id) {
    if (id.size() > std::numeric_limits<uint32_t>::max() - sizeof(uint32_t) - 1)
      throw std::length_error("trig: a customer id longer than 4 GiB");
    const size_t need = (sizeof(uint32_t) + id.size() + 1) & ~size_t{1};
    if (need > idLeft_) {
      const size_t n = std::max(kIdBlock, need);
      idBlocks_.push_back(std::make_unique<char[]>(n));
      idNext_ = idBlocks_.back().get();
      idLeft_ = n;
    }
    const auto len = static_cast<uint32_t>(id.size());
    std::memcpy(idNext_, &len, sizeof len);
    std::memcpy(idNext_ + sizeof len, id.data(), id.size());
    const char* kept = idNext_;
    idNext_ += need;
    idLeft_ -= need;
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

template <>
struct fmt::formatter<trig::engine::TableId> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const trig::engine::TableId& id, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(id.view(), ctx);
  }
};
