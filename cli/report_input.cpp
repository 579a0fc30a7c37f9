// The replay behind `trig report` and `trig graph` (report_input.h).
#include "cli/report_input.h"

#include <cstdio>
#include <iostream>

#include "cli/allocator.h"
#include "cli/commands.h"
#include "cli/printable.h"
#include "cli/run_common.h"
#include "compiler/plan/build.h"
#include "runtime/engine/replay.h"
#include "runtime/serve/dashboard.h"
#include "runtime/serve/store.h"

namespace trig::cli {
namespace {

// The time `--since` names: an RFC 3339 time, or a duration before the stamp of the log's last
// event (`7d`: its last seven days).
std::optional<TimeMs> sinceTime(const serve::Store& store, const std::string& text,
                                std::string& error) {
  if (auto t = parseTimestamp(text)) return t;
  auto d = parseDuration(text);
  if (!d || *d < 0) {
    error = "--since '" + text + "' is neither an RFC 3339 time nor a duration such as 7d";
    return std::nullopt;
  }
  TimeMs last = 0;
  bool any = false;
  for (uint64_t seq = store.lastSeq(); seq > 0 && !any; --seq) {
    if (!store.scanLog(
            seq,
            [&](const serve::LogEntry& e) {
              if (e.kind == serve::LogEntry::Kind::Event) any = true, last = e.stamp;
              return false;
            },
            error))
      return std::nullopt;
  }
  return last - *d;
}

int reportFromStore(const Compilation& c, const ReportInput& input, const std::string& prefix,
                    report::Report& out) {
  std::string error;
  std::unique_ptr<serve::Store> store = serve::Store::openReadOnly(input.data, error);
  if (!store) {
    std::cerr << prefix << error << "\n";
    return kExitUsage;
  }
  report::ReportOptions ropt;
  ropt.detectDiff = input.detect / 100.0;
  if (!input.since.empty()) {
    ropt.since = sinceTime(*store, input.since, error);
    if (!ropt.since) {
      std::cerr << prefix << error << "\n";
      return kExitUsage;
    }
  }
  std::string note;
  auto evaluator = cli::makeEvaluator(input.engine, c, note, error);
  if (!evaluator) {
    std::cerr << prefix << error << "\n";
    return kExitUsage;
  }
  PrintableBuf printableErr(std::cerr);
  std::ostream diagnostics(&printableErr);
  report::LogInput li = serve::logInput(*store);
  li.diagnostics = &diagnostics;
  li.progress = terminalProgress();
  li.warn = [](const std::string& w) { std::cerr << "trig: warning: " << printable(w) << "\n"; };
  auto rep = report::logReport(plan::buildProgram(c.model, c.sources), *evaluator, li, ropt, error);
  if (!rep) {
    std::cerr << prefix << error << "\n";
    return kExitUsage;
  }
  out = std::move(*rep);
  return kExitOk;
}

}  // namespace

int buildReport(const Compilation& c, const ReportInput& input, const std::string& command,
                report::Report& out) {
  const std::string prefix = "trig " + command + ": ";
  std::vector<std::string> events = input.events;
  if (!input.since.empty() && input.data.empty()) {
    std::cerr << prefix << "--since needs --data DIR (a live store's log)\n";
    return kExitUsage;
  }
  // No transparent huge pages for a report (cli/allocator.cpp asks jemalloc for them, for
  // `trig run`'s random reads of customer state): a report builds every customer's state from
  // nothing once (docs/performance.md, "Report").
  disableHugePages();
  // A live store: its log replayed through the rules in one pass (the rules it was decided
  // with: a store whose log saw a reload is reported under the rules given).
  if (!input.data.empty()) return reportFromStore(c, input, prefix, out);

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
  auto rep =
      report::replayReport(plan::buildProgram(c.model, c.sources), *evaluator, ri, ropt, error);
  if (!rep) {
    std::cerr << prefix << error << "\n";
    return kExitUsage;
  }
  out = std::move(*rep);
  return kExitOk;
}

}  // namespace trig::cli
