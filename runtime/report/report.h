#pragma once
// `trig report` (docs/report.md): per rule, step and variant, what was sent and what became of it
// (opened, clicked, converted, unsubscribed, bounced, suppressed by reason), and for each `split`
// the A/B comparison of its variants against the first one.
//
// A Collector is fed three things: the engine's records (a sink with `explain` on: sends carry
// their message id, suppressions their reason), the engagement events of the input
// (`email_open`, `email_click`, `email_bounce` carrying `message_id`, and `unsubscribe`), and at
// the end the engine's Stats (conversions by rule and variant, holdouts) and Coverage (how many
// flow instances each split sent to each variant). build() turns them into a Report; the
// renderers write it as text, JSON or one self-contained HTML page. Everything comes out in
// declaration order (rules, steps, variants), numbers in fixed notation: the same input gives
// the same bytes.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "compiler/core/event.h"
#include "compiler/plan/plan.h"
#include "runtime/engine/engine.h"
#include "runtime/report/stats.h"

namespace trig::report {

// What happened to a set of messages (a step, a variant, a rule).
struct Funnel {
  uint64_t sent = 0;          // delivered is the same number for a replay
  uint64_t opened = 0;        // messages opened at least once
  uint64_t clicked = 0;       // messages clicked at least once
  uint64_t unsubscribed = 0;  // messages an unsubscribe is attributed to (docs/report.md)
  uint64_t bounced = 0;       // messages with at least one email_bounce
  // Goals reached with one of these messages as the instance's most recent send (see
  // Collector::trace); Report::stepConversions says whether the attribution held.
  uint64_t converted = 0;
  std::map<std::string, uint64_t> suppressed;  // by reason
  void add(const Funnel& o);
};

struct StepRow {
  uint32_t step = 0;
  std::string templateName;  // empty for a holdout point
  std::string variant;       // empty outside a split
  Funnel funnel;
};

struct VariantResult {
  std::string name;
  std::string percent;  // as declared ("50")
  bool holdout = false;
  uint64_t entered = 0;    // flow instances the split sent to this variant
  uint64_t converted = 0;  // the rule's goal, attributed to this variant (engine Stats)
  Funnel funnel;           // the messages of this variant (its steps and those after the split)
  Interval conversionCi;   // of converted / entered
  Interval clickCi;        // of clicked / sent
  // Against the split's first variant (absent for the first one).
  struct Versus {
    double conversionDiff = 0;  // this rate - the first's
    ZTest conversion;
    double clickDiff = 0;
    ZTest click;  // invalid when either has no sends
  };
  std::optional<Versus> versus;
};

struct SplitResult {
  std::string name;
  std::vector<VariantResult> variants;  // declaration order
  std::vector<std::string> verdicts;    // one per variant after the first
};

struct RuleReport {
  std::string name;
  std::string title;       // `trigger NAME "Title"`, empty when none
  std::string goalEvent;   // empty when the rule has no goal
  std::string goalWithin;  // "3d"
  uint64_t fired = 0;
  uint64_t converted = 0;
  uint64_t convertedWithoutMessage = 0;
  uint64_t convertedAfterMessage = 0;  // conversions of a send (not of a holdout, not before any)
  Funnel funnel;                       // every message of the rule
  std::vector<StepRow> steps;
  std::vector<SplitResult> splits;
  // Sends per time bucket (Report::bucket), from the rule's first send's bucket to its last one,
  // empty buckets included.
  std::vector<std::pair<TimeMs, uint64_t>> sendsOverTime;
};

struct EngagementCounts {
  uint64_t opens = 0, clicks = 0, bounces = 0, unsubscribes = 0;  // events read
  uint64_t unmatched = 0;  // carrying a message id that no send of this replay has
};

struct Report {
  std::vector<RuleReport> rules;  // declaration order
  EngagementCounts engagement;
  uint64_t events = 0;  // accepted events the engine processed
  // Whether conversions were attributed to messages (Funnel::converted): the engine's trace was
  // given and its attribution adds up to the engine's own count of conversions after a send.
  bool stepConversions = false;
  DurationMs bucket = 0;        // of the sends-over-time series: 1h, 1d or 7d (at most 200 buckets)
  double detectDiff = 0;        // the absolute difference sample sizes are for (0.02)
  std::optional<TimeMs> since;  // the report counts from this time on (`--since`)
};

struct ReportOptions {
  double detectDiff = 0.02;  // "a 2-point difference"
  // Count from this time on (`trig report --data DIR --since T`, logReport only): firings,
  // sends, suppressions, split entries and conversions at or after `since`, and the engagement
  // of the messages sent from then on. The events before it are still replayed (they make the
  // state), their numbers left out.
  std::optional<TimeMs> since;
};

class Collector {
 public:
  // The program must outlive the collector.
  explicit Collector(const plan::Program& program);

  // The engine's sink: sends and (with explain) suppressions. Other records are ignored.
  void add(const engine::Record& r);
  // The engine's trace (everyone traced): firings, decisions and goals in production order, to
  // attribute each conversion to the message it followed. Optional; without it
  // Report::stepConversions is false.
  void trace(const engine::TraceEntry& t);
  // The kinds of trace entry trace() reads (EngineOptions::traceKinds).
  static constexpr uint32_t kTraceKinds =
      1u << static_cast<unsigned>(engine::TraceEntry::Kind::Fired) |
      1u << static_cast<unsigned>(engine::TraceEntry::Kind::Decision) |
      1u << static_cast<unsigned>(engine::TraceEntry::Kind::Conversion);
  // One decoded input event; those that are not engagement events are ignored. Call after every
  // record was added (the engine finished): an unsubscribe without a message id goes to the
  // customer's latest send at or before it.
  void addEvent(const Event& e);
  // The same, during the replay (one pass over a log): an open, click or bounce of a send
  // already recorded counts at once; the others (an unsubscribe, a message id not seen yet)
  // wait, in a compact form, for applyDeferred() once the engine finished. Same numbers as
  // addEvent after the replay.
  void addEventNow(const Event& e);
  void applyDeferred();
  // Counts only from `t` on (ReportOptions::since): earlier sends and suppressions are kept to
  // match engagement and conversions to, but not counted, nor is what happens to them. Call
  // before the first record.
  void countFrom(TimeMs t) { since_ = t; }

  Report build(const engine::Stats& stats, const engine::Coverage& coverage,
               const ReportOptions& options = {}) const;

 private:
  struct Message {
    uint32_t rule = 0;
    uint32_t row = 0;  // index into rows_[rule]
    TimeMs time = 0;
    bool opened = false, clicked = false, bounced = false, unsubscribed = false;
    bool counted = true;  // sent at or after since_
    std::string customer;
  };
  // A message id as the collector keeps it: the engine's ids ("trig-" and 16 hex digits,
  // engine::messageId) as their number, which saves a string (and its allocation) per send in
  // the maps below; any other id as its text.
  struct MessageKey {
    uint64_t number = 0;
    std::string text;  // the id when it is not of the engine's form
    bool set = false;  // false: no message
  };
  static MessageKey keyOf(std::string_view id);
  // The messages_ index of an id, kNoMessage when no send of this replay has it.
  static constexpr uint32_t kNoMessage = ~0u;
  uint32_t indexOf(const MessageKey& k) const;
  Message* find(std::string_view id) {
    const uint32_t i = indexOf(keyOf(id));
    return i == kNoMessage ? nullptr : &messages_[i];
  }

  // An engagement event as much as matching it needs: its kind, its time, and its message id
  // (or, for an unsubscribe without one, its customer). A view into the event; a Pending keeps
  // its text for later (addEventNow).
  enum class Engagement : uint8_t { None, Open, Click, Bounce, Unsubscribe };
  struct Engaged {
    Engagement kind = Engagement::None;
    bool byCustomer = false;  // `key` is the customer (an unsubscribe without a message id)
    TimeMs time = 0;
    std::string_view key;
  };
  struct Pending {
    Engagement kind = Engagement::None;
    bool byCustomer = false;
    TimeMs time = 0;
    std::string key;
  };
  uint32_t rowFor(uint32_t rule, uint32_t step, const std::string& templ,
                  const std::string& variant);
  Engaged classify(const Event& e) const;
  void apply(const Engaged& p);

  const plan::Plan& plan_;
  uint32_t open_, click_, bounce_, unsub_;                  // event types (kNone when absent)
  uint32_t openSlot_, clickSlot_, bounceSlot_, unsubSlot_;  // their message_id fields
  std::vector<std::vector<StepRow>> rows_;                  // by rule
  std::vector<Message> messages_;
  // message id -> messages_ index: the engine's ids by number, others by text.
  std::unordered_map<uint64_t, uint32_t> byNumber_;
  std::unordered_map<std::string, uint32_t> byText_;
  // customer -> (time, messages_ index) of its sends, in time order: only for an unsubscribe
  // without a message id, made when the first one comes (of messages_[0, indexed_)).
  std::unordered_map<std::string, std::vector<std::pair<TimeMs, uint32_t>>> byCustomer_;
  size_t indexed_ = 0;
  EngagementCounts engagement_;
  // (customer, rule) -> the message id of the current instance's latest send; unset when the
  // instance has sent nothing yet or reached a holdout point.
  std::unordered_map<std::string, MessageKey> lastSend_;
  std::vector<MessageKey> convertedMessages_;
  std::vector<Pending> deferred_;
  std::optional<TimeMs> since_;
  bool traced_ = false;
};

// The verdict sentence for `b` against the first variant `a` (docs/report.md, "Verdicts").
std::string verdict(const VariantResult& a, const VariantResult& b, double detectDiff);

std::string renderText(const Report& r);
std::string renderJson(const Report& r);
std::string renderHtml(const Report& r);

// Pieces of renderHtml for pages that show one rule (the `trig serve` dashboard): the page's
// CSS, and a rule's section (funnel and sends-over-time charts, the funnel table, each split's
// verdicts, charts and table). With `dataAttributes`, every number cell also carries what it is
// (`data-rule`, `data-step`, `data-variant`, `data-col`, the split's `data-split`), for tests
// that read the page; renderHtml uses none.
const char* htmlStyle();
// Text as HTML: & < > " ' escaped (the report's own escaping).
std::string htmlEscape(std::string_view s);
std::string renderRuleHtml(const Report& r, const RuleReport& rule, bool dataAttributes);

// What replayReport reads: event files (JSON lines, as `trig run` reads them) and what messages
// call them, where invalid lines are reported, and the engine's warnings.
struct ReplayInput {
  std::vector<std::string> paths;
  std::vector<std::string> names;  // "" or none: the path
  std::ostream* diagnostics = nullptr;
  std::function<void(uint64_t done, uint64_t total)> progress;
  std::function<void(const std::string&)> warn;
};

// Replays the input through the rules (an engine with explain and trace on, the collector fed
// its records and trace, then the input's engagement events) and builds the report: what
// `trig report` prints and the dashboard shows. Null, with `error`, when a file cannot be read.
// The program (the command built it: plan::buildProgram) and the evaluator are used by this call
// alone (an evaluator is not shared across threads).
std::optional<Report> replayReport(const plan::Program& program, Evaluator& evaluator,
                                   const ReplayInput& input, const ReportOptions& options,
                                   std::string& error);

// A live store's log (`trig report --data DIR`): `scan` calls its argument with every accepted
// event of the log in log order (stamps never decrease), as (sequence number, stamp, JSON
// text), until it returns false; it returns false with `error` on a read error.
using LogScan = std::function<bool(
    const std::function<bool(uint64_t seq, TimeMs stamp, std::string_view json)>& f,
    std::string& error)>;
struct LogInput {
  LogScan scan;
  uint64_t entries = 0;                 // for progress (0: unknown)
  std::ostream* diagnostics = nullptr;  // entries that do not decode under these rules
  std::function<void(uint64_t done, uint64_t total)> progress;
  std::function<void(const std::string&)> warn;
  // Read and decode the log on a second thread, ahead of the engine (same report, in less wall
  // time on two cores); `scan` is then called on that thread.
  bool readAhead = true;
};

// The report of a log in one pass: every event decoded once, fed to the engine (as replayReport
// does, so the numbers are the same as those of the log's export replayed), its engagement
// events matched as they come. Honours options.since. Null, with `error`, on a read error.
std::optional<Report> logReport(const plan::Program& program, Evaluator& evaluator,
                                const LogInput& input, const ReportOptions& options,
                                std::string& error);

}  // namespace trig::report
