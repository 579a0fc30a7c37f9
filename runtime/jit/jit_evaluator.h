#pragma once
// The JIT Evaluator: answers Evaluator::test/value by calling the native function compiled for
// each condition, filter and binding of the rule set (runtime/jit/jit.h). An expression without
// compiled code (see lower::Fallback) goes to the fallback evaluator: the interpreter unless the
// caller gives another.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "compiler/ast/ast.h"
#include "compiler/interp/eval.h"
#include "compiler/sema/model.h"
#include "runtime/abi/abi.h"
#include "runtime/jit/jit.h"

namespace trig::jit {

class JitEvaluator : public AstEvaluator {
 public:
  // Compiles the rule set (or loads it from the cache). `c` must outlive the evaluator. `fallback`
  // null: the reference interpreter. Throws JitError when code generation fails.
  JitEvaluator(const Compilation& c, const JitOptions& options,
               std::unique_ptr<Evaluator> fallback = nullptr);
  ~JitEvaluator() override;

  using AstEvaluator::testSome;
  bool test(ExprId cond, const EvalEnv& env) override;
  Value value(ExprId e, const EvalEnv& env) override;
  bool test(const ast::Expr& cond, const EvalEnv& env) override { return test(cond.id, env); }
  Value value(const ast::Expr& e, const EvalEnv& env) override { return value(e.id, env); }
  // One context for all of `conds` (filters of one subject): a call each, not a set-up each.
  void testSome(std::span<const ExprId> conds, std::span<const uint32_t> which, const EvalEnv& env,
                uint8_t* out) override;

  const RuleSetCode& code() const { return *code_; }
  // Tiered: whether the optimised code is still being built in the background, and waits for it
  // (and switches to it) when asked to; tests and benchmarks use this, the runtime never waits.
  bool tierPending() const { return tier_ != nullptr; }
  void waitForTier();
  // Whether `e` runs as native code.
  bool compiled(const ast::Expr& e) const;
  // How many calls went to the fallback evaluator.
  uint64_t fallbackCalls() const { return fallbackCalls_; }

 private:
  struct Slot {
    abi::EntryFn fn = nullptr;
    uint32_t which = 0;
    lower::EntryKind kind = lower::EntryKind::Predicate;
    sema::Type type;
    uint32_t event = sema::kNone;                         // filters: the subject's event type
    uint32_t scratchBase = 0;                             // its module's `last` slots
    const std::vector<uint32_t>* anchorEvents = nullptr;  // the rule's anchor alternatives
    uint32_t anchorEvent = sema::kNone;                   // ... when there is just one
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

  const sema::Model& model_;
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

// The factory the runtime calls for `--engine jit`.
std::unique_ptr<Evaluator> makeJitEvaluator(const Compilation& c, const JitOptions& options,
                                            std::unique_ptr<Evaluator> fallback = nullptr);

}  // namespace trig::jit
