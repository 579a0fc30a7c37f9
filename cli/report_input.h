#pragma once
// How `trig report` gets its numbers, shared with `trig graph --events/--data` (and through
// graph_counts.h with the dashboard's flowcharts): the events replayed through the rules, the
// engagement events read a second time, a report::Report built.
#include <string>
#include <vector>

#include "cli/evaluators.h"
#include "compiler/driver/driver.h"
#include "runtime/report/report.h"

namespace trig::cli {

struct ReportInput {
  std::vector<std::string> events;  // JSON-lines files ("-" for standard input)
  std::string data;                 // or a live store's directory (read-only)
  std::string engine = cli::kDefaultEngine;
  double detect = 2.0;  // percentage points
  // `--since` (with `data` only): an RFC 3339 time, or a duration ("7d") before the log's last
  // event.
  std::string since;
};

// Replays `input` through the checked compilation `c` into `out`. Errors are printed on
// standard error as "trig COMMAND: ..."; returns kExitOk or the exit code.
int buildReport(const Compilation& c, const ReportInput& input, const std::string& command,
                report::Report& out);

}  // namespace trig::cli
