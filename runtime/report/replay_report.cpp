// The report of a replay (report.h, replayReport): the one place that wires an engine, its
// trace and coverage to a Collector. `trig report` (from event files or a live store's log) and
// the `trig serve` dashboard both call it, so they show the same numbers.
#include <array>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
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

std::optional<Report> replayReport(const plan::Program& program, Evaluator& evaluator,
                                   const ReplayInput& input, const ReportOptions& options,
                                   std::string& error) {
  Collector collector(program);
  engine::Coverage coverage;
  engine::Engine eng(program.plan, evaluator, reportOptions(collector, coverage, input.warn));

  engine::ReplayOptions ro;
  ro.eventFiles = input.paths;
  ro.eventNames = input.names;
  ro.diagnostics = input.diagnostics;
  ro.progress = input.progress;
  ingest::Decoder replayDecoder(program.ingest);
  engine::ReplayResult rr = engine::replay(eng, replayDecoder, ro);
  if (!rr.ioError.empty()) {
    error = rr.ioError;
    return std::nullopt;
  }

  // The engagement pass: invalid lines were reported by the replay already.
  ingest::Decoder decoder(program.ingest);
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

namespace {

// One log entry, decoded (logReport).
struct Decoded {
  uint64_t seq = 0;
  TimeMs stamp = 0;
  bool ok = false;
  bool failedClosed = false;  // !ok, and the event must still be applied (Decoder::failedClosed)
  Event event;
  std::string reason;  // !ok: why
};

// The log read and decoded ahead of the engine, on a thread of its own (LogInput::readAhead):
// batches of entries go from the reader to the engine through a queue of a few batches, and come
// back to be filled again, so that their events' buffers are reused as the decoder reuses them.
// The engine takes them in log order, so the report is the same as that of one thread.
class ReadAhead {
 public:
  static constexpr size_t kBatch = 1024;  // entries
  static constexpr size_t kBatches = 8;   // in flight at most (about 2 MB of events)

  struct Batch {
    std::vector<Decoded> items;
    size_t size = 0;
  };

  ReadAhead(const plan::IngestPlan& events, const LogScan& scan) : decoder_(events) {
    for (auto& b : batches_) {
      b.items.resize(kBatch);
      free_.push_back(&b);
    }
    thread_ = std::thread([this, &scan] { run(scan); });
  }
  ~ReadAhead() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;  // the reader stops at its next entry (the engine stopped early)
    }
    cv_.notify_all();
    thread_.join();
  }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next batch in log order, null at the end of the log. Hand it back with release().
  Batch* next() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) return nullptr;
    Batch* b = ready_.front();
    ready_.pop_front();
    return b;
  }
  void release(Batch* b) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(b);
    }
    cv_.notify_all();
  }
  // After next() returned null: whether the scan succeeded, and its error when not.
  bool ok(std::string& error) {
    if (failure_) std::rethrow_exception(failure_);
    if (!scanOk_) error = scanError_;
    return scanOk_;
  }

 private:
  void run(const LogScan& scan) {
    Batch* b = nullptr;
    auto push = [&] {
      if (!b) return;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.push_back(b);
      }
      cv_.notify_all();
      b = nullptr;
    };
    try {
      scanOk_ = scan(
          [&](uint64_t seq, TimeMs stamp, std::string_view json) {
            if (!b) {
              std::unique_lock<std::mutex> lock(mutex_);
              cv_.wait(lock, [&] { return !free_.empty() || stop_; });
              if (stop_) return false;
              b = free_.front();
              free_.pop_front();
              b->size = 0;
            }
            Decoded& d = b->items[b->size++];
            d.seq = seq;
            d.stamp = stamp;
            d.ok = decoder_.decode(json, d.event, d.reason, stamp);
            d.failedClosed = !d.ok && decoder_.failedClosed();
            if (b->size == kBatch) push();
            return true;
          },
          scanError_);
    } catch (...) {
      failure_ = std::current_exception();  // rethrown to the engine's thread by ok()
    }
    push();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
  }

  ingest::Decoder decoder_;
  std::array<Batch, kBatches> batches_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Batch*> free_, ready_;
  bool stop_ = false, done_ = false;
  // Written by the reader before done_ is set, read after next() returned null.
  bool scanOk_ = false;
  std::string scanError_;
  std::exception_ptr failure_;
  std::thread thread_;  // last: started once everything above is built
};

}  // namespace

std::optional<Report> logReport(const plan::Program& program, Evaluator& evaluator,
                                const LogInput& input, const ReportOptions& options,
                                std::string& error) {
  Collector collector(program);
  engine::Coverage coverage;
  engine::Engine eng(program.plan, evaluator, reportOptions(collector, coverage, input.warn));

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

  const EventSource logSource = EventSource::named("log");
  std::set<std::string> undeclared;
  uint64_t done = 0;
  // One decoded entry, in log order.
  auto apply = [&](uint64_t seq, TimeMs stamp, bool ok, bool failedClosed, Event& event,
                   const std::string& reason) {
    if (input.progress && ++done % (1 << 16) == 0) input.progress(done, input.entries);
    if (options.since && !statsBefore && stamp >= *options.since) open(*options.since);
    if (!ok) {
      // Accepted by serve under other rules (a reload came between): as an invalid line of
      // an export replayed, reported and skipped (an opt-out that cannot be read still
      // opts out).
      if (input.diagnostics)
        *input.diagnostics << "log entry " << seq << ": error: " << reason << "\n";
      if (!failedClosed) return;
    }
    event.seq = seq;
    event.source = logSource;
    event.source.line = seq;
    if (event.kind == Event::Kind::Undeclared && !program.plan.settings.ignoreUndeclared &&
        undeclared.insert(event.name).second && input.diagnostics)
      *input.diagnostics << event.source << ": warning: event '" << event.name
                         << "' is not declared; it counts as activity and is otherwise "
                            "ignored\n";
    eng.process(event);
    collector.addEventNow(event);
  };

  bool ok = true;
  if (input.readAhead) {
    ReadAhead reader(program.ingest, input.scan);
    while (ReadAhead::Batch* b = reader.next()) {
      for (size_t i = 0; i < b->size; ++i) {
        Decoded& d = b->items[i];
        apply(d.seq, d.stamp, d.ok, d.failedClosed, d.event, d.reason);
      }
      reader.release(b);
    }
    ok = reader.ok(error);
  } else {
    ingest::Decoder decoder(program.ingest);
    Event event;
    std::string reason;
    ok = input.scan(
        [&](uint64_t seq, TimeMs stamp, std::string_view json) {
          const bool decoded = decoder.decode(json, event, reason, stamp);
          apply(seq, stamp, decoded, !decoded && decoder.failedClosed(), event, reason);
          return true;
        },
        error);
  }
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
