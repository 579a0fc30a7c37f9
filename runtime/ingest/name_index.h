#pragma once
// Exact lookups of short names (event names, field and trait names) on the ingest hot path: an
// open-addressing table with a hash of a few loads, instead of hashing every byte of a
// std::string. Names are compared in full, so any hash collision only costs a probe.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace trig::ingest {

// memcmp(a, b, n) == 0 without a library call for the short lengths of names: two overlapping
// loads from each side.
[[gnu::always_inline]] inline bool sameBytes(const char* a, const char* b, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&a1, a + n - 8, 8);
    std::memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  if (n >= 4 && n < 8) {
    uint32_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 4);
    std::memcpy(&b0, b, 4);
    std::memcpy(&a1, a + n - 4, 4);
    std::memcpy(&b1, b + n - 4, 4);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  if (n < 4) {
    for (size_t k = 0; k < n; ++k)
      if (a[k] != b[k]) return false;
    return true;
  }
  return std::memcmp(a, b, n) == 0;
}

class NameIndex {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  // Adds `name` -> `value`; a name already present keeps its first value (like emplace).
  void add(std::string_view name, uint32_t value) {
    if (find(name) != kNotFound) return;
    entries_.push_back({std::string(name), value});
    if (entries_.size() * 2 > slots_.size())
      rehash(std::max<size_t>(16, slots_.size() * 2));
    else
      place(static_cast<uint32_t>(entries_.size() - 1));
  }

  [[gnu::always_inline]] uint32_t find(std::string_view name) const {
    if (slots_.empty()) return kNotFound;
    const size_t mask = slots_.size() - 1;
    for (size_t h = hash(name) & mask;; h = (h + 1) & mask) {
      const uint32_t slot = slots_[h];
      if (slot == 0) return kNotFound;
      const Entry& e = entries_[slot - 1];
      if (e.name.size() == name.size() && sameBytes(e.name.data(), name.data(), name.size()))
        return e.value;
    }
  }

  size_t size() const { return entries_.size(); }

  // Mixes the length and the bytes at both ends (names tend to differ there: `product_id`,
  // `product_name`); names alike at both ends just share a probe sequence.
  static uint64_t hash(std::string_view s) {
    const size_t n = s.size();
    const char* p = s.data();
    uint64_t a = 0, b = 0;
    if (n >= 8) {
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
      uint32_t x, y;
      std::memcpy(&x, p, 4);
      std::memcpy(&y, p + n - 4, 4);
      a = x;
      b = y;
    } else if (n > 0) {
      a = static_cast<unsigned char>(p[0]) | (uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) |
          (uint64_t{static_cast<unsigned char>(p[n - 1])} << 16);
    }
    uint64_t h = (a ^ (uint64_t{n} << 56)) * 0x9E3779B97F4A7C15ULL;
    h = (h ^ std::rotl(b, 29)) * 0xC2B2AE3D27D4EB4FULL;
    return h ^ (h >> 32);
  }

 private:
  struct Entry {
    std::string name;
    uint32_t value;
  };

  void place(uint32_t entry) {
    const size_t mask = slots_.size() - 1;
    size_t h = hash(entries_[entry].name) & mask;
    while (slots_[h] != 0) h = (h + 1) & mask;
    slots_[h] = entry + 1;
  }
  void rehash(size_t size) {
    slots_.assign(size, 0);
    for (uint32_t k = 0; k < entries_.size(); ++k) place(k);
  }

  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;  // entry index + 1; 0 is an empty slot
};

}  // namespace trig::ingest
