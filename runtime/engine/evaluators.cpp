#include "runtime/engine/evaluators.h"

#include "compiler/interp/interp.h"

namespace trig::engine {

std::unique_ptr<Evaluator> makeEvaluator(std::string_view name, const Compilation& c, std::string& note,
                                         std::string& error) {
  if (name == "interp") return std::make_unique<interp::Interpreter>(c.model);
  if (name == "jit") {
    note = "the JIT is not built yet: --engine jit uses the reference interpreter";
    return std::make_unique<interp::Interpreter>(c.model);
  }
  error = "unknown engine '" + std::string(name) + "' (expected jit or interp)";
  return nullptr;
}

}  // namespace trig::engine
