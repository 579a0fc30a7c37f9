#include "runtime/state/kept_event.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace trig::state {

using coding::decode;
using coding::encode;
using coding::kInlineMax;
using coding::kInlineString;
using coding::kLongString;
using coding::ownedBytes;
using coding::payload;
using coding::releaseCell;
using coding::tagOf;
using Kind = Value::Kind;

KeptEvent::KeptEvent(const Event& e) {
  uint32_t count = 0;
  for (const Value& v : e.fields) count += v.isAbsent() ? 0 : 1;
  auto* block = static_cast<Block*>(std::malloc(bytesFor(count)));
  if (block == nullptr) throw std::bad_alloc();
  block->time = e.time;
  block->seq = e.seq;
  block->refs = 1;
  block->type = e.type;
  block->width = static_cast<uint32_t>(e.fields.size());
  block->count = 0;  // raised cell by cell, so that a throw frees exactly the cells made
  block->kind = e.kind;
  block_ = block;
  auto* cellsOut = reinterpret_cast<Cell*>(block + 1);
  auto* slotsOut = reinterpret_cast<uint32_t*>(cellsOut + count);
  try {
    for (uint32_t slot = 0; slot < block->width; ++slot) {
      const Value& v = e.fields[slot];
      if (v.isAbsent()) continue;
      encode(cellsOut[block->count], v);  // may throw (a long string, a list)
      slotsOut[block->count] = slot;
      ++block->count;
    }
  } catch (...) {
    release();  // the cells made so far, and the block
    throw;
  }
}

void KeptEvent::release() noexcept {
  if (block_ == nullptr || --block_->refs > 0) return;
  const Cell* c = cells();
  for (uint32_t k = 0; k < block_->count; ++k) releaseCell(c[k]);
  std::free(block_);
  block_ = nullptr;
}

namespace {

// Whether `c` holds `v` (present) exactly: the same kind and the same payload, bit for bit (a
// float's bits, so -0 and NaN are themselves). Lists are never taken as the same (no sharing).
bool identical(const Cell& c, const Value& v) {
  const unsigned char tag = tagOf(c);
  switch (v.kind) {
    case Kind::String: {
      const size_t n = v.s.size();
      if (n <= kInlineMax)
        return size_t{tag} == kInlineString + n &&
               (n == 0 || std::memcmp(c.bytes, v.s.data(), n) == 0);
      if (tag != kLongString) return false;
      const char* block = payload<const char*>(c);
      size_t m;
      std::memcpy(&m, block, sizeof(m));
      return m == n && std::memcmp(block + sizeof(size_t), v.s.data(), n) == 0;
    }
    case Kind::Int:
    case Kind::Time:
    case Kind::Duration:
      return tag == static_cast<unsigned char>(v.kind) && payload<int64_t>(c) == v.i;
    case Kind::Float: {
      if (tag != static_cast<unsigned char>(v.kind)) return false;
      const auto bits = payload<uint64_t>(c);
      uint64_t mine;
      std::memcpy(&mine, &v.f, sizeof(mine));
      return bits == mine;
    }
    case Kind::Money:
      return tag == static_cast<unsigned char>(v.kind) && payload<int64_t>(c) == v.m.units;
    case Kind::Bool:
      return tag == static_cast<unsigned char>(v.kind) && (payload<unsigned char>(c) != 0) == v.b;
    case Kind::Absent:
    case Kind::List: return false;
  }
  return false;
}

}  // namespace

bool KeptEvent::holds(const Event& e) const {
  if (block_ == nullptr || block_->kind != e.kind || block_->type != e.type ||
      block_->time != e.time || block_->seq != e.seq || block_->width != e.fields.size())
    return false;
  const Cell* c = cells();
  const uint32_t* s = slots();
  uint32_t k = 0;
  for (uint32_t slot = 0; slot < block_->width; ++slot) {
    const Value& v = e.fields[slot];
    if (v.isAbsent()) continue;
    if (k == block_->count || s[k] != slot || !identical(c[k], v)) return false;
    ++k;
  }
  return k == block_->count;
}

void KeptEvent::unpackInto(Event& e) const {
  e.kind = block_->kind;
  e.type = block_->type;
  e.time = block_->time;
  e.seq = block_->seq;
  // One pass over the fields, each decoded into (or emptied in) place: a string keeps its room.
  e.fields.resize(block_->width);
  const Cell* c = cells();
  const uint32_t* s = slots();
  uint32_t k = 0;
  for (uint32_t slot = 0; slot < block_->width; ++slot) {
    Value& v = e.fields[slot];
    if (k < block_->count && s[k] == slot)
      decode(v, c[k++]);
    else
      v = Value{};
  }
}

Event KeptEvent::unpack() const {
  Event e;
  unpackInto(e);
  return e;
}

size_t KeptEvent::heapBytes() const {
  if (block_ == nullptr) return 0;
  size_t n = bytesFor(block_->count);
  const Cell* c = cells();
  for (uint32_t k = 0; k < block_->count; ++k) n += ownedBytes(c[k]);
  return n;
}

}  // namespace trig::state
