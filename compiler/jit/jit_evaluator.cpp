#include "compiler/jit/jit_evaluator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>

#include "runtime/abi/abi.h"

namespace trig::jit {
namespace {

// `row` if it has at least `need` values, else a copy padded with absent values in `pad`.
const Value* atLeast(const std::vector<Value>& row, size_t need, std::vector<Value>& pad) {
  if (row.size() >= need) return row.data();
  pad = row;
  pad.resize(need);
  return pad.data();
}

}  // namespace

JitEvaluator::JitEvaluator(const Compilation& c, const JitOptions& options,
                           std::unique_ptr<Evaluator> fallback)
    : traitCount_(c.model.traits.size()), fallback_(std::move(fallback)) {
  if (!fallback_) throw JitError("the JIT evaluator needs a fallback evaluator");
  slots_.resize(c.program.arena.exprCount());
  for (const auto& r : c.model.rules) anchorEvents_.push_back(r.anchorEvents);
  size_t longest = traitCount_;
  for (const auto& ev : c.model.events) {
    fieldCounts_.push_back(static_cast<uint32_t>(ev.fields.size()));
    longest = std::max(longest, ev.fields.size());
  }
  absentRow_.resize(std::max<size_t>(longest, 1));

  if (!options.tiered || codeSize(c) < options.tierFromSize) {
    install(compileRuleSet(c, options));
    return;
  }
  // Tiered: the requested code if it is cached, else the fast tier now and the requested code
  // from a background thread.
  if (options.useCache) {
    JitOptions probe = options;
    probe.cachedOnly = true;
    if (auto cached = compileRuleSet(c, probe)) {
      install(std::move(cached));
      return;
    }
  }
  JitOptions fast = options;
  fast.optLevel = 0;
  fast.granularity = lower::Granularity::PerRule;
  fast.chunkRules = 0;
  install(compileRuleSet(c, fast));
  tier_ = std::make_unique<Tier>();
  Tier* tier = tier_.get();
  tier->thread = std::thread([tier, &c, options] {
    std::unique_ptr<RuleSetCode> code;
    std::string error;
    try {
      code = compileRuleSet(c, options, &tier->cancel);
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown error";
    }
    std::lock_guard<std::mutex> lock(tier->mutex);
    tier->code = std::move(code);
    tier->error = std::move(error);
    tier->done.store(true, std::memory_order_release);
  });
}

JitEvaluator::~JitEvaluator() {
  if (tier_) {
    // The compile stops at its next module boundary; what it finished stays in the cache.
    tier_->cancel.store(true, std::memory_order_relaxed);
    tier_->thread.join();
  }
}

void JitEvaluator::install(std::unique_ptr<RuleSetCode> code) {
  for (Slot& s : slots_) s = Slot{};
  batches_.clear();
  for (size_t i = 0; i < code->entries().size(); ++i) {
    const lower::Entry& e = code->entries()[i];
    if (e.exprId >= slots_.size()) continue;
    Slot& s = slots_[e.exprId];
    s.fn = reinterpret_cast<abi::EntryFn>(code->entryAddress(i));
    s.which = e.which;
    s.kind = e.kind;
    s.typeKind = e.type.kind;
    s.event = e.event;
    s.scratchBase = e.scratchBase;
    if (e.rule < anchorEvents_.size()) {
      s.anchorEvents = &anchorEvents_[e.rule];
      if (s.anchorEvents->size() == 1) s.anchorEvent = s.anchorEvents->front();
    }
  }
  scratch_.assign(code->scratchSlots(), Value{});
  // The previous tier's code is unloaded here: nothing runs it any more (one thread calls us).
  code_ = std::move(code);
}

// Switches to the background tier's code once it is done (called on the evaluator's thread,
// between evaluations, so no compiled code of the old tier is running).
void JitEvaluator::adoptTier() {
  std::unique_ptr<RuleSetCode> next;
  std::string error;
  {
    std::lock_guard<std::mutex> lock(tier_->mutex);
    next = std::move(tier_->code);
    error = std::move(tier_->error);
  }
  tier_->thread.join();
  tier_.reset();
  if (next) {
    install(std::move(next));
  } else if (!error.empty()) {
    // The fast tier keeps answering correctly; say why it was not replaced.
    std::fprintf(
        stderr,
        "trig: warning: the optimised JIT code could not be built (%s); staying on the fast tier\n",
        error.c_str());
  }
}

// Between evaluations: the optimised code, if the background compile has finished it.
void JitEvaluator::adoptFinishedTier() {
  if (tier_ && tier_->done.load(std::memory_order_acquire)) adoptTier();
}

void JitEvaluator::waitForTier() {
  if (!tier_) return;
  while (!tier_->done.load(std::memory_order_acquire))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  adoptTier();
}

bool JitEvaluator::compiled(ExprId e) const {
  return e < slots_.size() && slots_[e].fn != nullptr;
}

Evaluator& JitEvaluator::fallback() {
  ++fallbackCalls_;
  return *fallback_;
}

// Whether `s`'s code reads an anchor of type `type` (kNone: the call has no anchor) at its slots.
bool JitEvaluator::anchorAccepts(const Slot& s, uint32_t type) {
  if (type == core::kNone) return true;
  if (s.anchorEvent != core::kNone) return type == s.anchorEvent;
  return s.anchorEvents == nullptr ||
         std::find(s.anchorEvents->begin(), s.anchorEvents->end(), type) != s.anchorEvents->end();
}

// Fills the context for a call of `s`'s code, or returns false when the call is the
// interpreter's: the compiled code reads the anchor at the slots of the rule's own anchor events
// and a filter's subject at the slots of its event, while the interpreter also copes with other
// events (by field name).
bool JitEvaluator::prepare(const Slot& s, const EvalEnv& env, abi::Ctx& ctx,
                           const Value*& subject) {
  if (s.fn == nullptr) return false;
  ctx.anchor = absentRow_.data();
  ctx.anchorType = core::kNone;
  if (env.anchor != nullptr && env.anchor->kind == Event::Kind::Track) {
    uint32_t type = env.anchor->type;
    if (type >= fieldCounts_.size()) return false;
    if (!anchorAccepts(s, type)) return false;
    ctx.anchor = atLeast(env.anchor->fields, fieldCounts_[type], paddedAnchor_);
    ctx.anchorType = type;
  }
  ctx.traits =
      env.traits != nullptr ? atLeast(*env.traits, traitCount_, paddedTraits_) : absentRow_.data();
  subject = absentRow_.data();
  if (s.kind == lower::EntryKind::Filter && env.subject != nullptr) {
    if (env.subject->kind != Event::Kind::Track || env.subject->type != s.event ||
        s.event >= fieldCounts_.size())
      return false;
    subject = atLeast(env.subject->fields, fieldCounts_[s.event], paddedSubject_);
  }
  ctx.now = env.now;
  ctx.firedAt = env.firedAt;
  ctx.firedAfterSeq = env.firedAfterSeq;
  ctx.failed = 0;
  ctx.history = env.history;
  ctx.scratch = scratch_.data() + s.scratchBase;
  ctx.fieldCounts = fieldCounts_.data();
  ctx.eventTypes = static_cast<uint32_t>(fieldCounts_.size());
  return true;
}

bool JitEvaluator::test(ExprId cond, const EvalEnv& env) {
  adoptFinishedTier();
  abi::Ctx ctx;
  const Value* subject = nullptr;
  if (cond >= slots_.size() || !prepare(slots_[cond], env, ctx, subject))
    return fallback().test(cond, env);
  const Slot& s = slots_[cond];
  std::exception_ptr error;
  ctx.error = &error;
  if (s.kind == lower::EntryKind::Value) {
    abi::Scalar out{};
    const Value* v = nullptr;
    uint8_t present = s.fn(&ctx, s.which, subject, &out, &v);
    if (ctx.failed) std::rethrow_exception(error);
    return present != 0 && s.typeKind == core::TypeKind::Bool && out.b != 0;
  }
  uint8_t r = s.fn(&ctx, s.which, subject, nullptr, nullptr);
  if (ctx.failed) std::rethrow_exception(error);
  return r != 0;
}

void JitEvaluator::testSome(std::span<const ExprId> conds, std::span<const uint32_t> which,
                            const EvalEnv& env, uint8_t* out) {
  if (which.empty()) return;
  adoptFinishedTier();
  // The context as prepare() fills it for the first condition of the list; every other
  // condition whose code reads the same anchor and subject rows shares it and only gets its own
  // scratch.
  abi::Ctx ctx;
  const Value* subject = nullptr;
  const Slot* first = conds[0] < slots_.size() ? &slots_[conds[0]] : nullptr;
  if (first == nullptr || !prepare(*first, env, ctx, subject)) {
    for (uint32_t i : which) out[i] = test(conds[i], env) ? 1 : 0;
    return;
  }
  const Batched* calls = batch(conds, *first, ctx.anchorType).data();
  std::exception_ptr error;
  ctx.error = &error;
  // A helper that failed records the first exception and makes its call answer false; the
  // other calls still run (they cannot fail because of it), and the exception is rethrown once.
  for (uint32_t i : which) {
    const Batched& b = calls[i];
    if (b.fn == nullptr) [[unlikely]] {
      out[i] = test(conds[i], env) ? 1 : 0;
      continue;
    }
    ctx.scratch = b.scratch;
    out[i] = b.fn(&ctx, b.which, subject, nullptr, nullptr) != 0 ? 1 : 0;
  }
  if (ctx.failed) std::rethrow_exception(error);
}

// The calls of a testSome list, packed once per (list, anchor type): the runtime passes the same
// few lists (one per event type) for every event, and reading each condition's Slot through its
// expression id costs two cache misses per condition, where comparing the list with the packed
// one's is a sequential read. An entry without `fn` goes through
// test(): its code reads other rows than the first condition's (another subject event, an
// anchor its rule does not take), or it has none.
const std::vector<JitEvaluator::Batched>& JitEvaluator::batch(std::span<const ExprId> conds,
                                                              const Slot& first,
                                                              uint32_t anchorType) {
  for (const auto& b : batches_)
    if (b.anchorType == anchorType && b.conds.size() == conds.size() &&
        std::memcmp(b.conds.data(), conds.data(), conds.size_bytes()) == 0)
      return b.calls;
  BatchList list{{conds.begin(), conds.end()}, anchorType, {}};
  for (ExprId cond : conds) {
    const Slot* s = cond < slots_.size() ? &slots_[cond] : nullptr;
    bool shared = s != nullptr && s->fn != nullptr && s->kind != lower::EntryKind::Value &&
                  s->kind == first.kind && s->event == first.event && anchorAccepts(*s, anchorType);
    list.calls.push_back(shared ? Batched{s->fn, s->which, scratch_.data() + s->scratchBase}
                                : Batched{});
  }
  batches_.push_back(std::move(list));
  return batches_.back().calls;
}

Value JitEvaluator::value(ExprId e, const EvalEnv& env) {
  adoptFinishedTier();
  abi::Ctx ctx;
  const Value* subject = nullptr;
  if (e >= slots_.size() || !prepare(slots_[e], env, ctx, subject)) return fallback().value(e, env);
  const Slot& s = slots_[e];
  if (s.kind != lower::EntryKind::Value) return Value::boolean(test(e, env));
  std::exception_ptr error;
  ctx.error = &error;
  abi::Scalar out{};
  const Value* v = nullptr;
  uint8_t present = s.fn(&ctx, s.which, subject, &out, &v);
  if (ctx.failed) std::rethrow_exception(error);
  if (present == 0) return Value::absent();
  if (s.typeKind == core::TypeKind::List) return v != nullptr ? *v : Value::absent();
  return abi::toValue(out);
}

std::unique_ptr<Evaluator> makeJitEvaluator(const Compilation& c, const JitOptions& options,
                                            std::unique_ptr<Evaluator> fallback) {
  return std::make_unique<JitEvaluator>(c, options, std::move(fallback));
}

}  // namespace trig::jit
