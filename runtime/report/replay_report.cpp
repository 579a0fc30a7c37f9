// The report of a replay (report.h, replayReport): the one place that wires an engine, its
// trace and coverage to a Collector. `trig report` (from event files or a live store's log) and
// the `trig serve` dashboard both call it, so they show the same numbers.
#include <functional>
#include <set>
#include <unordered_map>

#include "runtime/engine/replay.h"
#include "runtime/ingest/reader.h"
#include "runtime/report/report.h"

namespace trig::report {

namespace {

// The engine's options for a report: every decision and the trace entries the collector reads,
// into `collector`, with coverage (entered variants).
engine::EngineOptions reportOptions(Collector& collector, engine::Coverage& coverage,
                                    std::function<void(const std::string&)> warn) {
  engine::EngineOptions eo;
  eo.explain = true;
  eo.sink = [&collector](const engine::Record& r) { collector.add(r); };
  eo.coverage = &coverage;
  eo.trace = [&collector](const engine::TraceEntry& t) { collector.trace(t); };
  eo.traceKinds = Collector::kTraceKinds;
  eo.warn = std::move(warn);
  return eo;
}

}  // namespace

std::optional<Report> replayReport(const sema::Model& model, Evaluator& evaluator,
                                   const ReplayInput& input, const ReportOptions& options,
                                   std::string& error) {
  Collector collector(model);
  engine::Coverage coverage;
  engine::Engine eng(plan::buildPlan(model), evaluator,
                     reportOptions(collector, coverage, input.warn));

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

namespace trig::report {
namespace {

// a - b, for the counters a window leaves out (ReportOptions::since).
engine::Stats minus(engine::Stats a, const engine::Stats& b) {
  a.events -= b.events;
  a.undeclared -= b.undeclared;
  a.droppedById -= b.droppedById;
  a.droppedByContent -= b.droppedByContent;
  a.sends -= b.sends;
  a.deferred -= b.deferred;
  for (const auto& [reason, n] : b.suppressed) a.suppressed[reason] -= n;
  for (size_t i = 0; i < a.rules.size() && i < b.rules.size(); ++i) {
    auto& r = a.rules[i];
    const auto& o = b.rules[i];
    r.fired -= o.fired;
    r.sends -= o.sends;
    r.conversions -= o.conversions;
    r.conversionsWithoutMessage -= o.conversionsWithoutMessage;
    for (const auto& [name, v] : o.variants) {
      auto& x = r.variants[name];
      x.sends -= v.sends;
      x.heldOut -= v.heldOut;
      x.conversions -= v.conversions;
    }
  }
  return a;
}

}  // namespace

std::optional<Report> logReport(const sema::Model& model, Evaluator& evaluator,
                                const LogInput& input, const ReportOptions& options,
                                std::string& error) {
  Collector collector(model);
  engine::Coverage coverage;
  engine::Engine eng(plan::buildPlan(model), evaluator,
                     reportOptions(collector, coverage, input.warn));

  // With a window: the counters as they stood when it opened, taken off at the end.
  std::optional<engine::Stats> statsBefore;
  std::optional<std::unordered_map<uint64_t, uint64_t>> enteredBefore;
  auto open = [&](TimeMs t) {
    // Timers and decisions due before `since` run first; those due at it belong to the window.
    eng.advanceTo(t, false);
    statsBefore = eng.stats();
    enteredBefore = coverage.variants;
  };
  if (options.since) collector.countFrom(*options.since);

  ingest::Decoder decoder(model);
  Event event;
  std::string reason;
  std::set<std::string> undeclared;
  uint64_t done = 0;
  bool ok = input.scan(
      [&](uint64_t seq, TimeMs stamp, std::string_view json) {
        if (input.progress && ++done % (1 << 16) == 0) input.progress(done, input.entries);
        if (options.since && !statsBefore && stamp >= *options.since) open(*options.since);
        if (!decoder.decode(json, event, reason, stamp)) {
          // Accepted by serve under other rules (a reload came between): as an invalid line of
          // an export replayed, reported and skipped (an opt-out that cannot be read still
          // opts out).
          if (input.diagnostics)
            *input.diagnostics << "log entry " << seq << ": error: " << reason << "\n";
          if (!decoder.failedClosed()) return true;
        }
        event.seq = seq;
        event.source = EventSource::named("log", seq);
        if (event.kind == Event::Kind::Undeclared && !model.settings.ignoreUndeclared &&
            undeclared.insert(event.name).second && input.diagnostics)
          *input.diagnostics << event.source << ": warning: event '" << event.name
                             << "' is not declared; it counts as activity and is otherwise "
                                "ignored\n";
        eng.process(event);
        collector.addEventNow(event);
        return true;
      },
      error);
  if (!ok) return std::nullopt;
  if (options.since && !statsBefore) open(*options.since);
  eng.finish();
  if (input.progress) input.progress(done, done);
  collector.applyDeferred();
  if (!statsBefore) return collector.build(eng.stats(), coverage, options);
  for (const auto& [v, n] : *enteredBefore) coverage.variants[v] -= n;
  return collector.build(minus(eng.stats(), *statsBefore), coverage, options);
}

}  // namespace trig::report
