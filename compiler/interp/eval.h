#pragma once
// An evaluator of the compiler's side (the interpreter) answers the runtime's Evaluator
// (compiler/core/evaluator.h, by expression id) and, for the compiler's own callers (tests, the
// JIT's differential checks), the same questions about an AST node: the answers are the same,
// the node's id names it.
#include "compiler/ast/ast.h"
#include "compiler/core/env.h"
#include "compiler/core/evaluator.h"
#include "compiler/sema/model.h"

namespace trig {

class AstEvaluator : public Evaluator {
 public:
  using Evaluator::test;
  using Evaluator::value;
  virtual bool test(const ast::Expr& cond, const EvalEnv& env) = 0;
  virtual Value value(const ast::Expr& e, const EvalEnv& env) = 0;
};

}  // namespace trig
