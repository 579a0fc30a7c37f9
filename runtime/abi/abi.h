#pragma once
// The C ABI between JIT-compiled predicates (compiler/lower) and the C++ runtime.
//
// Generated code reads trig::Value records in place: an event's fields are a contiguous array of
// Values (Event::fields.data()), one per sema slot, and the profile's traits likewise. A field is
// present when its `kind` byte is not Absent; numeric payloads are read at the fixed offsets below.
// Anything that needs C++ (strings, lists, the History) goes through the extern "C" helpers
// declared here, which the JIT registers as absolute symbols. No C++ exception ever crosses a
// JIT frame: every helper catches, records the exception in the context and returns a neutral
// value; the caller of the compiled function rethrows it after the call returns.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "compiler/core/value.h"

namespace trig {
class History;
}

namespace trig::abi {

static_assert(std::is_standard_layout_v<Value>, "generated code reads Value at fixed offsets");

// Byte offsets of a Value's parts, as the generated code reads them.
constexpr uint64_t kValueSize = sizeof(Value);
constexpr uint64_t kValueKindOffset = offsetof(Value, kind);
constexpr uint64_t kValueBoolOffset = offsetof(Value, b);
constexpr uint64_t kValueIntOffset = offsetof(Value, i);  // Int, Time, Duration
constexpr uint64_t kValueFloatOffset = offsetof(Value, f);
constexpr uint64_t kValueMoneyOffset = offsetof(Value, m);  // Decimal::units
constexpr uint64_t kValueStringOffset = offsetof(Value, s);

// Where this C++ library keeps a std::string's data pointer and length, when the JIT may read
// them in place (checked at run time on real strings); nullopt: strings go through
// trig_abi_str_view.
struct StringLayout {
  uint64_t data;
  uint64_t size;
};
std::optional<StringLayout> stringLayout();
static_assert(sizeof(Value::kind) == 1 && sizeof(Value::b) == 1);
// Generated code treats a zero kind byte as absent (and reads a zeroed record as an absent Value).
static_assert(static_cast<int>(Value::Kind::Absent) == 0);
static_assert(sizeof(Decimal) == sizeof(int64_t));

// Everything a compiled predicate sees. Built by the JIT Evaluator from an EvalEnv for each call.
// Compiled code reads field rows without bounds checks: the anchor's row holds at least its event
// type's fields and the profile at least every trait (the evaluator pads short rows, and hands
// rows of event types the code was not compiled for to the interpreter); the helpers pad history
// rows the same way before a filter sees them, using `fieldCounts`.
struct Ctx {
  const Value* anchor;          // the anchor's fields by slot (an all-absent row when none)
  const Value* traits;          // the profile by trait slot
  int64_t now;                  // evaluation time t
  int64_t firedAt;              // step conditions: the firing time; INT64_MIN at rule level
  int64_t firedAfterSeq;        // of the events stamped firedAt, those with seq > this came after
  uint32_t anchorType;          // sema event index of the anchor (alternatives: `(A or B)`)
  uint32_t failed;              // set by a helper that caught an exception
  const History* history;       // opaque to generated code
  Value* scratch;               // one Value per `last(E).f` of the rule set (helpers write there)
  void* error;                  // std::exception_ptr*: the first exception a helper caught
  const uint32_t* fieldCounts;  // fields of each event type, by sema event index
  uint32_t eventTypes;          // entries in fieldCounts
};

// Offsets of the Ctx members the generated code loads.
constexpr uint64_t kCtxAnchor = offsetof(Ctx, anchor);
constexpr uint64_t kCtxTraits = offsetof(Ctx, traits);
constexpr uint64_t kCtxNow = offsetof(Ctx, now);
constexpr uint64_t kCtxFiredAt = offsetof(Ctx, firedAt);
constexpr uint64_t kCtxFiredAfterSeq = offsetof(Ctx, firedAfterSeq);
constexpr uint64_t kCtxAnchorType = offsetof(Ctx, anchorType);

// A scalar passed to or returned from a helper. `kind` is a Value::Kind.
struct Scalar {
  uint8_t kind;
  uint8_t b;
  int64_t i;      // Int, Time, Duration, Money (units)
  double f;       // Float
  const char* p;  // String bytes
  uint64_t n;     // String length
};
constexpr uint64_t kScalarKind = offsetof(Scalar, kind);
constexpr uint64_t kScalarBool = offsetof(Scalar, b);
constexpr uint64_t kScalarInt = offsetof(Scalar, i);
constexpr uint64_t kScalarFloat = offsetof(Scalar, f);
constexpr uint64_t kScalarPtr = offsetof(Scalar, p);
constexpr uint64_t kScalarLen = offsetof(Scalar, n);

// The Value a helper's or an entry's scalar stands for (absent for List and Absent kinds).
Value toValue(const Scalar& x);

// A string as generated code holds it: bytes and length (not NUL-terminated).
struct Str {
  const char* p;
  uint64_t n;
};
constexpr uint64_t kStrPtr = offsetof(Str, p);
constexpr uint64_t kStrLen = offsetof(Str, n);

// Every compiled entry (condition, filter, binding). `which` selects the entry inside a per-rule
// dispatch function (0 for a function of its own). Conditions and filters return whether they
// hold (a filter tests the event whose fields are `subject`); values return 0 when absent, else
// fill `out` (scalars) or point `*outValue` at a Value to copy (lists).
using EntryFn = uint8_t (*)(Ctx* ctx, uint32_t which, const Value* subject, Scalar* out,
                            const Value** outValue);

// The helpers and their addresses, for the JIT to register. Names are the C symbol names.
struct HelperSymbol {
  const char* name;
  void* address;
};
// Every helper below, in declaration order.
const HelperSymbol* helperSymbols(size_t* count);

}  // namespace trig::abi

extern "C" {
// ---- strings (equality and starts_with compile to inline length checks and memcmp) ----
// The bytes of a String Value (any other kind gives an empty string).
void trig_abi_str_view(const trig::Value* v, trig::abi::Str* out);
// Byte-wise three-way comparison (std::string order): <0, 0, >0.
int32_t trig_abi_str_cmp(const char* a, uint64_t an, const char* b, uint64_t bn);
uint8_t trig_abi_str_contains(const char* a, uint64_t an, const char* b, uint64_t bn);

// ---- operators the generated code does not inline (compiler/core/ops.h defines their meaning)
// ---- `x in list` (op In) or `list contains x` (op Contains) for a List Value and a present
// scalar.
uint8_t trig_abi_list_op(uint32_t op, const trig::Value* list, const trig::abi::Scalar* x);
// `x in [...]` for a list literal's constant items (compiler/lower: memberOfLiteral), as sorted
// tables without duplicates: whether `x` is among the `n` integers of `table`, the `n` doubles
// of `table` (NaN is never among them), or the `n` strings whose bytes are
// bytes[offsets[k], offsets[k + 1]) (byte order).
uint8_t trig_abi_in_i64(const int64_t* table, uint64_t n, int64_t x);
uint8_t trig_abi_in_f64(const double* table, uint64_t n, double x);
uint8_t trig_abi_in_str(const char* bytes, const uint64_t* offsets, uint64_t n, const char* p,
                        uint64_t len);
// `a op b` for two Values (lists); false when either is absent.
uint8_t trig_abi_value_cmp(uint32_t op, const trig::Value* a, const trig::Value* b);
// `a op b` (+ - * /) of two present scalars with sema's type `hint` for the whole expression
// (money products and quotients, int quotients as money). Returns 0 when the result is absent.
uint8_t trig_abi_arith(uint32_t op, const trig::abi::Scalar* a, const trig::abi::Scalar* b,
                       uint32_t hint, trig::abi::Scalar* out);

// ---- history ----
// `sinceFiring`: skip the events stamped ctx->firedAt with seq <= ctx->firedAfterSeq (they did
// not happen after the firing).
// Whether some event of `type` stamped in [from, to] matches `filter` (null: every event).
// `filter` (null: every event) is called back with case `which` on rows in which the history has
// filled the fields `reads` lists (`reads[0]` slots at reads + 1, the compiled filter's reads of
// its subject: a row's other fields may read as absent); null with a filter: every field.
uint8_t trig_abi_exists(trig::abi::Ctx* ctx, uint32_t type, int64_t from, int64_t to,
                        trig::abi::EntryFn filter, uint32_t which, const uint32_t* reads,
                        uint32_t sinceFiring);
// How many such events there are.
int64_t trig_abi_count(trig::abi::Ctx* ctx, uint32_t type, int64_t from, int64_t to,
                       trig::abi::EntryFn filter, uint32_t which, const uint32_t* reads,
                       uint32_t sinceFiring);
// `count(E(same f))` (limit INT64_MAX) and `E(same f)` (limit 1) when `same f` is the whole
// filter: how many such events, up to `limit`, have field `slot` equal to the anchor's `*value`
// (an absent value: none). The history compares its stored values; no filter is called.
int64_t trig_abi_count_equal(trig::abi::Ctx* ctx, uint32_t type, int64_t from, int64_t to,
                             uint32_t sinceFiring, uint32_t slot, const trig::Value* value,
                             int64_t limit);
// sum/min/max/avg/median (`op`: a core::AggFn other than Count) of field `slot` over such events;
// events whose field is absent are skipped. `hint` is sema's type of the aggregate. Returns 0 when
// the result is absent (over nothing, overflow), else fills `out` (its kind says which payload).
uint8_t trig_abi_aggregate(trig::abi::Ctx* ctx, uint32_t type, int64_t from, int64_t to,
                           trig::abi::EntryFn filter, uint32_t which, const uint32_t* reads,
                           uint32_t sinceFiring, uint32_t slot, uint32_t op, uint32_t hint,
                           trig::abi::Scalar* out);
// Field `slot` of the most recent matching event stamped at or before `to`, copied into
// ctx->scratch[scratchIndex]; that Value is Absent when there is no such event.
const trig::Value* trig_abi_last(trig::abi::Ctx* ctx, uint32_t type, int64_t to,
                                 trig::abi::EntryFn filter, uint32_t which, const uint32_t* reads,
                                 uint32_t slot, uint32_t scratchIndex);
}
