#pragma once
// The rule review of `trig check`: solver-backed lints (docs/review.md). Each rule's firing
// condition is encoded for Z3 (anchor filter, attribute and trait terms, history terms as
// constrained unknowns) and the review proves
//   can-never-fire  the condition is unsatisfiable (the smallest contradicting terms are named);
//   redundant-term  a term of a rule is implied by its other terms;
//   overlap         two rules on one anchor event can fire together and their precedence falls
//                   to declaration order (with a witness: a `test` block to paste);
//   shadowed        a rule never sends because a higher-priority rule fires whenever it does;
//   review-unknown  the solver gave up (work limit, budget): no guess either way.
// Only `trig check` runs it: run, serve, test and the fuzz targets never pay for the solver.
#include <cstddef>
#include <cstdint>

#include "compiler/driver/driver.h"

namespace trig::review {

// The limits count Z3's own work (its `rlimit` resource units), not time, so that the same rules
// get the same findings on any machine at any load (`trig check` output is deterministic); on the
// 2-core build VM a unit is about a microsecond of solver time. The slowest query of the 1,000-rule
// benchmark sets takes about 440,000 units.
struct Options {
  uint64_t queryWork = 1'000'000;    // per solver query; past it the answer is unknown
  uint64_t budgetWork = 20'000'000;  // for the whole review; past it, queries are not asked
  unsigned queryTimeoutMs = 60'000;  // a backstop only, for a theory that stops counting its work
};

struct Stats {
  size_t queries = 0;       // solver checks made
  size_t unknown = 0;       // answered "unknown" (or skipped for the budget)
  size_t pairs = 0;         // pairs of rules compared (one anchor event, one arbitration window)
  size_t modelsByPins = 0;  // kept models in which a rule's pins showed it does not fire
  size_t termsByPins = 0;   // terms shown not redundant without a query (surelyFree)
};

// Reviews the rules of a compilation and reports into its diagnostics. Rules with errors, and
// lints silenced by `# trig: allow KIND`, are skipped.
Stats review(Compilation& c, const Options& options = {});

}  // namespace trig::review
