// The replay behind `trig report` and `trig graph` (report_input.h).
#include "cli/report_input.h"

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/printable.h"
#include "cli/run_common.h"
#include "runtime/engine/replay.h"
#include "runtime/serve/dashboard.h"
#include "runtime/serve/store.h"

namespace trig::cli {

int buildReport(const Compilation& c, const ReportInput& input, const std::string& command,
                report::Report& out) {
  const std::string prefix = "trig " + command + ": ";
  std::vector<std::string> events = input.events;
  // A live store: its log replayed through the rules (the rules it was decided with: a store
  // whose log saw a reload is reported under the rules given).
  std::string exported;
  if (!input.data.empty()) {
    std::string error;
    if (auto store = serve::Store::openReadOnly(input.data, error))
      exported = serve::exportLog(*store, error);
    if (exported.empty()) {
      std::cerr << prefix << error << "\n";
      return kExitUsage;
    }
    events = {exported};
  }
  struct RemoveExported {
    std::string path;
    ~RemoveExported() {
      if (!path.empty()) std::remove(path.c_str());
    }
  } removeExported{exported};

  std::string note, error;
  auto evaluator = cli::makeEvaluator(input.engine, c, note, error);
  if (!evaluator) {
    std::cerr << prefix << error << "\n";
    return kExitUsage;
  }

  // The events are read twice (the replay, then the engagement pass): standard input and pipes
  // are copied to a temporary file first.
  std::vector<std::string> paths, names, temporaries;
  struct Cleanup {
    std::vector<std::string>& files;
    ~Cleanup() {
      for (const auto& t : files) std::remove(t.c_str());
    }
  } cleanup{temporaries};
  for (const auto& f : events) {
    std::string p = engine::readableTwice(f, error);
    if (p.empty()) {
      std::cerr << prefix << error << "\n";
      return kExitUsage;
    }
    if (p != f) temporaries.push_back(p);
    paths.push_back(p);
    names.push_back(f == "-" ? "<stdin>" : f);
  }

  PrintableBuf printableErr(std::cerr);
  std::ostream diagnostics(&printableErr);
  report::ReplayInput ri;
  ri.paths = paths;
  ri.names = names;
  ri.diagnostics = &diagnostics;
  ri.progress = terminalProgress();
  ri.warn = [](const std::string& w) { std::cerr << "trig: warning: " << printable(w) << "\n"; };
  report::ReportOptions ropt;
  ropt.detectDiff = input.detect / 100.0;
  auto rep = report::replayReport(c.model, *evaluator, ri, ropt, error);
  if (!rep) {
    std::cerr << prefix << error << "\n";
    return kExitUsage;
  }
  out = std::move(*rep);
  return kExitOk;
}

}  // namespace trig::cli
