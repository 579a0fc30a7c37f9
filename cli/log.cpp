// `trig log export|dead-letter|decisions --data DIR`: what a serve data directory accepted,
// rejected and decided, as JSON lines (docs/serve.md, "Replay equivalence").
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli/commands.h"
#include "runtime/deliver/render.h"
#include "runtime/serve/store.h"

namespace trig::cli {
namespace {

struct LogOptions {
  std::string data;
};

int finishOutput(const char* what) {
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::cerr << "trig log " << what
              << ": cannot write to standard output: " << std::strerror(errno) << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

// Every accepted event in processing order, its `timestamp` the stamp the engine used: the
// input of `trig run` that gives serve's decisions.
int runExport(const LogOptions& o) {
  std::string error;
  auto store = serve::Store::openReadOnly(o.data, error);
  if (!store) {
    std::cerr << "trig log export: " << error << "\n";
    return kExitUsage;
  }
  bool ok = store->scanLog(
      1,
      [](const serve::LogEntry& e) {
        if (e.kind != serve::LogEntry::Kind::Event) return true;
        std::fwrite(e.data.data(), 1, e.data.size(), stdout);
        std::fputc('\n', stdout);
        return true;
      },
      error);
  if (!ok) {
    std::cerr << "trig log export: " << error << "\n";
    return kExitUsage;
  }
  return finishOutput("export");
}

// Every rejected event: when, why, and its text as received.
int runDeadLetter(const LogOptions& o) {
  std::string error;
  auto store = serve::Store::openReadOnly(o.data, error);
  if (!store) {
    std::cerr << "trig log dead-letter: " << error << "\n";
    return kExitUsage;
  }
  std::string line;
  bool ok = store->scanDeadLetter(
      [&](const serve::DeadLetter& d) {
        line = "{\"received_at\":\"" + formatTimestamp(d.receivedAt) + "\",\"reason\":";
        deliver::appendJsonString(line, d.reason);
        line += ",\"data\":";
        deliver::appendJsonString(line, d.data);
        line += "}\n";
        std::fwrite(line.data(), 1, line.size(), stdout);
        return true;
      },
      error);
  if (!ok) {
    std::cerr << "trig log dead-letter: " << error << "\n";
    return kExitUsage;
  }
  return finishOutput("dead-letter");
}

// Every decision record, in the order the engine made them, each with the rule-set version.
int runDecisions(const LogOptions& o) {
  std::string error;
  auto store = serve::Store::openReadOnly(o.data, error);
  if (!store) {
    std::cerr << "trig log decisions: " << error << "\n";
    return kExitUsage;
  }
  bool ok = store->scanDecisions(
      [](uint64_t, const std::string& json) {
        std::fwrite(json.data(), 1, json.size(), stdout);
        std::fputc('\n', stdout);
        return true;
      },
      error);
  if (!ok) {
    std::cerr << "trig log decisions: " << error << "\n";
    return kExitUsage;
  }
  return finishOutput("decisions");
}

}  // namespace

void addLogCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<LogOptions>();
  auto* cmd = app.add_subcommand("log", "Read a serve data directory's event log");
  cmd->require_subcommand(1);
  auto* exp = cmd->add_subcommand(
      "export", "Print the accepted events as JSON lines, stamped as the engine saw them");
  exp->add_option("--data", o->data, "The data directory of trig serve")->required();
  exp->callback([o, &action] { action = [o] { return runExport(*o); }; });
  auto* dead = cmd->add_subcommand("dead-letter", "Print the rejected events with their reasons");
  dead->add_option("--data", o->data, "The data directory of trig serve")->required();
  dead->callback([o, &action] { action = [o] { return runDeadLetter(*o); }; });
  auto* decisions = cmd->add_subcommand(
      "decisions", "Print the decision records (sends, suppressions, deferrals, drops)");
  decisions->add_option("--data", o->data, "The data directory of trig serve")->required();
  decisions->callback([o, &action] { action = [o] { return runDecisions(*o); }; });
}

}  // namespace trig::cli
