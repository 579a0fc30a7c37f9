// `trig report RULES... --events FILE`: replay the events through the rules and report, per rule,
// step and variant, what was sent and what became of it, with the A/B verdict of every split
// (docs/report.md). Opens, clicks, bounces and unsubscribes are the input's own `email_open`,
// `email_click`, `email_bounce` and `unsubscribe` events, read a second time after the replay
// and matched to the sends by `message_id`.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/report_input.h"
#include "cli/run_common.h"
#include "runtime/report/report.h"

namespace trig::cli {
namespace {

struct ReportOptions {
  std::vector<std::string> files;
  std::vector<std::string> events;
  std::string format = "text";
  std::string engine = cli::kDefaultEngine;
  std::string output;
  std::string data;
  std::string since;
  double detect = 2.0;  // percentage points
};

int runReport(const ReportOptions& o) {
  if (o.files.empty() || o.events.empty() == o.data.empty()) {
    std::cerr << "trig report: give the rules and either --events FILE or --data DIR\n";
    return kExitUsage;
  }
  if (!(o.detect > 0 && o.detect <= 100)) {
    std::cerr << "trig report: --detect must be a difference in percentage points in (0, 100]\n";
    return kExitUsage;
  }
  auto c = compile(o.files);
  if (int rc = refuseIfBroken(*c, "report"); rc != kExitOk) return rc;
  ReportInput input;
  input.events = o.events;
  input.data = o.data;
  input.engine = o.engine;
  input.detect = o.detect;
  input.since = o.since;
  report::Report rep;
  if (int rc = buildReport(*c, input, "report", rep); rc != kExitOk) return rc;
  std::string text = o.format == "json"   ? report::renderJson(rep)
                     : o.format == "html" ? report::renderHtml(rep)
                                          : report::renderText(rep);
  if (o.output.empty() || o.output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
      std::cerr << "trig report: cannot write to standard output: " << std::strerror(errno) << "\n";
      return kExitUsage;
    }
  } else {
    std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::cerr << "trig report: cannot write " << o.output << ": " << std::strerror(errno) << "\n";
      return kExitUsage;
    }
  }
  return kExitOk;
}

}  // namespace

void addReportCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand(
      "report", "Replay events and report sends, opens, clicks, conversions and A/B verdicts");
  cmd->add_option("files", o->files, "The .trig files (imports are followed)");
  cmd->add_option("--events", o->events,
                  "Events as JSON lines, engagement events (email_open, email_click, ...) "
                  "included; - for standard input");
  cmd->add_option("--format", o->format, "text (the default), json or html")
      ->check(CLI::IsMember({"text", "json", "html"}));
  cmd->add_option("--engine", o->engine,
                  "Condition evaluator: jit (native code, the default) or interp")
      ->check(CLI::IsMember({"jit", "interp"}));
  cmd->add_option("--output", o->output, "Write the report to this file instead of stdout");
  cmd->add_option("--detect", o->detect,
                  "The difference, in percentage points, sample sizes are computed for "
                  "(default 2)");
  cmd->add_option("--data", o->data,
                  "A live store (trig serve --data DIR): its event log replayed through the rules");
  cmd->add_option("--since", o->since,
                  "With --data: count from this time on, an RFC 3339 time or a duration before "
                  "the log's last event (7d)");
  cmd->callback([o, &action] { action = [o] { return runReport(*o); }; });
}

}  // namespace trig::cli
