// The replay behind `trig report` and `trig graph` (report_input.h).
#include "cli/report_input.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/printable.h"
#include "cli/run_common.h"
#include "runtime/engine/replay.h"
#include "runtime/ingest/reader.h"
#include "runtime/serve/store.h"

namespace trig::cli {
namespace {

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

}  // namespace

int buildReport(const Compilation& c, const ReportInput& input, const std::string& command,
                report::Report& out) {
  const std::string prefix = "trig " + command + ": ";
  std::vector<std::string> events = input.events;
  // A live store: its log replayed through the rules (the rules it was decided with: a store
  // whose log saw a reload is reported under the rules given).
  std::string exported;
  if (!input.data.empty()) {
    std::string error;
    exported = exportedLog(input.data, error);
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
  auto evaluator = engine::makeEvaluator(input.engine, c, note, error);
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

  report::Collector collector(c.model);
  engine::Coverage coverage;
  engine::EngineOptions eo;
  eo.explain = true;
  eo.sink = [&](const engine::Record& r) { collector.add(r); };
  eo.coverage = &coverage;
  eo.trace = [&](const engine::TraceEntry& t) { collector.trace(t); };
  eo.warn = [](const std::string& w) { std::cerr << "trig: warning: " << printable(w) << "\n"; };
  engine::Engine eng(c.model, *evaluator, eo);

  engine::ReplayOptions ro;
  ro.eventFiles = paths;
  ro.eventNames = names;
  PrintableBuf printableErr(std::cerr);
  std::ostream diagnostics(&printableErr);
  ro.diagnostics = &diagnostics;
  ro.progress = terminalProgress();
  engine::ReplayResult rr = engine::replay(eng, c.model, ro);
  if (!rr.ioError.empty()) {
    std::cerr << prefix << rr.ioError << "\n";
    return kExitUsage;
  }

  // The engagement pass: invalid lines were reported by the replay already.
  ingest::Decoder decoder(c.model);
  ingest::EventReader reader(decoder, ingest::ReaderOptions{});
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!reader.readAll(paths[i], [&](Event& e) { collector.addEvent(e); }, error, names[i])) {
      std::cerr << prefix << error << "\n";
      return kExitUsage;
    }
  }

  report::ReportOptions ropt;
  ropt.detectDiff = input.detect / 100.0;
  out = collector.build(eng.stats(), coverage, ropt);
  return kExitOk;
}

}  // namespace trig::cli
