#pragma once
// The JIT Evaluator: answers Evaluator::test/value by calling the native function compiled for
// each condition, filter and binding of the rule set (runtime/jit/jit.h). An expression without
// compiled code (see lower::Fallback) goes to the fallback evaluator: the interpreter unless the
// caller gives another.
#include <cstdint>
#include <memory>

#include "compiler/ast/ast.h"
#include "compiler/interp/eval.h"
#include "compiler/sema/model.h"
#include "runtime/jit/jit.h"

namespace trig::jit {

class JitEvaluator : public Evaluator {
 public:
  // Compiles the rule set (or loads it from the cache). `program` and `model` must outlive the
  // evaluator. `fallback` null: the reference interpreter. Throws JitError when code generation
  // fails.
  JitEvaluator(const ast::Program& program, const sema::Model& model, const JitOptions& options,
               std::unique_ptr<Evaluator> fallback);
  ~JitEvaluator() override;

  bool test(const ast::Expr& cond, const EvalEnv& env) override;
  Value value(const ast::Expr& e, const EvalEnv& env) override;

  const RuleSetCode& code() const { return *code_; }
  // Whether `e` runs as native code.
  bool compiled(const ast::Expr& e) const;
  // How many calls went to the fallback evaluator.
  uint64_t fallbackCalls() const { return fallbackCalls_; }

 private:
  struct Slot {
    void* fn = nullptr;
    lower::EntryKind kind = lower::EntryKind::Predicate;
    sema::Type type;
    uint32_t event = sema::kNone;                       // filters: the subject's event type
    const std::vector<uint32_t>* anchorEvents = nullptr;  // the rule's anchor alternatives
  };
  bool native(const Slot& s, const EvalEnv& env) const;
  Evaluator& fallback(const ast::Expr& e);

  std::unique_ptr<RuleSetCode> code_;
  std::vector<Slot> slots_;  // by Expr id
  std::vector<Value> scratch_;
  std::unique_ptr<Evaluator> fallback_;
  uint64_t fallbackCalls_ = 0;
};

// The factory the runtime calls for `--engine jit`.
std::unique_ptr<Evaluator> makeJitEvaluator(const ast::Program& program, const sema::Model& model,
                                            const JitOptions& options, std::unique_ptr<Evaluator> fallback);

}  // namespace trig::jit
