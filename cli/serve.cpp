// `trig serve RULES... --data DIR`: the live service (docs/serve.md). The rule set must check
// clean; the service itself is runtime/serve. This file compiles rule sets for it: the files on
// disk at start and at a reload, and the stored files of the rule sets a log was decided with.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <sstream>

#include "cli/allocator.h"
#include "cli/commands.h"
#include "cli/explain.h"
#include "cli/graph_counts.h"
#include "cli/run_common.h"
#include "compiler/diag/render.h"
#include "compiler/graph/graph.h"
#include "compiler/plan/build.h"
#include "runtime/serve/service.h"

namespace trig::cli {
namespace {

struct ServeOptions {
  std::vector<std::string> files;
  serve::ServiceOptions service;
  std::string clock = "wall";
  std::string logFormat = "text";
  std::string engine = cli::kDefaultEngine;
};

// 16 hex digits of FNV-1a over every file's name and text, in load order: the rule-set version
// that decision records carry. Names without their folders: the same files reached by another
// path (a relative one, from another directory) are the same rules.
std::string versionOf(const std::vector<std::pair<std::string, std::string>>& files) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0x1f) * 1099511628211ull;
  };
  for (const auto& [path, text] : files) {
    mix(std::string_view(path).substr(path.rfind('/') + 1));
    mix(text);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// What a serve::RuleSet's pointers point into (its `owner`): the compilation stays for the
// dashboard's hooks (an interpreter, `trig explain`, the flowchart), the service sees the plan.
struct Loaded {
  std::unique_ptr<Compilation> compilation;
  plan::Program program;
  std::unique_ptr<Evaluator> evaluator;
};

const Compilation& compilationOf(const serve::RuleSet& r) {
  return *std::static_pointer_cast<const Loaded>(r.owner)->compilation;
}

// The errors of a compilation as `trig check` prints them.
std::string errorText(const Compilation& c) {
  std::ostringstream out;
  std::vector<Diagnostic> errors;
  for (const Diagnostic& d : c.diags.sorted(c.sources))
    if (d.severity == Severity::Error) errors.push_back(d);
  renderText(out, errors, c.sources, false);
  return out.str();
}

// Compiles `paths` from disk, or `stored`'s files; null with `diagnostics` on errors (and the
// failed compilation in `*failed`, when given).
std::shared_ptr<const serve::RuleSet> loadRules(const std::vector<std::string>& paths,
                                                const std::string& engineName,
                                                const serve::RuleSet* stored,
                                                std::string& diagnostics,
                                                std::unique_ptr<Compilation>* failed = nullptr) {
  auto started = std::chrono::steady_clock::now();
  auto loaded = std::make_shared<Loaded>();
  auto rules = std::make_shared<serve::RuleSet>();
  rules->paths = stored ? stored->paths : expandTrigPaths(paths);
  {
    std::optional<SourceOverlay> overlay;
    if (stored) overlay.emplace(stored->files);
    loaded->compilation = compile(rules->paths);
  }
  const Compilation& c = *loaded->compilation;
  if (!c.ok()) {
    diagnostics = errorText(c);
    if (failed) *failed = std::move(loaded->compilation);
    return nullptr;
  }
  std::string note;
  loaded->evaluator = cli::makeEvaluator(engineName, c, note, diagnostics);
  if (!loaded->evaluator) return nullptr;
  for (size_t i = 0; i < c.sources.size(); ++i) {
    const SourceFile& f = c.sources.file(static_cast<FileId>(i));
    if (!f.path().starts_with("<")) rules->files.emplace_back(f.path(), std::string(f.text()));
  }
  loaded->program = plan::buildProgram(c.model, c.sources);
  rules->owner = loaded;
  rules->program = &loaded->program;
  rules->evaluator = loaded->evaluator.get();
  rules->version = versionOf(rules->files);
  rules->compileSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return rules;
}

int runServe(ServeOptions& o) {
  // No transparent huge pages for the service: a fresh huge page's first touch stalled its
  // threads for milliseconds, which was `/v1/track`'s p99 (docs/performance.md, "Live ingest").
  disableHugePages();
  // The service waits for SIGTERM, SIGINT and SIGHUP in a thread of its own: they are blocked in
  // every thread, including those the JIT starts while the rules compile.
  serve::blockServiceSignals();
  std::string diagnostics;
  std::unique_ptr<Compilation> failed;
  auto rules = loadRules(o.files, o.engine, nullptr, diagnostics, &failed);
  // The diagnostics as `check` prints them, with the exit code of `run`.
  if (failed) return refuseIfBroken(*failed, "serve");
  if (!rules) {
    std::cerr << "trig serve: " << diagnostics << "\n";
    return kExitUsage;
  }
  o.service.manualClock = o.clock == "manual";
  o.service.logJson = o.logFormat == "json";
  // The dashboard replays the log on a thread of its own, with an interpreter of its own (the
  // reference evaluator: the same answers as the JIT, nothing to compile per page).
  o.service.dashboard.evaluator = [](const serve::RuleSet& r) -> std::unique_ptr<Evaluator> {
    std::string note, error;
    return cli::makeEvaluator("interp", compilationOf(r), note, error);
  };
  o.service.dashboard.explain = [evaluatorFor = o.service.dashboard.evaluator](
                                    const serve::RuleSet& r, const std::string& eventsFile,
                                    const std::string& customer) {
    std::unique_ptr<Evaluator> evaluator = evaluatorFor(r);
    if (!evaluator) return std::string("(no evaluator for the rules in force)\n");
    engine::ReplayOptions ro;
    ro.eventFiles = {eventsFile};
    ro.eventNames = {"log export"};  // lines of `trig log export`
    std::ostringstream out, err;
    ro.diagnostics = &err;
    const Compilation& c = compilationOf(r);
    explainCustomer(c.model, c.sources, *evaluator, ro, customer, out, err);
    return out.str() + err.str();
  };
  // A rule's flowchart, as `trig graph --data` draws it (the report's numbers on its edges).
  o.service.dashboard.drawRule = [](const serve::RuleSet& r, const std::string& rule,
                                    const report::Report* rep) {
    graph::Counts counts;
    if (rep) counts = countsOf(*rep);
    graph::GraphOptions go;
    go.rule = rule;
    go.counts = rep ? &counts : nullptr;
    const Compilation& c = compilationOf(r);
    std::string dot = graph::toDot(c.model, c.sources, go), error;
    if (dot.empty()) return std::string();
    std::string svg = graph::render(dot, "svg", error).value_or("");
    // Inline in the page: the <svg> element without the XML prolog and doctype before it.
    size_t start = svg.find("<svg");
    return start == std::string::npos ? std::string() : svg.substr(start);
  };
  serve::RuleLoader loader = [files = o.files, engine = o.engine](const serve::RuleSet* stored,
                                                                  std::string& diags) {
    return loadRules(files, engine, stored, diags);
  };
  return serve::runService(o.service, rules, loader, std::cerr);
}

}  // namespace

void addServeCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand(
      "serve", "Run the rules live: HTTP ingest, wall-clock timers, durable state, delivery");
  cmd->add_option("files", o->files, "The .trig files (imports are followed)")->required();
  cmd->add_option("--data", o->service.dataDir, "The data directory (created on first start)")
      ->required();
  cmd->add_option("--listen", o->service.listen, "HOST:PORT to listen on (port 0: any free one)")
      ->default_val("127.0.0.1:8080");
  cmd->add_option("--clock", o->clock,
                  "wall (the default) or manual (moved by POST /v1/admin/clock)")
      ->check(CLI::IsMember({"wall", "manual"}));
  cmd->add_option("--deliver", o->service.deliver,
                  "outbox (DIR/outbox.jsonl, the default), smtp://[user:pass@]HOST:PORT, or "
                  "http(s)://WEBHOOK")
      ->default_val("outbox");
  cmd->add_option("--from", o->service.from, "The From address of every message")
      ->default_val("trig <trig@localhost>");
  cmd->add_option("--public-url", o->service.publicUrl,
                  "The base URL of the tracking links (open pixel, clicks, unsubscribe) as readers "
                  "reach the service (default: http://HOST:PORT of --listen)");
  cmd->add_option("--log-format", o->logFormat, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--engine", o->engine, "Condition evaluator: jit (the default) or interp")
      ->check(CLI::IsMember({"jit", "interp"}));
  cmd->add_flag("--print-keys", o->service.printKeys,
                "Print the write key, the admin key and the tracking secret, then exit");
  cmd->callback([o, &action] { action = [o] { return runServe(*o); }; });
}

}  // namespace trig::cli
