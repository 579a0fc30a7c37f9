#pragma once
// `trig explain`'s timeline for one customer, shared by the command and the `trig serve`
// dashboard's customer lookup (cli/serve.cpp wires it in).
#include <ostream>
#include <string>

#include "compiler/interp/eval.h"
#include "compiler/sema/model.h"
#include "compiler/source/source.h"
#include "runtime/engine/replay.h"

namespace trig::cli {

// Replays `ro`'s events through the rules, tracing `customer`, and writes what `trig explain`
// prints on `out` (warnings and invalid lines on `err`). The exit code: 0, or 2 when an event
// file cannot be read.
int explainCustomer(const sema::Model& model, const SourceManager& sources, Evaluator& evaluator,
                    const engine::ReplayOptions& ro, const std::string& customer, std::ostream& out,
                    std::ostream& err);

}  // namespace trig::cli
