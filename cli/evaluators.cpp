#include "cli/evaluators.h"

#include "compiler/interp/interp.h"
#include "compiler/jit/jit_evaluator.h"

namespace trig::cli {

std::unique_ptr<Evaluator> makeEvaluator(std::string_view name, const Compilation& c,
                                         std::string& note, std::string& error) {
  if (name == "interp") return std::make_unique<interp::Interpreter>(c.model);
  if (name == "jit") {
    // Optimised code from the compiled-code cache ($TRIG_CACHE_DIR, `off` to disable), else
    // compiled now; a large rule set starts on a fast tier while it compiles (compiler/jit).
    jit::JitOptions o;
    o.tiered = true;
    try {
      auto jitEval =
          std::make_unique<jit::JitEvaluator>(c, o, std::make_unique<interp::Interpreter>(c.model));
      if (size_t n = jitEval->code().fallbacks().size(); n > 0)
        note = std::to_string(n) + (n == 1 ? " expression runs" : " expressions run") +
               " in the interpreter (see trig compile)";
      return jitEval;
    } catch (const jit::JitError& e) {
      error = std::string("the JIT could not compile the rules (internal error): ") + e.what();
      return nullptr;
    }
  }
  error = "unknown engine '" + std::string(name) + "' (expected jit or interp)";
  return nullptr;
}

}  // namespace trig::cli
