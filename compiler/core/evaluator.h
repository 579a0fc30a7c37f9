#pragma once
// How the runtime evaluates conditions, whatever the engine: the reference interpreter
// (compiler/interp) or the JIT's native code (compiler/jit). The runtime builds an EvalEnv for one
// customer at one instant and asks an Evaluator whether a condition holds or what an expression's
// value is. An expression is named by its id (ast::Expr::id, the id the rule plan names its
// conditions, filters and bindings by): the runtime hands no AST node to an evaluator, and the
// evaluators are built on the compiler's side (cli/evaluators.cpp) and given to the engine.
#include <cstdint>
#include <span>

#include "compiler/core/env.h"
#include "compiler/core/value.h"

namespace trig {

// An expression of the checked program: its ast::Expr::id.
using ExprId = uint32_t;

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Whether a boolean condition holds (an absent result does not hold).
  virtual bool test(ExprId cond, const EvalEnv& env) = 0;
  // The value of any expression (bindings, template variables, a priority).
  virtual Value value(ExprId e, const EvalEnv& env) = 0;
  // Tests the conditions of `conds` that `which` lists (indices into conds, each once) in the
  // one environment: out[i] = test(conds[i], env); the other entries of out stay as they are.
  // The runtime asks this for the anchor filters of an event type's rules on an incoming event
  // (`conds` is the same list every time, `which` the filters that event can pass); an
  // evaluator that can share the set-up between the calls overrides it.
  virtual void testSome(std::span<const ExprId> conds, std::span<const uint32_t> which,
                        const EvalEnv& env, uint8_t* out) {
    for (uint32_t i : which) out[i] = test(conds[i], env) ? 1 : 0;
  }
};

}  // namespace trig
