#pragma once
// The JIT Evaluator: answers Evaluator::test/value (by expression id) by calling the native
// function compiled for each condition, filter and binding of the rule set (compiler/jit/jit.h).
// An expression without compiled code (see lower::Fallback) goes to the fallback evaluator the
// caller gives: the reference interpreter (cli/evaluators.cpp builds it; the runtime does not
// name it).
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "compiler/core/evaluator.h"
#include "compiler/core/kinds.h"
#include "compiler/jit/jit.h"
#include "runtime/abi/abi.h"

namespace trig::jit {

class JitEvaluator : public Evaluator {
 public:
  // Compiles the rule set (or loads it from the cache). `c` must outlive the evaluator;
  // `fallback` (not null) answers for the expressions without code. Throws JitError when code
  // generation fails.
  JitEvaluator(const Compilation& c, const JitOptions& options,
               std::unique_ptr<Evaluator> fallback);
  ~JitEvaluator() override;

  bool test(ExprId cond, const EvalEnv& env) override;
  Value value(ExprId e, const EvalEnv& env) override;
  // One context for all of `conds` (filters of one subject): a call each, not a set-up each.
  void testSome(std::span<const ExprId> conds, std::span<const uint32_t> which, const EvalEnv& env,
                uint8_t* out) override;

  const RuleSetCode& code() const { return *code_; }
  // Tiered: whether the optimised code is still being built in the background, and waits for it
  // (and switches to it) when asked to; tests and benchmarks use this, the runtime never waits.
  bool tierPending() const { return tier_ != nullptr; }
  void waitForTier();
  // Whether expression `e` runs as native code.
  bool compiled(ExprId e) const;
  // How many calls went to the fallback evaluator.
  uint64_t fallbackCalls() const { return fallbackCalls_; }

 private:
  struct Slot {
    abi::EntryFn fn = nullptr;
    uint32_t which = 0;
    lower::EntryKind kind = lower::EntryKind::Predicate;
    core::TypeKind typeKind = core::TypeKind::Error;
    uint32_t event = core::kNone;                         // filters: the subject's event type
    uint32_t scratchBase = 0;                             // its module's `last` slots
    const std::vector<uint32_t>* anchorEvents = nullptr;  // the rule's anchor alternatives
    uint32_t anchorEvent = core::kNone;                   // ... when there is just one
  };
  struct Batched {
    abi::EntryFn fn = nullptr;  // null: through test()
    uint32_t which = 0;
    Value* scratch = nullptr;  // its module's `last` slots in scratch_
  };
  struct BatchList {
    std::vector<ExprId> conds;
    uint32_t anchorType;
    std::vector<Batched> calls;
  };
  const std::vector<Batched>& batch(std::span<const ExprId> conds, const Slot& first,
                                    uint32_t anchorType);
  static bool anchorAccepts(const Slot& s, uint32_t type);
  bool prepare(const Slot& s, const EvalEnv& env, abi::Ctx& ctx, const Value*& subject);
  Evaluator& fallback();
  void install(std::unique_ptr<RuleSetCode> code);
  void adoptTier();
  void adoptFinishedTier();

  // The background compile of the optimised tier, shared with its thread.
  struct Tier {
    std::atomic<bool> cancel{false};
    std::atomic<bool> done{false};
    std::mutex mutex;
    std::unique_ptr<RuleSetCode> code;  // the result, once done (null on failure or cancel)
    std::string error;
    std::thread thread;
  };

  std::vector<std::vector<uint32_t>> anchorEvents_;  // by rule: its anchor's event types
  size_t traitCount_ = 0;                            // the profile's slots
  std::unique_ptr<RuleSetCode> code_;
  std::vector<Slot> slots_;         // by Expr id
  std::vector<BatchList> batches_;  // testSome's packed calls, until the next install()
  std::vector<Value> scratch_;
  std::vector<uint32_t> fieldCounts_;  // by event type
  std::vector<Value> absentRow_;       // all absent, as long as the longest row
  std::vector<Value> paddedAnchor_, paddedTraits_, paddedSubject_;  // copies of short rows
  std::unique_ptr<Evaluator> fallback_;
  uint64_t fallbackCalls_ = 0;
  std::unique_ptr<Tier> tier_;
};

// The same, as an Evaluator.
std::unique_ptr<Evaluator> makeJitEvaluator(const Compilation& c, const JitOptions& options,
                                            std::unique_ptr<Evaluator> fallback);

}  // namespace trig::jit
