#pragma once
// The compiler side's evaluators (the interpreter, the JIT's evaluator) answer the runtime's
// Evaluator (compiler/core/evaluator.h, by expression id) and, for the compiler's own callers
// (tests, `trig preview`, the differential checks), the same questions about an AST node: the
// answers are the same, the node's id names it.
#include <span>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/core/env.h"
#include "compiler/core/evaluator.h"
#include "compiler/sema/model.h"

namespace trig {

class AstEvaluator : public Evaluator {
 public:
  using Evaluator::test;
  using Evaluator::testSome;
  using Evaluator::value;
  virtual bool test(const ast::Expr& cond, const EvalEnv& env) = 0;
  virtual Value value(const ast::Expr& e, const EvalEnv& env) = 0;
  // testSome over AST nodes: the nodes' ids.
  void testSome(std::span<const ast::Expr* const> conds, std::span<const uint32_t> which,
                const EvalEnv& env, uint8_t* out) {
    std::vector<ExprId> ids;
    ids.reserve(conds.size());
    for (const ast::Expr* e : conds) ids.push_back(e->id);
    testSome(std::span<const ExprId>(ids), which, env, out);
  }
};

}  // namespace trig
