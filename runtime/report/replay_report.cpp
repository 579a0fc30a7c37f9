// The report of a replay (report.h, replayReport): the one place that wires an engine, its
// trace and coverage to a Collector. `trig report` (from event files or a live store's log) and
// the `trig serve` dashboard both call it, so they show the same numbers.
#include "runtime/engine/replay.h"
#include "runtime/ingest/reader.h"
#include "runtime/report/report.h"

namespace trig::report {

std::optional<Report> replayReport(const sema::Model& model, Evaluator& evaluator,
                                   const ReplayInput& input, const ReportOptions& options,
                                   std::string& error) {
  Collector collector(model);
  engine::Coverage coverage;
  engine::EngineOptions eo;
  eo.explain = true;
  eo.sink = [&](const engine::Record& r) { collector.add(r); };
  eo.coverage = &coverage;
  eo.trace = [&](const engine::TraceEntry& t) { collector.trace(t); };
  eo.warn = input.warn;
  engine::Engine eng(model, evaluator, eo);

  engine::ReplayOptions ro;
  ro.eventFiles = input.paths;
  ro.eventNames = input.names;
  ro.diagnostics = input.diagnostics;
  ro.progress = input.progress;
  ingest::Decoder replayDecoder(model);
  engine::ReplayResult rr = engine::replay(eng, replayDecoder, ro);
  if (!rr.ioError.empty()) {
    error = rr.ioError;
    return std::nullopt;
  }

  // The engagement pass: invalid lines were reported by the replay already.
  ingest::Decoder decoder(model);
  ingest::EventReader reader(decoder, ingest::ReaderOptions{});
  for (size_t i = 0; i < input.paths.size(); ++i) {
    const std::string name = i < input.names.size() ? input.names[i] : input.paths[i];
    if (!reader.readAll(input.paths[i], [&](Event& e) { collector.addEvent(e); }, error, name))
      return std::nullopt;
  }
  return collector.build(eng.stats(), coverage, options);
}

}  // namespace trig::report
