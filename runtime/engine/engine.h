#pragma once
// The event-loop runtime (spec sections 4-6): consumes one customer event after another in
// timestamp order, keeps per-customer state, fires rules, runs flows and applies the delivery
// policy, and reports every decision as a Record.
//
// Time is event time. At one instant T the engine does, in this order: every timer due at T
// (idle evaluations, flow steps, quiet-hours deferrals, including those these create at T), then
// the events stamped T in input order, then the arbitration decisions of windows closing at T
// (a decision is "the last thing done at instant t + W"). Records come out ordered by time,
// customer id (bytes), rule declaration order and step, whatever the internal order was.
//
// The engine takes any Evaluator (the reference interpreter or the JIT): rule conditions, step
// conditions and `with` bindings all go through it; the engine itself never interprets a
// condition.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/core/evaluator.h"
#include "compiler/core/event.h"
#include "compiler/plan/plan.h"
#include "runtime/policy/reason.h"
#include "runtime/policy/split.h"

namespace trig::engine {

enum class Decision : uint8_t { Send, Suppressed, Deferred, Dropped };

// Why a send (or a firing) did not go out: one list for the policies and the engine
// (runtime/policy/reason.h).
using policy::Reason;
using policy::reasonName;
const char* decisionName(Decision d);

struct Record {
  Decision decision = Decision::Send;
  TimeMs time = 0;
  std::string customer;
  uint32_t rule = core::kNone;   // index into Plan::rules (kNone for Dropped)
  uint32_t step = 0;             // 1-based step of the flow instance (0: none)
  std::string templateName;      // empty: none
  std::string variant;           // empty: none
  std::string to;                // Send
  std::string subject;           // Send
  std::string body;              // Send
  std::string messageId;         // Send, Suppressed and Deferred sends
  Reason reason = Reason::None;  // Suppressed, Dropped
  TimeMs until = 0;              // Deferred: when the send becomes due again
  Loc loc;                       // the rule, step or option that made it so
  std::string detail;  // one sentence for people ("outranked by cart_abandon (priority 2)")
  std::string event;   // Dropped: the event name
  std::string source;  // Dropped: "events.jsonl:12"
  uint64_t order = 0;  // production order (the last tie-break)
};

// A step of the engine's reasoning about one customer, for `trig explain`.
struct TraceEntry {
  enum class Kind : uint8_t {
    Event,         // an event was processed (or dropped)
    Armed,         // an anchor armed an idle evaluation
    Replaced,      // a newer anchor replaced a pending idle evaluation
    Cancelled,     // activity cancelled a pending idle evaluation
    AnchorFilter,  // the anchor did not pass its filter
    NotHeld,       // a rule-level condition did not hold (the rule did not fire)
    UnlessHeld,    // a rule-level `unless` held (the rule did not fire)
    Fired,         // the rule fired: a flow starts
    StepDue,       // a flow step is scheduled
    Variant,       // a split chose a variant
    Decision,      // a Record about this customer
    Conversion,    // a goal event converted a send
    Profile,       // an identify changed traits
  };
  Kind kind;
  TimeMs time = 0;
  std::string customer;
  uint32_t rule = core::kNone;
  Loc loc;                         // the condition, step or rule concerned
  std::string text;                // what happened, in words
  const Record* record = nullptr;  // Decision entries
};

// What the tests exercised (`trig test --coverage`), accumulated over engine runs.
struct Coverage {
  std::vector<uint64_t> ruleArmed;  // by rule index: anchors that passed the anchor filter
  std::vector<uint64_t> ruleFired;
  std::vector<uint64_t> ruleSent;
  // Condition expression id -> bit 1: it held at least once, bit 2: it did not hold at least once.
  std::unordered_map<uint32_t, uint8_t> conditions;
  // Flow steps reached (sent, suppressed or split), by plan::Step::id (the step's ast::Step::id),
  // and split variants chosen, by variantKey(the split's id, the variant's position).
  std::unordered_map<uint32_t, uint64_t> steps;
  std::unordered_map<uint64_t, uint64_t> variants;
  static uint64_t variantKey(uint32_t splitId, size_t variant) {
    return static_cast<uint64_t>(splitId) << 32 | static_cast<uint64_t>(variant);
  }
};

struct Stats {
  uint64_t events = 0;  // accepted events processed (track, identify, undeclared, alias)
  uint64_t undeclared = 0;
  uint64_t droppedById = 0;
  uint64_t droppedByContent = 0;
  uint64_t sends = 0;
  uint64_t deferred = 0;
  std::map<std::string, uint64_t> suppressed;  // by reason name
  struct PerVariant {
    uint64_t sends = 0;
    uint64_t heldOut = 0;  // customers a `holdout` variant sent nothing to
    uint64_t conversions = 0;
  };
  struct PerRule {
    uint64_t fired = 0;
    uint64_t sends = 0;
    // Every instance that reached its goal, with those reached before any send (a conversion
    // of no message; the others are counted by variant too, "" when none).
    uint64_t conversions = 0;
    uint64_t conversionsWithoutMessage = 0;
    std::map<std::string, PerVariant> variants;  // by variant name ("" when none)
  };
  std::vector<PerRule> rules;  // by rule index
};

struct EngineOptions {
  // Receives every record in output order. Sends always; suppressed, deferred and dropped
  // records only when `explain` is set.
  std::function<void(const Record&)> sink;
  bool explain = false;
  // Render the bodies of sends (Record::body). Off, a body is only checked, so that a variable
  // it misses still suppresses the send (`missing_data`), and records carry none: `trig run`
  // prints no body.
  bool bodies = true;
  // Tracing for `trig explain`: null for none; `traceCustomer` empty traces everyone.
  std::function<void(const TraceEntry&)> trace;
  std::string traceCustomer;
  // The kinds of entry traced, bit (1 << kind): `trig report` needs three of them, and every
  // entry of the others (one per event at least) was made, its sentence formatted, for nothing.
  uint32_t traceKinds = ~0u;
  Coverage* coverage = nullptr;
  // Warnings that do not stop the run (an unknown time zone, once per name).
  std::function<void(const std::string&)> warn;
  // Split variants fixed by `pin` in a test, instead of the hash.
  policy::VariantPins pins;
  // A customer's state is made at its first event, so that forEachFlow walks customers in the
  // order they arrived (`trig serve`). Else an event that needs nothing of its customer unless a
  // rule anchors makes none until one does (a look-up per event was most of a replay's cost),
  // and forEachFlow's order is that of the customers' first events that needed their state.
  bool customersInArrivalOrder = false;
};

class Engine {
 public:
  // The program as the rule plan holds it (plan::buildPlan); the evaluator must outlive the
  // engine.
  Engine(plan::Plan plan, Evaluator& evaluator, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Processes one decoded event. Events come in non-decreasing time (replay sorts them, stably);
  // every timer due at or before the event's stamp, and every decision due before it, runs first.
  // Deduplication (messageId, and content with the `dedup` setting) happens here, in this order.
  void process(const Event& e);
  // Runs the clock on to `t`: every timer due at or before t, and every decision due before t
  // and, with `decisionsAtT`, at t. A live clock standing at t leaves the decisions of t for
  // later, since events stamped t may still come and in a replay they come before them.
  void advanceTo(TimeMs t, bool decisionsAtT = true);
  // Runs the clock on until nothing is pending, or up to `until`; then emits every record.
  void finish(std::optional<TimeMs> until = std::nullopt);

  TimeMs now() const;
  size_t pendingTimers() const;
  // `undeclared_events ignore`: an event of an undeclared name is as if it never arrived.
  bool ignoresUndeclared() const;
  // Every flow still running (customers in the order they arrived, with
  // EngineOptions::customersInArrivalOrder; then rules): the rule's
  // index and the steps it has reached. `trig serve` ends those of rules a reload removed.
  void forEachFlow(
      const std::function<void(std::string_view customer, uint32_t rule, uint32_t step)>& f) const;
  const Stats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A deterministic message id from (rule, customer, step, firing time): a replay prints the same.
std::string messageId(std::string_view rule, std::string_view customer, uint32_t step,
                      TimeMs firedAt);

}  // namespace trig::engine
