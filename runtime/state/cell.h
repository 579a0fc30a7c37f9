#pragma once
// A field value in 16 bytes: how the engine keeps the values it holds for later (a customer's
// remembered events, the anchor of a pending `idle` evaluation) without a Value's 88 bytes.
// A scalar in place, a string of up to 15 bytes in place, or a pointer to a longer string or a
// list the cell owns (the owner frees it with releaseCell).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "compiler/core/ops.h"
#include "compiler/core/value.h"

namespace trig::state {

struct alignas(8) Cell {
  unsigned char bytes[16];
};

namespace coding {

using Kind = Value::Kind;

// A cell's last byte is its tag: a Value::Kind for the scalars (Absent, Int, Float, Money,
// Bool, Time, Duration: the payload in the first 8 bytes) and for a List (a pointer to an owned
// Value in the first 8 bytes); kLongString for a string of more than 15 bytes (a pointer to an
// owned block: its length as a size_t, then the bytes); kInlineString + length for a string of
// up to 15 bytes, held in the first 15 bytes. Value::Kind::String itself is never a tag.
inline constexpr unsigned char kTagByte = 15;
inline constexpr unsigned char kLongString = 0x10;
inline constexpr unsigned char kInlineString = 0x20;
inline constexpr size_t kInlineMax = 15;
static_assert(static_cast<unsigned>(Kind::List) < kLongString);

inline unsigned char tagOf(const Cell& c) {
  return c.bytes[kTagByte];
}

template <typename T>
inline T payload(const Cell& c) {
  static_assert(sizeof(T) <= 8);
  T v;
  std::memcpy(&v, c.bytes, sizeof(T));
  return v;
}

template <typename T>
inline void setPayload(Cell& c, unsigned char tag, T v) {
  static_assert(sizeof(T) <= 8);
  std::memset(c.bytes, 0, sizeof(c.bytes));
  std::memcpy(c.bytes, &v, sizeof(T));
  c.bytes[kTagByte] = tag;
}

// `c` = `v`; may allocate (a long string, a list) and throw, leaving `c` untouched.
inline void encode(Cell& c, const Value& v) {
  switch (v.kind) {
    case Kind::Absent: setPayload<int64_t>(c, 0, 0); return;
    case Kind::Int:
    case Kind::Time:
    case Kind::Duration: setPayload(c, static_cast<unsigned char>(v.kind), v.i); return;
    case Kind::Float: setPayload(c, static_cast<unsigned char>(v.kind), v.f); return;
    case Kind::Money: setPayload(c, static_cast<unsigned char>(v.kind), v.m.units); return;
    case Kind::Bool:
      setPayload<unsigned char>(c, static_cast<unsigned char>(v.kind), v.b ? 1 : 0);
      return;
    case Kind::String: {
      const size_t n = v.s.size();
      if (n <= kInlineMax) {
        std::memset(c.bytes, 0, sizeof(c.bytes));
        if (n > 0) std::memcpy(c.bytes, v.s.data(), n);
        c.bytes[kTagByte] = static_cast<unsigned char>(kInlineString + n);
        return;
      }
      if (n > std::numeric_limits<size_t>::max() - sizeof(size_t)) throw std::bad_alloc();
      auto* block = static_cast<char*>(std::malloc(sizeof(size_t) + n));
      if (block == nullptr) throw std::bad_alloc();
      std::memcpy(block, &n, sizeof(size_t));
      std::memcpy(block + sizeof(size_t), v.s.data(), n);
      setPayload(c, kLongString, block);
      return;
    }
    case Kind::List: setPayload(c, static_cast<unsigned char>(Kind::List), new Value(v)); return;
  }
  setPayload<int64_t>(c, 0, 0);
}

// Frees what `c` owns (a long string, a list); `c` must not be read afterwards.
inline void releaseCell(const Cell& c) {
  unsigned char tag = tagOf(c);
  if (tag == kLongString)
    std::free(payload<char*>(c));
  else if (tag == static_cast<unsigned char>(Kind::List))
    delete payload<Value*>(c);
}

// Heap bytes a cell owns beyond its 16.
inline size_t ownedBytes(const Cell& c) {
  unsigned char tag = tagOf(c);
  if (tag == kLongString) {
    size_t n;
    std::memcpy(&n, payload<const char*>(c), sizeof(n));
    return sizeof(size_t) + n;
  }
  if (tag == static_cast<unsigned char>(Kind::List))
    return sizeof(Value) + payload<const Value*>(c)->list.capacity() * sizeof(Value);
  return 0;
}

// dst = the Value `c` holds, every member as Value's own assignment would leave it (rows are
// compared whole), without its calls for the members a scalar does not use: rows are refilled
// for every look at the history. A string of up to 15 bytes fits the reused Value's own buffer.
inline void decode(Value& dst, const Cell& c) {
  const unsigned char tag = tagOf(c);
  dst.b = false;
  dst.i = 0;
  dst.f = 0;
  dst.m = Decimal{};
  if (tag >= kInlineString || tag == kLongString) {
    dst.kind = Kind::String;
    if (tag == kLongString) {
      const char* block = payload<const char*>(c);
      size_t n;
      std::memcpy(&n, block, sizeof(n));
      dst.s.assign(block + sizeof(size_t), n);
    } else {
      dst.s.assign(reinterpret_cast<const char*>(c.bytes), tag - kInlineString);
    }
    if (!dst.list.empty()) dst.list.clear();
    return;
  }
  if (!dst.s.empty()) dst.s.clear();
  dst.kind = static_cast<Kind>(tag);
  switch (dst.kind) {
    case Kind::Int:
    case Kind::Time:
    case Kind::Duration: dst.i = payload<int64_t>(c); break;
    case Kind::Float: dst.f = payload<double>(c); break;
    case Kind::Money: dst.m.units = payload<int64_t>(c); break;
    case Kind::Bool: dst.b = payload<unsigned char>(c) != 0; break;
    case Kind::List: dst.list = payload<const Value*>(c)->list; return;
    case Kind::Absent:
    case Kind::String: break;
  }
  if (!dst.list.empty()) dst.list.clear();
}

// Whether two cells are identical, as two 8-byte words.
inline bool sameBytes(const Cell& a, const Cell& b) {
  uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a.bytes, 8);
  std::memcpy(&a1, a.bytes + 8, 8);
  std::memcpy(&b0, b.bytes, 8);
  std::memcpy(&b1, b.bytes + 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

// Whether the value `c` holds == `v` (the language's ==; `v` present), without building it
// when the kinds match: strings byte for byte, the exact scalars by payload. `tmp` holds the
// built value for the rest (floats, mixed numbers, lists), which ops decides.
inline bool cellEquals(const Cell& c, const Value& v, Value& tmp) {
  const unsigned char tag = tagOf(c);
  if (tag == 0) return false;
  if (v.kind == Kind::String) {
    if (tag >= kInlineString) {
      const size_t n = tag - kInlineString;
      return v.s.size() == n && (n == 0 || std::memcmp(c.bytes, v.s.data(), n) == 0);
    }
    if (tag == kLongString) {
      const char* block = payload<const char*>(c);
      size_t n;
      std::memcpy(&n, block, sizeof(n));
      return v.s.size() == n && std::memcmp(block + sizeof(size_t), v.s.data(), n) == 0;
    }
  } else if (tag == static_cast<unsigned char>(v.kind)) {
    switch (v.kind) {
      case Kind::Int:
      case Kind::Time:
      case Kind::Duration: return payload<int64_t>(c) == v.i;
      case Kind::Money: return payload<int64_t>(c) == v.m.units;
      case Kind::Bool: return (payload<unsigned char>(c) != 0) == v.b;
      default: break;
    }
  }
  decode(tmp, c);
  return core::compare(core::Op::Eq, tmp, v);
}

}  // namespace coding
}  // namespace trig::state
