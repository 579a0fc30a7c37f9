#pragma once
// How conditions are evaluated, whatever the engine: the reference interpreter (compiler/interp)
// or the JIT (compiler/lower + runtime/jit). The runtime builds an EvalEnv for one customer at
// one instant and asks an Evaluator whether a condition holds or what an expression's value is.
#include <functional>
#include <span>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/core/env.h"
#include "compiler/sema/model.h"

namespace trig {

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Whether a boolean condition holds (an absent result does not hold).
  virtual bool test(const ast::Expr& cond, const EvalEnv& env) = 0;
  // The value of any expression (bindings, template variables).
  virtual Value value(const ast::Expr& e, const EvalEnv& env) = 0;
  // Tests the conditions of `conds` that `which` lists (indices into conds, each once) in the
  // one environment: out[i] = test(*conds[i], env); the other entries of out stay as they are.
  // The runtime asks this for the anchor filters of an event type's rules on an incoming event
  // (`conds` is the same list every time, `which` the filters that event can pass); an
  // evaluator that can share the set-up between the calls overrides it.
  virtual void testSome(std::span<const ast::Expr* const> conds, std::span<const uint32_t> which,
                        const EvalEnv& env, uint8_t* out) {
    for (uint32_t i : which) out[i] = test(*conds[i], env) ? 1 : 0;
  }
};

}  // namespace trig
