// The extern "C" helpers that JIT-compiled predicates call (see abi.h). Each helper that can
// meet a C++ exception (allocation, a History implementation) catches it here, at the edge of
// the JIT frames, and records it in the context for the caller of the compiled code to rethrow.
#include "runtime/abi/abi.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <string_view>

#include "compiler/interp/eval.h"

namespace trig::abi {
namespace {

// Exact intermediate products of millionths (GCC and Clang both have it).
__extension__ typedef __int128 Int128;

std::string_view view(const char* p, uint64_t n) { return n == 0 ? std::string_view{} : std::string_view(p, n); }

void fail(Ctx* ctx) noexcept {
  ctx->failed = 1;
  auto* slot = static_cast<std::exception_ptr*>(ctx->error);
  if (slot != nullptr && !*slot) *slot = std::current_exception();
}

// Calls `f(event)` for each event of `type` in [from, to] that passes `filter`, until f returns
// false or a filter call failed.
template <typename F>
void forEachMatch(Ctx* ctx, uint32_t type, int64_t from, int64_t to, FilterFn filter, F&& f) {
  if (ctx->history == nullptr || from > to) return;
  ctx->history->forEach(type, from, to, [&](const Event& e) {
    if (filter != nullptr) {
      bool match = filter(ctx, e.fields.data(), e.fields.size()) != 0;
      if (ctx->failed) return false;
      if (!match) return true;
    }
    return f(e);
  });
}

bool scalarEquals(const Value& v, const Scalar& x) {
  using K = Value::Kind;
  auto k = static_cast<K>(x.kind);
  if (v.kind == K::Absent || k == K::Absent) return false;
  switch (k) {
    case K::String: return v.kind == K::String && v.s == view(x.p, x.n);
    case K::Bool: return v.kind == K::Bool && v.b == (x.b != 0);
    case K::Int:
      if (v.kind == K::Int) return v.i == x.i;
      if (v.kind == K::Float) return v.f == static_cast<double>(x.i);
      if (v.kind == K::Money) return v.m.units == x.i * Decimal::kScale;
      return false;
    case K::Float:
      if (v.kind == K::Float) return v.f == x.f;
      if (v.kind == K::Int) return static_cast<double>(v.i) == x.f;
      return false;
    case K::Money:
      if (v.kind == K::Money) return v.m.units == x.i;
      if (v.kind == K::Int) return v.i * Decimal::kScale == x.i;
      return false;
    case K::Time:
    case K::Duration: return v.kind == k && v.i == x.i;
    case K::List:
    case K::Absent: return false;
  }
  return false;
}

// Numeric accumulation for sum/min/max/avg, in the field's own representation.
struct Accumulator {
  Value::Kind kind;
  uint64_t n = 0;
  int64_t i = 0;   // Int, Time, Duration, Money units
  double f = 0;    // Float

  void add(const Value& v, AggOp op) {
    using K = Value::Kind;
    if (v.kind == K::Absent) return;
    int64_t iv = kind == K::Money ? v.m.units : v.i;
    double fv = v.f;
    if (n == 0) {
      i = iv;
      f = fv;
    } else {
      switch (op) {
        case AggOp::Sum:
        case AggOp::Avg:
          i = static_cast<int64_t>(static_cast<uint64_t>(i) + static_cast<uint64_t>(iv));
          f += fv;
          break;
        case AggOp::Min: i = std::min(i, iv); f = std::min(f, fv); break;
        case AggOp::Max: i = std::max(i, iv); f = std::max(f, fv); break;
      }
    }
    ++n;
  }
};

}  // namespace

const HelperSymbol* helperSymbols(size_t* count) {
  static const HelperSymbol symbols[] = {
      {"trig_abi_str_view", reinterpret_cast<void*>(&trig_abi_str_view)},
      {"trig_abi_str_cmp", reinterpret_cast<void*>(&trig_abi_str_cmp)},
      {"trig_abi_str_eq", reinterpret_cast<void*>(&trig_abi_str_eq)},
      {"trig_abi_str_contains", reinterpret_cast<void*>(&trig_abi_str_contains)},
      {"trig_abi_str_starts_with", reinterpret_cast<void*>(&trig_abi_str_starts_with)},
      {"trig_abi_list_has", reinterpret_cast<void*>(&trig_abi_list_has)},
      {"trig_abi_value_eq", reinterpret_cast<void*>(&trig_abi_value_eq)},
      {"trig_abi_money_mul", reinterpret_cast<void*>(&trig_abi_money_mul)},
      {"trig_abi_money_div", reinterpret_cast<void*>(&trig_abi_money_div)},
      {"trig_abi_exists", reinterpret_cast<void*>(&trig_abi_exists)},
      {"trig_abi_count", reinterpret_cast<void*>(&trig_abi_count)},
      {"trig_abi_aggregate", reinterpret_cast<void*>(&trig_abi_aggregate)},
      {"trig_abi_last", reinterpret_cast<void*>(&trig_abi_last)},
  };
  *count = sizeof(symbols) / sizeof(symbols[0]);
  return symbols;
}

}  // namespace trig::abi

using trig::Value;
using trig::abi::AggOp;
using trig::abi::Ctx;
using trig::abi::FilterFn;
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

uint8_t trig_abi_str_eq(const char* a, uint64_t an, const char* b, uint64_t bn) {
  return an == bn && (an == 0 || std::memcmp(a, b, an) == 0);
}

uint8_t trig_abi_str_contains(const char* a, uint64_t an, const char* b, uint64_t bn) {
  return trig::abi::view(a, an).find(trig::abi::view(b, bn)) != std::string_view::npos;
}

uint8_t trig_abi_str_starts_with(const char* a, uint64_t an, const char* b, uint64_t bn) {
  return trig::abi::view(a, an).starts_with(trig::abi::view(b, bn));
}

uint8_t trig_abi_list_has(const Value* list, const Scalar* x) {
  if (list == nullptr || list->kind != Value::Kind::List) return 0;
  for (const Value& v : list->list)
    if (trig::abi::scalarEquals(v, *x)) return 1;
  return 0;
}

uint8_t trig_abi_value_eq(const Value* a, const Value* b) {
  if (a == nullptr || b == nullptr || a->isAbsent() || b->isAbsent()) return 0;
  return *a == *b;
}

uint8_t trig_abi_money_mul(int64_t a, int64_t b, int64_t* out) {
  // Exact product of millionths, truncated toward zero back to millionths.
  trig::abi::Int128 p = static_cast<trig::abi::Int128>(a) * b / trig::Decimal::kScale;
  if (p > std::numeric_limits<int64_t>::max() || p < std::numeric_limits<int64_t>::min()) return 0;
  *out = static_cast<int64_t>(p);
  return 1;
}

uint8_t trig_abi_money_div(int64_t a, int64_t b, int64_t* out) {
  if (b == 0) return 0;
  trig::abi::Int128 q = static_cast<trig::abi::Int128>(a) * trig::Decimal::kScale / b;
  if (q > std::numeric_limits<int64_t>::max() || q < std::numeric_limits<int64_t>::min()) return 0;
  *out = static_cast<int64_t>(q);
  return 1;
}

uint8_t trig_abi_exists(Ctx* ctx, uint32_t type, int64_t from, int64_t to, FilterFn filter) {
  try {
    bool found = false;
    trig::abi::forEachMatch(ctx, type, from, to, filter, [&](const trig::Event&) {
      found = true;
      return false;
    });
    return found;
  } catch (...) {
    trig::abi::fail(ctx);
    return 0;
  }
}

int64_t trig_abi_count(Ctx* ctx, uint32_t type, int64_t from, int64_t to, FilterFn filter) {
  try {
    int64_t n = 0;
    trig::abi::forEachMatch(ctx, type, from, to, filter, [&](const trig::Event&) {
      ++n;
      return true;
    });
    return n;
  } catch (...) {
    trig::abi::fail(ctx);
    return 0;
  }
}

uint8_t trig_abi_aggregate(Ctx* ctx, uint32_t type, int64_t from, int64_t to, FilterFn filter,
                           uint32_t slot, uint32_t op, uint32_t fieldKind, uint32_t resultKind,
                           Scalar* out) {
  using K = Value::Kind;
  try {
    auto aggOp = static_cast<AggOp>(op);
    trig::abi::Accumulator acc{static_cast<K>(fieldKind)};
    trig::abi::forEachMatch(ctx, type, from, to, filter, [&](const trig::Event& e) {
      if (slot < e.fields.size()) acc.add(e.fields[slot], aggOp);
      return true;
    });
    if (acc.n == 0) return 0;
    auto rk = static_cast<K>(resultKind);
    out->kind = static_cast<uint8_t>(rk);
    bool isFloat = acc.kind == K::Float;
    if (aggOp == AggOp::Avg) {
      auto n = static_cast<int64_t>(acc.n);
      if (rk == K::Float) {
        out->f = isFloat ? acc.f / static_cast<double>(acc.n)
                         : (acc.kind == K::Money ? static_cast<double>(acc.i) / trig::Decimal::kScale
                                                 : static_cast<double>(acc.i)) /
                               static_cast<double>(acc.n);
      } else {
        out->i = acc.i / n;
      }
      return 1;
    }
    if (rk == K::Float) {
      out->f = isFloat ? acc.f
                       : (acc.kind == K::Money ? static_cast<double>(acc.i) / trig::Decimal::kScale
                                               : static_cast<double>(acc.i));
    } else {
      out->i = acc.i;
    }
    return 1;
  } catch (...) {
    trig::abi::fail(ctx);
    return 0;
  }
}

const Value* trig_abi_last(Ctx* ctx, uint32_t type, int64_t to, FilterFn filter, uint32_t slot,
                           uint32_t scratchIndex) {
  Value& result = ctx->scratch[scratchIndex];
  try {
    const trig::Event* last = nullptr;
    trig::abi::forEachMatch(ctx, type, std::numeric_limits<int64_t>::min(), to, filter,
                            [&](const trig::Event& e) {
                              // Oldest first: each match is more recent than the previous one.
                              result = slot < e.fields.size() ? e.fields[slot] : Value{};
                              last = &e;
                              return true;
                            });
    if (last == nullptr) result = Value{};
  } catch (...) {
    trig::abi::fail(ctx);
    result = Value{};
  }
  return &result;
}

}  // extern "C"
