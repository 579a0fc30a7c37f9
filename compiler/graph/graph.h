#pragma once
// `trig graph` (docs/graph.md): a flowchart per rule of a checked program — the trigger (anchor
// and filter), the `idle` wait, the exclusions, each step with its delay and own conditions, split
// arms with their percentages and holdouts, the goal as an exit, the priority — as Graphviz DOT,
// laid out by Graphviz's library into SVG or PNG. With counts (a replay's or a live store's
// `trig report`), the edges carry how many customers reached them, sends, suppressions by reason
// and conversions.
//
// Its own library (trig_graph, linking libgvc): only the CLI links it; `trig serve`'s dashboard
// gets the drawing through a callback the CLI wires (runtime/ may not include compiler/graph).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "compiler/sema/model.h"
#include "compiler/source/source.h"

namespace trig::graph {

// The numbers drawn on one rule's flowchart, plain data (the CLI fills them from a
// report::Report: cli/graph_counts.h).
struct StepCounts {
  uint64_t sent = 0;
  uint64_t converted = 0;                      // conversions attributed to this step's message
  std::map<std::string, uint64_t> suppressed;  // by reason
};
struct RuleCounts {
  uint64_t fired = 0;      // flow instances started (customers who passed the trigger)
  uint64_t converted = 0;  // the rule's goal reached
  // By (1-based step number as in decision records, variant name or "" outside a split).
  std::map<std::pair<uint32_t, std::string>, StepCounts> steps;
  std::map<std::string, uint64_t> entered;  // by split variant: instances sent to it
};
using Counts = std::map<std::string, RuleCounts>;  // by rule name

struct GraphOptions {
  std::string rule;                // only this rule; empty for every rule (declaration order)
  const Counts* counts = nullptr;  // edge labels with numbers when given
};

// The DOT text of the program's rules: deterministic (same program, same bytes); labels are the
// source's own text (names, filters, durations), never internal ids. Empty when `rule` names no
// rule (the caller reports it).
std::string toDot(const sema::Model& model, const SourceManager& sources,
                  const GraphOptions& options);

// Lays DOT out with Graphviz's library: `format` is "svg" or "png"; the bytes, or nullopt with
// `error` set.
std::optional<std::string> render(std::string_view dot, std::string_view format,
                                  std::string& error);

}  // namespace trig::graph
