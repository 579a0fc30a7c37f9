#pragma once
// What `run`, `test` and `explain` share: refusing rule sets that fail `check`, and the run
// summary `--explain` prints on standard error.
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "cli/evaluators.h"
#include "compiler/driver/driver.h"
#include "runtime/engine/engine.h"
#include "runtime/engine/replay.h"

namespace trig::cli {

// Prints the diagnostics and returns the exit code when the compilation has errors (1) or an
// I/O error (2); kExitOk when it can run.
int refuseIfBroken(const Compilation& c, const std::string& command);

// A progress line on standard error for long replays ("trig: 2097152 of 10000000 events
// (20%), 412000 events/s"), redrawn at most four times a second and erased at the end. Null
// when standard error is not a terminal: logs and pipes get no progress noise.
std::function<void(uint64_t, uint64_t)> terminalProgress();

void printSummary(std::ostream& out, const engine::ReplayResult& rr, const engine::Stats& s,
                  const sema::Model& model);

}  // namespace trig::cli
