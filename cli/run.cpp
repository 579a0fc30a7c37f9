// `trig run FILE... --events EVENTS.jsonl`: replay events through the rules and print the sends
// (with --explain also every suppression, deferral and dropped duplicate), one JSON object per
// line, ordered by time, customer, rule declaration order and step.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli/commands.h"
#include "cli/printable.h"
#include "cli/run_common.h"
#include "compiler/plan/build.h"
#include "runtime/engine/record_json.h"
#include "runtime/engine/replay.h"

namespace trig::cli {
namespace {

struct RunOptions {
  std::vector<std::string> files;
  std::vector<std::string> events;
  bool explain = false;
  std::string until;
  std::string engine = cli::kDefaultEngine;
  std::string deadLetter;
  bool strict = false;
};

int runRun(const RunOptions& o) {
  std::optional<TimeMs> until;
  if (!o.until.empty()) {
    until = parseTimestamp(o.until);
    if (!until) {
      std::cerr << "trig run: --until '" << o.until
                << "' is not an RFC 3339 timestamp (2026-01-01T10:00:00Z)\n";
      return kExitUsage;
    }
  }
  auto c = compile(o.files);
  if (int rc = refuseIfBroken(*c, "run"); rc != kExitOk) return rc;
  std::string note, error;
  auto evaluator = cli::makeEvaluator(o.engine, *c, note, error);
  if (!evaluator) {
    std::cerr << "trig run: " << error << "\n";
    return kExitUsage;
  }
  if (o.explain && !note.empty()) std::cerr << "trig: note: " << note << "\n";

  // Records are built in one buffer and written a batch at a time (a terminal gets each line
  // as it comes).
  engine::RecordWriter writer(plan::ruleNames(c->model), plan::SourceMap::of(c->sources));
  engine::LineBuffer out;
  const size_t batch = isatty(STDOUT_FILENO) != 0 ? 0 : size_t{1} << 16;
  auto writeOut = [&out] {
    if (out.size() != 0) std::fwrite(out.view().data(), 1, out.size(), stdout);
    out.clear();
  };
  engine::EngineOptions eo;
  eo.explain = o.explain;
  eo.bodies = false;  // a record's line has no body (a body's missing variable still counts)
  eo.sink = [&](const engine::Record& r) {
    writer.appendLine(out, r);
    if (out.size() > batch) writeOut();
  };
  // Warnings and the replay's messages quote event data: control characters are escaped.
  eo.warn = [](const std::string& w) { std::cerr << "trig: warning: " << printable(w) << "\n"; };
  engine::Engine eng(plan::buildPlan(c->model), *evaluator, eo);

  engine::ReplayOptions ro;
  ro.eventFiles = o.events;
  ro.until = until;
  ro.deadLetter = o.deadLetter;
  PrintableBuf printableErr(std::cerr);
  std::ostream diagnostics(&printableErr);
  ro.diagnostics = &diagnostics;
  ro.progress = terminalProgress();
  ingest::Decoder decoder(plan::buildIngestPlan(c->model));
  engine::ReplayResult rr = engine::replay(eng, decoder, ro);
  writeOut();
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::cerr << "trig run: cannot write the records to standard output: " << std::strerror(errno)
              << "\n";
    return kExitUsage;
  }
  if (!rr.ioError.empty()) {
    std::cerr << "trig run: " << rr.ioError << "\n";
    return kExitUsage;
  }
  if (o.explain) printSummary(std::cerr, rr, eng.stats(), c->model);
  if (o.strict && rr.rejected > 0) {
    std::cerr << "trig run: " << rr.rejected << " invalid event(s) rejected (--strict)\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

void addRunCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand(
      "run", "Replay events through the rules and print the sends as JSON lines");
  cmd->add_option("files", o->files, "The .trig files (imports are followed)")->required();
  cmd->add_option("--events", o->events,
                  "Events as JSON lines (Segment track/identify); - for standard input")
      ->required();
  cmd->add_flag("--explain", o->explain,
                "Also print suppressed and deferred sends and dropped duplicates, with reasons");
  cmd->add_option("--until", o->until,
                  "Stop the clock at this RFC 3339 time instead of running every timer");
  cmd->add_option("--engine", o->engine,
                  "Condition evaluator: jit (native code, the default) or interp (the reference "
                  "interpreter)")
      ->check(CLI::IsMember({"jit", "interp"}));
  cmd->add_option("--dead-letter", o->deadLetter,
                  "Append rejected events to this file (JSON lines)");
  cmd->add_flag("--strict", o->strict, "Exit 1 when any event was rejected");
  cmd->callback([o, &action] { action = [o] { return runRun(*o); }; });
}

}  // namespace trig::cli
