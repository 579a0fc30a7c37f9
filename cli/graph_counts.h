#pragma once
// The one conversion from a `trig report` (runtime/report) to the numbers a flowchart draws
// (compiler/graph): used by `trig graph --events/--data` and by `trig serve`'s dashboard.
#include "compiler/graph/graph.h"
#include "runtime/report/report.h"

namespace trig::cli {

// Per rule: firings and conversions; per (step, variant): sends, suppressions by reason and the
// conversions attributed to the step's message (a holdout point's: its variant's conversions);
// per split variant: the instances it received.
graph::Counts countsOf(const report::Report& report);

}  // namespace trig::cli
