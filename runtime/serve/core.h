#pragma once
// The heart of `trig serve` (docs/serve.md): one thread that owns the engine. It takes what the
// ingest API accepted, stamps each event with the clock, appends the batch to the log with one
// synced write (group commit: everything that arrived while the last write was on its way goes
// in the next), answers the requests, then feeds the events to the engine and runs its clock.
// The engine's decisions are stored (decision records, and the outbox for sends) and handed to
// delivery.
//
// The log is the truth: at start the core replays it from the first entry, so the engine's
// state after a crash is the state the acknowledged events give, processed exactly once; sends
// already in the outbox are not handed over again. Time:
// - wall clock: an event is stamped max(now, the last stamp); between events the engine is run
//   on to now, so timers fire on time;
// - manual clock: events are stamped with the clock, which only a clock entry moves.
// Either way the engine is run on to a time T with the decisions due exactly at T left for
// later (an event stamped T may still come, and in a replay it comes before them).
//
// Reload: a new rule set comes into force between two log entries. The engine is rebuilt under
// it by replaying the log so far silently (no records, no sends): the state is what the new
// rules would have made of the same history, so a flow whose rule still exists goes on under its
// new definition; the flows of removed rules end with a `rule_removed` record. A restart with
// other rules on disk is a reload after the replay.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/engine/engine.h"
#include "runtime/engine/record_json.h"
#include "runtime/ingest/decoder.h"
#include "runtime/serve/metrics.h"
#include "runtime/serve/store.h"

namespace trig::serve {

// A checked rule set as the service runs it: the program's plan (plan::Program: the rule plan, the
// ingest plan, the source map) and its evaluator, both built by the command that compiled it (the
// service sees no AST or sema model); `owner` keeps what the pointers point into alive.
struct RuleSet {
  std::shared_ptr<void> owner;
  const plan::Program* program = nullptr;
  Evaluator* evaluator = nullptr;
  std::string version;  // a hash of the rule and template files' text (16 hex digits)
  double compileSeconds = 0;
  // What it was compiled from: the paths given, and every rule and template file read with its
  // text (stored with the log, so that a restart replays each part of the log with the rules it
  // was decided with, whatever the files on disk say by then).
  std::vector<std::string> paths;
  std::vector<std::pair<std::string, std::string>> files;
};

// Compiles a rule set (the command's callback: compiling is not the runtime's): the files on disk
// when `stored` is null, else `stored`'s paths and files (nothing read from disk). Null with
// `diagnostics` (as `trig check` prints them) on errors.
using RuleLoader =
    std::function<std::shared_ptr<const RuleSet>(const RuleSet* stored, std::string& diagnostics)>;

// A rule set's paths and files as bytes for the store, and back (false when corrupt).
std::string encodeRuleFiles(const RuleSet& r);
bool decodeRuleFiles(std::string_view bytes, RuleSet& out);

struct CoreOptions {
  bool manualClock = false;
  size_t maxQueuedEvents = 200000;  // beyond: submit() answers Busy (503)
  std::string from;                 // the From address put on every message
  // Engagement tracking (tracking.h): the base of the tracking URLs (`--public-url`, no trailing
  // slash) and the secret their tokens are sealed with. No tracking when the URL is empty.
  std::string publicUrl;
  std::string trackingSecret;
};

// What one request hands to the core.
struct Submission {
  std::vector<std::string> events;       // accepted event objects
  std::vector<std::string> types;        // each event's type, for metrics
  std::vector<DeadLetter> dead;          // rejected ones
  std::optional<TimeMs> clock;           // a manual clock move (alone in its submission)
  std::shared_ptr<const RuleSet> rules;  // a reload (alone in its submission)
  // Called once: "" when everything is durable (a clock move or a reload: when the engine has
  // run to it), otherwise the error.
  std::function<void(const std::string& error)> done;
  std::chrono::steady_clock::time_point queued{};  // set by Core::submit (the trace's wait)
};

class Core {
 public:
  // Store and metrics must outlive the core. `rules` is the rule set on disk at start, `loader`
  // compiles the stored ones. `onSend` gets every outbox entry to deliver, `onRules` every rule
  // set that comes into force (from the core's thread); `log` gets one line per notable thing.
  Core(Store& store, std::shared_ptr<const RuleSet> rules, RuleLoader loader, CoreOptions options,
       Metrics& metrics, std::function<void(OutboxEntry)> onSend,
       std::function<void(std::shared_ptr<const RuleSet>)> onRules,
       std::function<void(const std::string&)> log);
  ~Core();

  // Replays the log into a fresh engine (start and restart), each part with the rule set it was
  // decided with; then, when the rules on disk differ, reloads them. False with `error` on a
  // store error or a stored rule set that no longer compiles.
  bool recover(std::string& error);

  enum class Accept : uint8_t { Queued, Busy, Backwards };
  // Queues a submission; Busy when too many events wait, Backwards for a clock move to before
  // the clock (the 409 of the API). `done` is called only for Queued.
  Accept submit(Submission s);

  void run();   // the core's loop, until stop()
  void stop();  // thread-safe

  TimeMs clock() const;  // manual: the clock; wall: the time the engine has run to
  uint64_t logged() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trig::serve
