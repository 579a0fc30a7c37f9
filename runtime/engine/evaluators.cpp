#include "runtime/engine/evaluators.h"

#include "compiler/interp/interp.h"
#include "runtime/jit/jit_evaluator.h"

namespace trig::engine {

std::unique_ptr<Evaluator> makeEvaluator(std::string_view name, const Compilation& c, std::string& note,
                                         std::string& error) {
  if (name == "interp") return std::make_unique<interp::Interpreter>(c.model);
  if (name == "jit") {
    try {
      return jit::makeJitEvaluator(c, jit::JitOptions{}, nullptr);
    } catch (const jit::JitError& e) {
      // An internal failure of code generation must not cost the user the run: the interpreter
      // gives the same answers, only slower.
      note = std::string("the JIT failed (") + e.what() + "); using the reference interpreter";
      return std::make_unique<interp::Interpreter>(c.model);
    }
  }
  error = "unknown engine '" + std::string(name) + "' (expected jit or interp)";
  return nullptr;
}

}  // namespace trig::engine
