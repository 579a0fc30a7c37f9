#pragma once
// A vector in one pointer, for lists that most customers keep empty or short: their pending idle
// evaluations, their active flows. A std::vector is 24 bytes inline and keeps its room once
// emptied; a million customers seen once each hold a million of them. Here the size and the
// capacity live in the allocation, ahead of the elements, and an empty list owns nothing: clear()
// and erasing the last element give the room back.
//
// The subset of std::vector the engine uses (iteration, push_back, erase, clear). Elements must be
// nothrow move-constructible: growing moves them. A `Prefix` (a plain value, default-initialized)
// may ride in the allocation's header: what the list needs only while it holds something.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace trig::state {

struct NoPrefix {};

template <typename T, typename Prefix = NoPrefix>
class CompactVector {
  static_assert(std::is_nothrow_move_constructible_v<T>);
  static_assert(std::is_trivially_copyable_v<Prefix>);
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  CompactVector() = default;
  ~CompactVector() { clear(); }
  CompactVector(CompactVector&& other) noexcept : block_(other.block_) { other.block_ = nullptr; }
  CompactVector& operator=(CompactVector&& other) noexcept {
    if (this != &other) {
      clear();
      block_ = other.block_;
      other.block_ = nullptr;
    }
    return *this;
  }
  CompactVector(const CompactVector&) = delete;
  CompactVector& operator=(const CompactVector&) = delete;

  size_t size() const { return block_ == nullptr ? 0 : block_->size; }
  size_t capacity() const { return block_ == nullptr ? 0 : block_->capacity; }
  bool empty() const { return size() == 0; }
  // Bytes of the allocation (0 when there is none), the allocator's own rounding aside.
  size_t heapBytes() const { return block_ == nullptr ? 0 : kHeader + capacity() * sizeof(T); }

  T* begin() { return data(); }
  T* end() { return data() + size(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size(); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T& back() { return data()[size() - 1]; }

  // The header's value; null while the list owns no allocation (it is then lost: set it again
  // after adding the first element).
  Prefix* prefix() { return block_ == nullptr ? nullptr : &block_->prefix; }
  const Prefix* prefix() const { return block_ == nullptr ? nullptr : &block_->prefix; }

  void push_back(T&& v) { emplace_back(std::move(v)); }
  void push_back(const T& v) { emplace_back(v); }
  template <typename... Args>
  T& emplace_back(Args&&... args) {
    // Built first: `args` may refer to an element that growing moves.
    T v(std::forward<Args>(args)...);
    if (size() == capacity()) reallocate(grownCapacity());
    T* slot = data() + block_->size;
    new (slot) T(std::move(v));
    ++block_->size;
    return *slot;
  }

  // Removes the element at `it` (keeping the order of the rest); the position after it. The
  // last element gone, the room is given back (end() is then null).
  T* erase(const T* it) {
    const auto i = static_cast<size_t>(it - data());
    T* d = data();
    const size_t n = size();
    std::move(d + i + 1, d + n, d + i);
    d[n - 1].~T();
    if (--block_->size == 0) {
      release();
      return nullptr;
    }
    return d + i;
  }

  // Removes every element for which `pred` holds (order kept); how many were removed.
  template <typename Pred>
  size_t eraseIf(Pred pred) {
    T* d = data();
    T* kept = std::remove_if(d, d + size(), pred);
    const auto removed = static_cast<size_t>(d + size() - kept);
    for (T* p = kept; p != d + size(); ++p) p->~T();
    if (removed > 0) {
      block_->size -= static_cast<uint32_t>(removed);
      if (block_->size == 0) release();
    }
    return removed;
  }

  // Destroys the elements and gives the room back.
  void clear() {
    if (block_ == nullptr) return;
    T* d = data();
    for (uint32_t i = 0; i < block_->size; ++i) d[i].~T();
    release();
  }

  // Room for exactly size() elements (none when empty).
  void shrink_to_fit() {
    if (block_ != nullptr && block_->size < block_->capacity) reallocate(block_->size);
  }

 private:
  // The allocation: this header, then `capacity` elements.
  struct alignas(std::max(alignof(T), alignof(uint32_t))) Block {
    uint32_t size;
    uint32_t capacity;
    [[no_unique_address]] Prefix prefix;
  };
  static constexpr size_t kHeader = sizeof(Block);

  T* data() const {
    return block_ == nullptr ? nullptr
                             : reinterpret_cast<T*>(reinterpret_cast<char*>(block_) + kHeader);
  }

  // One more up to four (most lists hold one or two elements, and every spare one is room a
  // million customers keep), then doubling.
  uint32_t grownCapacity() const {
    const size_t c = capacity();
    if (c >= std::numeric_limits<uint32_t>::max() / 2)
      throw std::length_error("trig: too many elements in a CompactVector");
    return static_cast<uint32_t>(c < 4 ? c + 1 : c * 2);
  }

  // Moves the elements to an allocation of room for `capacity` (at least size(); 0 frees it).
  void reallocate(uint32_t capacity) {
    if (capacity == 0) {
      clear();
      return;
    }
    const uint32_t n = static_cast<uint32_t>(size());
    void* raw = ::operator new(kHeader + size_t{capacity} * sizeof(T));
    auto* fresh = new (raw) Block{n, capacity, block_ == nullptr ? Prefix{} : block_->prefix};
    T* to = reinterpret_cast<T*>(static_cast<char*>(raw) + kHeader);
    T* from = data();
    for (uint32_t i = 0; i < n; ++i) {
      new (to + i) T(std::move(from[i]));
      from[i].~T();
    }
    release();
    block_ = fresh;
  }

  void release() {
    if (block_ == nullptr) return;
    block_->~Block();
    ::operator delete(static_cast<void*>(block_));
    block_ = nullptr;
  }

  Block* block_ = nullptr;
};

}  // namespace trig::state
