#pragma once
// The read-only web dashboard of `trig serve` (docs/serve.md, "Dashboard"): server-rendered
// HTML pages behind the admin key, no script and no external resource.
//
//   /                      the rule set: version, rules (priority, goal, templates, funnel
//                          totals), templates, a customer lookup
//   /rules/NAME            one rule: its flowchart (when a drawer is wired), the funnel per step
//                          and variant, every split's A/B verdicts, charts and table
//   /customers?id=ID       `trig explain`'s timeline for one customer
//   /dead-letter           the rejected events, newest first
//
// The numbers are runtime/report's: the store's log is exported as `trig log export` prints it
// and replayed through the rules in force by report::replayReport, exactly what `trig report
// RULES --data DIR --format json` computes. The pages are pure functions of their inputs
// (unit-tested); dashboardPage() gathers the inputs from the store.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/report/report.h"
#include "runtime/serve/core.h"
#include "runtime/serve/store.h"

namespace trig::serve {

// What the dashboard needs of the CLI (runtime/ cannot reach the interpreter, `trig explain`
// or the flowchart drawer). Each may be empty: the page then says what it cannot show.
struct DashboardHooks {
  // A fresh evaluator of `rules`, used by one replay on the dashboard's thread alone.
  std::function<std::unique_ptr<Evaluator>(const RuleSet& rules)> evaluator;
  // What `trig explain RULES --events FILE --customer ID` prints.
  std::function<std::string(const RuleSet& rules, const std::string& eventsFile,
                            const std::string& customer)>
      explain;
  // A rule's flowchart as SVG ("" for none); `report` is null when there are no numbers.
  std::function<std::string(const RuleSet& rules, const std::string& rule,
                            const report::Report* report)>
      drawRule;
};

struct DashboardPage {
  int status = 200;
  std::string html;
};

// The accepted events of the store's log, one JSON line each as `trig log export` prints them,
// in a new temporary file the caller deletes; "" with `error` on failure.
std::string exportLog(const Store& store, std::string& error);

// The store's accepted events as report::logReport reads them (`trig report --data DIR` and the
// dashboard: one pass over the log, no export). The caller may add diagnostics and progress.
report::LogInput logInput(const Store& store);

// The pages, from their data. `rep` may be null (the report could not be made: `note` says why).
DashboardPage homePage(const RuleSet& rules, const report::Report* rep, const std::string& note);
DashboardPage rulePage(const RuleSet& rules, const report::Report* rep, const std::string& rule,
                       const std::string& svg, const std::string& note);
// `timeline` null: no lookup yet (just the form), or none possible (`note` says why).
DashboardPage customerPage(const std::string& customer, const std::string* timeline,
                           const std::string& note);
DashboardPage deadLetterPage(const std::vector<DeadLetter>& newestFirst, uint64_t total);

// Whether `path` is a dashboard page (the service asks before it checks the key).
bool isDashboardPath(const std::string& path);

// The page for GET `path`?`query`, computed over the store with the rules in force. Runs a replay
// of the whole log: call it off the I/O thread.
DashboardPage dashboardPage(const std::string& path, const std::string& query, const RuleSet& rules,
                            const Store& store, const DashboardHooks& hooks);

}  // namespace trig::serve
