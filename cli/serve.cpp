// `trig serve RULES... --data DIR`: the live service (docs/serve.md). The rule set must check
// clean; the service itself is runtime/serve.
#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "cli/run_common.h"
#include "runtime/serve/service.h"

namespace trig::cli {
namespace {

struct ServeOptions {
  std::vector<std::string> files;
  serve::ServiceOptions service;
  std::string clock = "wall";
  std::string logFormat = "text";
  std::string engine = engine::kDefaultEngine;
};

// 16 hex digits of FNV-1a over every source file's path and text: the rule-set version that
// decision records carry.
std::string versionOf(const SourceManager& sources) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0x1f) * 1099511628211ull;
  };
  for (size_t i = 0; i < sources.size(); ++i) {
    const SourceFile& f = sources.file(static_cast<FileId>(i));
    mix(f.path());
    mix(f.text());
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

struct Loaded {
  std::unique_ptr<Compilation> compilation;
  std::unique_ptr<Evaluator> evaluator;
};

int runServe(ServeOptions& o) {
  // The service waits for SIGTERM, SIGINT and SIGHUP in a thread of its own: they are blocked in
  // every thread, including those the JIT starts while the rules compile.
  serve::blockServiceSignals();
  auto started = std::chrono::steady_clock::now();
  auto loaded = std::make_shared<Loaded>();
  loaded->compilation = compile(o.files);
  if (int rc = refuseIfBroken(*loaded->compilation, "serve"); rc != kExitOk) return rc;
  std::string note, error;
  loaded->evaluator = engine::makeEvaluator(o.engine, *loaded->compilation, note, error);
  if (!loaded->evaluator) {
    std::cerr << "trig serve: " << error << "\n";
    return kExitUsage;
  }
  serve::RuleSet rules;
  rules.owner = loaded;
  rules.model = &loaded->compilation->model;
  rules.sources = &loaded->compilation->sources;
  rules.evaluator = loaded->evaluator.get();
  rules.version = versionOf(loaded->compilation->sources);
  rules.compileSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  o.service.manualClock = o.clock == "manual";
  o.service.logJson = o.logFormat == "json";
  return serve::runService(o.service, rules, std::cerr);
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
  cmd->add_option("--log-format", o->logFormat, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--engine", o->engine, "Condition evaluator: jit (the default) or interp")
      ->check(CLI::IsMember({"jit", "interp"}));
  cmd->add_flag("--print-keys", o->service.printKeys,
                "Print the write key, the admin key and the tracking secret, then exit");
  cmd->callback([o, &action] { action = [o] { return runServe(*o); }; });
}

}  // namespace trig::cli
