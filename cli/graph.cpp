// `trig graph RULES... [--rule NAME] [--format dot|svg|png] [-o FILE] [--events FILE | --data
// DIR]`: each rule's flow as a flowchart (docs/graph.md), with a replay's or a live store's counts
// on its edges when given (the numbers of `trig report`, converted in graph_counts.cpp).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/graph_counts.h"
#include "cli/report_input.h"
#include "cli/run_common.h"
#include "compiler/diag/diagnostic.h"
#include "compiler/graph/graph.h"

namespace trig::cli {
namespace {

struct GraphCommandOptions {
  std::vector<std::string> files;
  std::string rule;
  std::string format = "dot";
  std::string output;
  std::vector<std::string> events;
  std::string data;
  std::string engine = cli::kDefaultEngine;
};

int runGraph(const GraphCommandOptions& o) {
  if (o.files.empty()) {
    std::cerr << "trig graph: give the .trig files to draw\n";
    return kExitUsage;
  }
  if (!o.events.empty() && !o.data.empty()) {
    std::cerr << "trig graph: give either --events FILE or --data DIR, not both\n";
    return kExitUsage;
  }
  auto c = compile(o.files);
  if (int rc = refuseIfBroken(*c, "graph"); rc != kExitOk) return rc;

  if (!o.rule.empty()) {
    std::vector<std::string> names;
    for (const auto& ri : c->model.rules) names.push_back(ri.name);
    if (std::find(names.begin(), names.end(), o.rule) == names.end()) {
      std::cerr << "trig graph: no rule named '" << o.rule << "'";
      if (std::string best = closestMatch(o.rule, names); !best.empty())
        std::cerr << "; did you mean '" << best << "'?";
      std::cerr << "\n";
      return kExitUsage;
    }
  }

  graph::Counts counts;
  graph::GraphOptions go;
  go.rule = o.rule;
  if (!o.events.empty() || !o.data.empty()) {
    ReportInput input;
    input.events = o.events;
    input.data = o.data;
    input.engine = o.engine;
    report::Report rep;
    if (int rc = buildReport(*c, input, "graph", rep); rc != kExitOk) return rc;
    counts = countsOf(rep);
    go.counts = &counts;
  }

  std::string text = graph::toDot(c->model, c->sources, go);
  if (o.format != "dot") {
    std::string error;
    auto drawn = graph::render(text, o.format, error);
    if (!drawn) {
      std::cerr << "trig graph: " << error << "\n";
      return kExitUsage;
    }
    text = std::move(*drawn);
  }

  if (o.output.empty() || o.output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
      std::cerr << "trig graph: cannot write to standard output: " << std::strerror(errno) << "\n";
      return kExitUsage;
    }
    return kExitOk;
  }
  std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) {
    std::cerr << "trig graph: cannot write " << o.output << ": " << std::strerror(errno) << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

void addGraphCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<GraphCommandOptions>();
  auto* cmd = app.add_subcommand(
      "graph", "Draw each rule's flow as a flowchart (DOT, SVG or PNG), with counts from events");
  cmd->add_option("files", o->files, "The .trig files (imports are followed)");
  cmd->add_option("--rule", o->rule, "Draw only this rule");
  cmd->add_option("--format", o->format, "dot (the default), svg or png")
      ->check(CLI::IsMember({"dot", "svg", "png"}));
  cmd->add_option("-o,--output", o->output, "Write to this file instead of standard output");
  cmd->add_option("--events", o->events,
                  "Replay these events (JSON lines; - for standard input) and put the counts of "
                  "`trig report` on the edges");
  cmd->add_option("--data", o->data,
                  "A live store (trig serve --data DIR), read-only: its event log's counts on "
                  "the edges");
  cmd->add_option("--engine", o->engine,
                  "Condition evaluator for the replay: jit (the default) or interp")
      ->check(CLI::IsMember({"jit", "interp"}));
  cmd->callback([o, &action] { action = [o] { return runGraph(*o); }; });
}

}  // namespace trig::cli
