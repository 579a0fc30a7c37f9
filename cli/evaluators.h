#pragma once
// The evaluator behind `--engine jit|interp`. One place decides which implementation a name
// means, so `run`, `test`, `explain`, `diff` and `serve` agree. It is wiring, not runtime: the
// engine takes any Evaluator and never names the interpreter or the JIT (docs/architecture.md,
// "Layers"); bench/latency compiles this file too.
#include <memory>
#include <string>
#include <string_view>

#include "compiler/driver/driver.h"
#include "compiler/interp/eval.h"

namespace trig::cli {

// The names `--engine` accepts.
inline constexpr const char* kEngineNames[] = {"jit", "interp"};
inline constexpr const char* kDefaultEngine = "jit";

// Builds the evaluator for `name` over a compilation without errors: "jit" the native code of
// compiler/jit (which hands the rare expression it does not compile to the interpreter),
// "interp" the reference interpreter. `note` carries anything --explain should mention. Returns
// null, with `error` set, for an unknown name or a JIT failure. `c` must outlive the evaluator.
std::unique_ptr<Evaluator> makeEvaluator(std::string_view name, const Compilation& c,
                                         std::string& note, std::string& error);

}  // namespace trig::cli
