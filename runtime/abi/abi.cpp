// The extern "C" helpers that JIT-compiled predicates call (see abi.h). Each helper that can
// meet a C++ exception (allocation, a History implementation) catches it here, at the edge of
// the JIT frames, and records it in the context for the caller of the compiled code to rethrow.
#include "runtime/abi/abi.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/core/aggregate.h"
#include "compiler/core/env.h"
#include "compiler/core/ops.h"

namespace trig::abi {
namespace {

__extension__ typedef __int128 Int128;  // __extension__: no -Wpedantic noise

std::string_view view(const char* p, uint64_t n) {
  return n == 0 ? std::string_view{} : std::string_view(p, n);
}

void fail(Ctx* ctx) noexcept {
  ctx->failed = 1;
  auto* slot = static_cast<std::exception_ptr*>(ctx->error);
  if (slot != nullptr && !*slot) *slot = std::current_exception();
}

// A present non-string, non-list Value as a scalar; false otherwise.
bool toScalar(const Value& v, Scalar* out) {
  using K = Value::Kind;
  out->kind = static_cast<uint8_t>(v.kind);
  switch (v.kind) {
    case K::Int:
    case K::Time:
    case K::Duration: out->i = v.i; return true;
    case K::Money: out->i = v.m.units; return true;
    case K::Float: out->f = v.f; return true;
    case K::Bool: out->b = v.b; return true;
    case K::String:
    case K::List:
    case K::Absent: break;
  }
  return false;
}

constexpr uint32_t kNoSlot = UINT32_MAX;

// The fields a history row must have for compiled code to read it without bounds checks:
// its type's layout, and `slot` when a helper reads that one.
size_t rowWidth(const Ctx* ctx, uint32_t type, uint32_t slot) {
  size_t need = type < ctx->eventTypes ? ctx->fieldCounts[type] : 0;
  return slot == kNoSlot ? need : std::max<size_t>(need, size_t{slot} + 1);
}

// Calls `f(fields)` for each event of `type` in [from, to] (newest first if asked) that is not
// excluded by the firing (see trig_abi_exists) and passes `filter`, until f returns false or a
// filter call failed. Rows come from History::visitRows: no Event and no std::function per
// row; `fields` has at least rowWidth(ctx, type, slot) Values, of which the history fills those
// the filter reads (`reads`, see trig_abi_exists) and `slot` (kNoSlot: none), which f reads.
template <typename F>
void forEachMatch(Ctx* ctx, uint32_t type, int64_t from, int64_t to, EntryFn filter, uint32_t which,
                  const uint32_t* reads, uint32_t sinceFiring, bool newestFirst, uint32_t slot,
                  F&& f) {
  if (ctx->history == nullptr || from > to) return;
  struct Walk {
    Ctx* ctx;
    EntryFn filter;
    uint32_t which;
    bool sinceFiring;
    F* f;
  } walk{ctx, filter, which, sinceFiring != 0, &f};
  History::RowVisitor visit = [](void* data, TimeMs time, uint64_t seq,
                                 const Value* fields) -> bool {
    const Walk& w = *static_cast<const Walk*>(data);
    if (w.sinceFiring && time == w.ctx->firedAt &&
        static_cast<int64_t>(seq) <= w.ctx->firedAfterSeq)
      return true;
    if (w.filter != nullptr) {
      bool match = w.filter(w.ctx, w.which, fields, nullptr, nullptr) != 0;
      if (w.ctx->failed) return false;
      if (!match) return true;
    }
    return (*w.f)(fields);
  };
  // The filter's reads and the helper's slot, in one list (a long one: every field).
  constexpr uint32_t kMaxReads = 16;
  uint32_t list[kMaxReads + 1];
  History::Reads want{list, 0, false};
  if (filter != nullptr && reads == nullptr) {
    want.all = true;
  } else {
    const uint32_t filterReads = filter != nullptr ? reads[0] : 0;
    if (filterReads >= kMaxReads) {
      want.all = true;
    } else {
      for (uint32_t i = 0; i < filterReads; ++i) list[want.count++] = reads[1 + i];
      if (slot != kNoSlot) list[want.count++] = slot;
    }
  }
  ctx->history->visitRows(type, from, to, newestFirst, rowWidth(ctx, type, slot), want, visit,
                          &walk);
}

}  // namespace

Value toValue(const Scalar& x) {
  using K = Value::Kind;
  switch (static_cast<K>(x.kind)) {
    case K::String: return Value::str(std::string(view(x.p, x.n)));
    case K::Int: return Value::integer(x.i);
    case K::Float: return Value::flt(x.f);
    case K::Money: return Value::money(Decimal{x.i});
    case K::Bool: return Value::boolean(x.b != 0);
    case K::Time: return Value::time(x.i);
    case K::Duration: return Value::duration(x.i);
    case K::List:
    case K::Absent: break;
  }
  return Value::absent();
}

std::optional<StringLayout> stringLayout() {
  static const std::optional<StringLayout> layout = []() -> std::optional<StringLayout> {
    // The common layout (libstdc++, libc++'s alternate ABI aside): pointer first, then length.
    // Verified on a short (in-place) and a long (heap) string of different lengths.
    const StringLayout candidate{0, sizeof(const char*)};
    if (sizeof(std::string) < candidate.size + sizeof(size_t)) return std::nullopt;
    for (const std::string& probe : {std::string("ab"), std::string(100, 'x')}) {
      const char* base = reinterpret_cast<const char*>(&probe);
      const char* data = nullptr;
      size_t size = 0;
      std::memcpy(&data, base + candidate.data, sizeof(data));
      std::memcpy(&size, base + candidate.size, sizeof(size));
      if (data != probe.data() || size != probe.size()) return std::nullopt;
    }
    return candidate;
  }();
  return layout;
}

const HelperSymbol* helperSymbols(size_t* count) {
  static const HelperSymbol symbols[] = {
      {"trig_abi_str_view", reinterpret_cast<void*>(&trig_abi_str_view)},
      {"trig_abi_str_cmp", reinterpret_cast<void*>(&trig_abi_str_cmp)},
      {"trig_abi_str_contains", reinterpret_cast<void*>(&trig_abi_str_contains)},
      {"trig_abi_list_op", reinterpret_cast<void*>(&trig_abi_list_op)},
      {"trig_abi_in_i64", reinterpret_cast<void*>(&trig_abi_in_i64)},
      {"trig_abi_in_f64", reinterpret_cast<void*>(&trig_abi_in_f64)},
      {"trig_abi_in_str", reinterpret_cast<void*>(&trig_abi_in_str)},
      {"trig_abi_value_cmp", reinterpret_cast<void*>(&trig_abi_value_cmp)},
      {"trig_abi_arith", reinterpret_cast<void*>(&trig_abi_arith)},
      {"trig_abi_exists", reinterpret_cast<void*>(&trig_abi_exists)},
      {"trig_abi_count", reinterpret_cast<void*>(&trig_abi_count)},
      {"trig_abi_count_equal", reinterpret_cast<void*>(&trig_abi_count_equal)},
      {"trig_abi_aggregate", reinterpret_cast<void*>(&trig_abi_aggregate)},
      {"trig_abi_last", reinterpret_cast<void*>(&trig_abi_last)},
  };
  *count = sizeof(symbols) / sizeof(symbols[0]);
  return symbols;
}

}  // namespace trig::abi

using trig::Value;
using trig::abi::Ctx;
using trig::abi::EntryFn;
using trig::abi::Scalar;
using trig::abi::Str;

extern "C" {

void trig_abi_str_view(const Value* v, Str* out) {
  if (v != nullptr && v->kind == Value::Kind::String) {
    out->p = v->s.data();
    out->n = v->s.size();
  } else {
    out->p = "";
    out->n = 0;
  }
}

int32_t trig_abi_str_cmp(const char* a, uint64_t an, const char* b, uint64_t bn) {
  int c = trig::abi::view(a, an).compare(trig::abi::view(b, bn));
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

uint8_t trig_abi_str_contains(const char* a, uint64_t an, const char* b, uint64_t bn) {
  return trig::abi::view(a, an).find(trig::abi::view(b, bn)) != std::string_view::npos;
}

uint8_t trig_abi_list_op(uint32_t op, const Value* list, const Scalar* x) {
  try {
    Value item = trig::abi::toValue(*x);
    auto o = static_cast<trig::core::Op>(op);
    return o == trig::core::Op::In ? trig::core::compare(o, item, *list)
                                   : trig::core::compare(o, *list, item);
  } catch (...) {
    // Only allocation can fail here; no context to report to, and false is what absent gives.
    return 0;
  }
}

uint8_t trig_abi_in_i64(const int64_t* table, uint64_t n, int64_t x) {
  return std::binary_search(table, table + n, x);
}

uint8_t trig_abi_in_f64(const double* table, uint64_t n, double x) {
  // `<` orders the table (no NaN in it) with 0.0 and -0.0 as one, as `==` has them.
  return !std::isnan(x) && std::binary_search(table, table + n, x);
}

uint8_t trig_abi_in_str(const char* bytes, const uint64_t* offsets, uint64_t n, const char* p,
                        uint64_t len) {
  std::string_view x = trig::abi::view(p, len);
  uint64_t lo = 0, hi = n;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    int c = std::string_view(bytes + offsets[mid], offsets[mid + 1] - offsets[mid]).compare(x);
    if (c == 0) return 1;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

uint8_t trig_abi_value_cmp(uint32_t op, const Value* a, const Value* b) {
  return trig::core::compare(static_cast<trig::core::Op>(op), *a, *b);
}

uint8_t trig_abi_arith(uint32_t op, const Scalar* a, const Scalar* b, uint32_t hint, Scalar* out) {
  Value r = trig::core::arithmetic(static_cast<trig::core::Op>(op), trig::abi::toValue(*a),
                                   trig::abi::toValue(*b), static_cast<trig::core::TypeKind>(hint));
  return trig::abi::toScalar(r, out);
}

uint8_t trig_abi_exists(Ctx* ctx, uint32_t type, int64_t from, int64_t to, EntryFn filter,
                        uint32_t which, const uint32_t* reads, uint32_t sinceFiring) {
  try {
    bool found = false;
    trig::abi::forEachMatch(ctx, type, from, to, filter, which, reads, sinceFiring, false,
                            trig::abi::kNoSlot, [&](const Value*) {
                              found = true;
                              return false;
                            });
    return found;
  } catch (...) {
    trig::abi::fail(ctx);
    return 0;
  }
}

int64_t trig_abi_count(Ctx* ctx, uint32_t type, int64_t from, int64_t to, EntryFn filter,
                       uint32_t which, const uint32_t* reads, uint32_t sinceFiring) {
  try {
    int64_t n = 0;
    trig::abi::forEachMatch(ctx, type, from, to, filter, which, reads, sinceFiring, false,
                            trig::abi::kNoSlot, [&](const Value*) {
                              ++n;
                              return true;
                            });
    return n;
  } catch (...) {
    trig::abi::fail(ctx);
    return 0;
  }
}

int64_t trig_abi_count_equal(Ctx* ctx, uint32_t type, int64_t from, int64_t to,
                             uint32_t sinceFiring, uint32_t slot, const Value* value,
                             int64_t limit) {
  try {
    // A zeroed record (the generated code's absent value) is read for its kind only.
    if (ctx->history == nullptr || from > to || value == nullptr ||
        value->kind == Value::Kind::Absent)
      return 0;
    trig::History::EqualCount q;
    q.type = type;
    q.from = from;
    q.to = to;
    q.slot = slot;
    q.value = value;
    q.afterFiring = sinceFiring != 0;
    q.firedAt = ctx->firedAt;
    q.firedAfterSeq = ctx->firedAfterSeq;
    q.limit = limit;
    return ctx->history->countEqual(q);
  } catch (...) {
    trig::abi::fail(ctx);
    return 0;
  }
}

// The aggregate of the language (compiler/core/aggregate.h), over the matching rows.
uint8_t trig_abi_aggregate(Ctx* ctx, uint32_t type, int64_t from, int64_t to, EntryFn filter,
                           uint32_t which, const uint32_t* reads, uint32_t sinceFiring,
                           uint32_t slot, uint32_t op, uint32_t hint, Scalar* out) {
  try {
    trig::core::Aggregate agg(static_cast<trig::core::AggFn>(op),
                              static_cast<trig::core::TypeKind>(hint));
    trig::abi::forEachMatch(ctx, type, from, to, filter, which, reads, sinceFiring, false, slot,
                            [&](const Value* fields) {
                              agg.add(fields[slot]);
                              return true;
                            });
    if (ctx->failed) return 0;
    Value v = agg.result();
    return v.isAbsent() ? 0 : trig::abi::toScalar(v, out);
  } catch (...) {
    trig::abi::fail(ctx);
    return 0;
  }
}

const Value* trig_abi_last(Ctx* ctx, uint32_t type, int64_t to, EntryFn filter, uint32_t which,
                           const uint32_t* reads, uint32_t slot, uint32_t scratchIndex) {
  Value& result = ctx->scratch[scratchIndex];
  try {
    result = Value{};
    if (ctx->history == nullptr) return &result;
    // The most recent E (matching its filter) at or before t, at any age.
    trig::abi::forEachMatch(ctx, type, INT64_MIN, to, filter, which, reads, 0, true, slot,
                            [&](const Value* fields) {
                              result = fields[slot];
                              return false;
                            });
  } catch (...) {
    trig::abi::fail(ctx);
    result = Value{};
  }
  return &result;
}

}  // extern "C"
