// report::Report -> graph::Counts (graph_counts.h).
#include "cli/graph_counts.h"

namespace trig::cli {

graph::Counts countsOf(const report::Report& report) {
  graph::Counts counts;
  for (const report::RuleReport& r : report.rules) {
    graph::RuleCounts& rc = counts[r.name];
    rc.fired = r.fired;
    rc.converted = r.converted;
    std::map<std::string, uint64_t> holdoutConversions;
    for (const report::SplitResult& s : r.splits)
      for (const report::VariantResult& v : s.variants) {
        rc.entered[v.name] += v.entered;
        if (v.holdout) holdoutConversions[v.name] += v.converted;
      }
    for (const report::StepRow& row : r.steps) {
      graph::StepCounts& sc = rc.steps[{row.step, row.variant}];
      sc.sent += row.funnel.sent;
      for (const auto& [reason, n] : row.funnel.suppressed) sc.suppressed[reason] += n;
      // A holdout point (no template) sends nothing: the conversions after it are its
      // variant's, which the engine counts (report::VariantResult::converted).
      if (row.templateName.empty()) {
        if (auto it = holdoutConversions.find(row.variant); it != holdoutConversions.end()) {
          sc.converted += it->second;
          it->second = 0;
        }
      } else if (report.stepConversions) {
        // Attributed to messages only when the attribution added up (report.h).
        sc.converted += row.funnel.converted;
      }
    }
  }
  return counts;
}

}  // namespace trig::cli
