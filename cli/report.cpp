// `trig report RULES... --events FILE`: replay the events through the rules and report, per rule,
// step and variant, what was sent and what became of it, with the A/B verdict of every split
// (docs/report.md). Opens, clicks, bounces and unsubscribes are the input's own `email_open`,
// `email_click`, `email_bounce` and `unsubscribe` events, read a second time after the replay
// and matched to the sends by `message_id`.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/printable.h"
#include "cli/run_common.h"
#include "runtime/engine/replay.h"
#include "runtime/ingest/reader.h"
#include "runtime/report/report.h"
#include "runtime/serve/store.h"

namespace trig::cli {
namespace {

struct ReportOptions {
  std::vector<std::string> files;
  std::vector<std::string> events;
  std::string format = "text";
  std::string engine = engine::kDefaultEngine;
  std::string output;
  std::string data;
  double detect = 2.0;  // percentage points
};

// The accepted events of a serve data directory (what `trig log export` prints) in a new
// temporary file, which the caller deletes; "" with `error` on failure.
std::string exportedLog(const std::string& dir, std::string& error) {
  auto store = serve::Store::openReadOnly(dir, error);
  if (!store) return "";
  std::string path = (std::filesystem::temp_directory_path() / "trig-report-XXXXXX").string();
  int fd = mkstemp(path.data());
  if (fd < 0) {
    error = "cannot create a temporary file: " + std::string(std::strerror(errno));
    return "";
  }
  FILE* out = fdopen(fd, "w");
  bool ok = store->scanLog(
      1,
      [&](const serve::LogEntry& e) {
        if (e.kind != serve::LogEntry::Kind::Event) return true;
        return std::fwrite(e.data.data(), 1, e.data.size(), out) == e.data.size() &&
               std::fputc('\n', out) != EOF;
      },
      error);
  if (std::fclose(out) != 0 && ok) error = "cannot write " + path + ": " + std::strerror(errno);
  if (!ok || !error.empty()) {
    if (error.empty()) error = "cannot write " + path;
    std::remove(path.c_str());
    return "";
  }
  return path;
}

int runReport(ReportOptions o) {
  if (o.files.empty() || o.events.empty() == o.data.empty()) {
    std::cerr << "trig report: give the rules and either --events FILE or --data DIR\n";
    return kExitUsage;
  }
  // A live store: its log replayed through the rules (the rules it was decided with: a store
  // whose log saw a reload is reported under the rules given).
  std::string exported;
  if (!o.data.empty()) {
    std::string error;
    exported = exportedLog(o.data, error);
    if (exported.empty()) {
      std::cerr << "trig report: " << error << "\n";
      return kExitUsage;
    }
    o.events = {exported};
  }
  struct RemoveExported {
    std::string path;
    ~RemoveExported() {
      if (!path.empty()) std::remove(path.c_str());
    }
  } removeExported{exported};
  if (!(o.detect > 0 && o.detect <= 100)) {
    std::cerr << "trig report: --detect must be a difference in percentage points in (0, 100]\n";
    return kExitUsage;
  }
  auto c = compile(o.files);
  if (int rc = refuseIfBroken(*c, "report"); rc != kExitOk) return rc;
  std::string note, error;
  auto evaluator = engine::makeEvaluator(o.engine, *c, note, error);
  if (!evaluator) {
    std::cerr << "trig report: " << error << "\n";
    return kExitUsage;
  }

  // The events are read twice (the replay, then the engagement pass): standard input and pipes
  // are copied to a temporary file first.
  std::vector<std::string> paths, names, temporaries;
  for (const auto& f : o.events) {
    std::string p = engine::readableTwice(f, error);
    if (p.empty()) {
      std::cerr << "trig report: " << error << "\n";
      for (const auto& t : temporaries) std::remove(t.c_str());
      return kExitUsage;
    }
    if (p != f) temporaries.push_back(p);
    paths.push_back(p);
    names.push_back(f == "-" ? "<stdin>" : f);
  }
  struct Cleanup {
    std::vector<std::string>& files;
    ~Cleanup() {
      for (const auto& t : files) std::remove(t.c_str());
    }
  } cleanup{temporaries};

  report::Collector collector(c->model);
  engine::Coverage coverage;
  engine::EngineOptions eo;
  eo.explain = true;
  eo.sink = [&](const engine::Record& r) { collector.add(r); };
  eo.coverage = &coverage;
  eo.trace = [&](const engine::TraceEntry& t) { collector.trace(t); };
  eo.warn = [](const std::string& w) { std::cerr << "trig: warning: " << printable(w) << "\n"; };
  engine::Engine eng(c->model, *evaluator, eo);

  engine::ReplayOptions ro;
  ro.eventFiles = paths;
  ro.eventNames = names;
  PrintableBuf printableErr(std::cerr);
  std::ostream diagnostics(&printableErr);
  ro.diagnostics = &diagnostics;
  ro.progress = terminalProgress();
  engine::ReplayResult rr = engine::replay(eng, c->model, ro);
  if (!rr.ioError.empty()) {
    std::cerr << "trig report: " << rr.ioError << "\n";
    return kExitUsage;
  }

  // The engagement pass: invalid lines were reported by the replay already.
  ingest::Decoder decoder(c->model);
  ingest::EventReader reader(decoder, ingest::ReaderOptions{});
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!reader.readAll(paths[i], [&](Event& e) { collector.addEvent(e); }, error, names[i])) {
      std::cerr << "trig report: " << error << "\n";
      return kExitUsage;
    }
  }

  report::ReportOptions ropt;
  ropt.detectDiff = o.detect / 100.0;
  report::Report rep = collector.build(eng.stats(), coverage, ropt);
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
  cmd->callback([o, &action] { action = [o] { return runReport(*o); }; });
}

}  // namespace trig::cli
