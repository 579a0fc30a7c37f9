#pragma once
// `trig check --bounds`: the worst number of emails one customer can receive in any day (any
// half-open 24 h window) and any week (any 7-day window) from a rule set, with the schedule of
// sends that reaches it, or "unbounded" with the rule that makes it so (docs/review.md,
// "Bounds"). The bound is a proof over every event stream, under the assumptions listed there;
// the schedule is one event stream that reaches it when the bound is claimed tight.
//
// Per rule, per path through its flow (a split's variants are fixed per customer; a holdout
// sends nothing), an exact search over firing times: firings are spaced by the rule's `idle`
// (an event inside the wait cancels it), a firing restarts the previous flow instance (so only
// the steps due before the next firing go out), and `limit N per D` lets the i-th firing happen
// only D + (first step's delay) after the (i-N)-th. The rule set's bound is the sum of the
// rules' bounds, cut by the frequency cap and the cooldown where they are smaller.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compiler/driver/driver.h"

namespace trig::review {

struct BoundsOptions {
  std::optional<int64_t> maxPerDay;   // --max-per-day N: more (or unbounded) is an error
  std::optional<int64_t> maxPerWeek;  // --max-per-week N
  // The variant that customer `customer` gets at split step `split` of rule `rule` (the
  // runtime's hash, spec section 5); the CLI passes the runtime's own function. Without it, no
  // customer is named and a schedule through a split is not claimed tight.
  std::function<size_t(const std::string& customer, const std::string& rule,
                       const ast::Step& split)>
      variantOf;
};

// One send of the schedule: offsets are from the start of the window.
struct ScheduledSend {
  uint32_t rule = 0;  // index in Model::rules
  uint32_t step = 0;  // the 1-based step, as `trig run` numbers it
  std::string templateName;
  std::string variant;  // the innermost split variant on the way, or empty
  DurationMs at = 0;
};

// One firing of the schedule: the anchor event at `anchor`, the rule fires at `firing`
// (`anchor` + its idle).
struct ScheduledFiring {
  uint32_t rule = 0;
  uint32_t anchorEvent = 0;  // event index
  DurationMs anchor = 0;
  DurationMs firing = 0;
};

struct WindowBound {
  DurationMs length = 0;
  bool unbounded = false;
  uint32_t unboundedRule = 0;  // when unbounded: the rule that makes it so
  std::string unboundedWhy;
  int64_t count = 0;  // the bound (when bounded)
  bool tight = false;
  std::vector<std::string> notTight;  // why the bound is not claimed tight
  // The schedule found (it reaches `reached`, which is `count` when tight).
  int64_t reached = 0;
  std::vector<ScheduledFiring> firings;
  std::vector<ScheduledSend> sends;
  std::string customer;  // a customer id whose split variants are the schedule's
  // Each rule's own bound in this window (rule index, count; -1 when unbounded without a cap),
  // before the cap and the cooldown: what `trig diff` compares.
  std::vector<std::pair<uint32_t, int64_t>> perRule;
};

struct Bounds {
  bool computed = false;  // false when the rules have errors
  WindowBound day, week;
};

// Computes the bounds of a compiled rule set (without errors) and reports `bound-exceeded`
// errors into its diagnostics when a --max-per-* is exceeded or the bound is unbounded.
Bounds bounds(Compilation& c, const BoundsOptions& options);

// The text of `trig check --bounds` (after the diagnostics), and its JSON (the "bounds" member
// of `--format json`). Deterministic.
std::string boundsText(const Bounds& b, const Compilation& c);
std::string boundsJson(const Bounds& b, const Compilation& c);  // a JSON object

// Exposed for the unit tests: the worst number of sends in [0, length) of one rule path with
// send offsets `offsets` (from the firing, non-decreasing), firings spaced by at least `idle`,
// and `limit` (count, per) if any. Past the budget the count is a loose sound bound (not exact).
struct PathResult {
  int64_t count = 0;
  std::vector<DurationMs> firings;  // firing times of the schedule
  std::vector<uint32_t> stepsOut;   // per firing: how many of its sends go out
  bool exact = true;                // false: `count` is the loose bound, the schedule less
  int64_t reached = 0;              // what the schedule reaches
};
PathResult worstPath(const std::vector<DurationMs>& offsets, DurationMs idle,
                     std::optional<std::pair<int64_t, DurationMs>> limit, DurationMs length,
                     size_t budget = 2000000);

}  // namespace trig::review
