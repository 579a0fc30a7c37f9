// `trig log export|dead-letter|decisions --data DIR`: what a serve data directory accepted,
// rejected and decided, as JSON lines (docs/serve.md, "Replay equivalence").
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <string_view>

#include "cli/commands.h"
#include "runtime/deliver/render.h"
#include "runtime/serve/store.h"

namespace trig::cli {
namespace {

struct LogOptions {
  std::string data;
};

// Opens DIR for reading and prints what `scan` writes; the exit code.
int printFromStore(const char* what, const LogOptions& o,
                   const std::function<bool(serve::Store&, std::string&)>& scan) {
  std::string error;
  auto store = serve::Store::openReadOnly(o.data, error);
  if (!store || !scan(*store, error)) {
    std::cerr << "trig log " << what << ": " << error << "\n";
    return kExitUsage;
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::cerr << "trig log " << what
              << ": cannot write to standard output: " << std::strerror(errno) << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

void printLine(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
}

// Every accepted event in processing order, its `timestamp` the stamp the engine used: the
// input of `trig run` that gives serve's decisions.
int runExport(const LogOptions& o) {
  return printFromStore("export", o, [](serve::Store& store, std::string& error) {
    return store.scanLog(
        1,
        [](const serve::LogEntry& e) {
          if (e.kind == serve::LogEntry::Kind::Event) printLine(e.data);
          return true;
        },
        error);
  });
}

// Every rejected event: when, why, and its text as received.
int runDeadLetter(const LogOptions& o) {
  return printFromStore("dead-letter", o, [](serve::Store& store, std::string& error) {
    std::string line;
    return store.scanDeadLetter(
        [&](const serve::DeadLetter& d) {
          line = "{\"received_at\":\"" + formatTimestamp(d.receivedAt) + "\",\"reason\":";
          deliver::appendJsonString(line, d.reason);
          line += ",\"data\":";
          deliver::appendJsonString(line, d.data);
          line += "}";
          printLine(line);
          return true;
        },
        error);
  });
}

// Every decision record, in the order the engine made them, each with the rule-set version.
int runDecisions(const LogOptions& o) {
  return printFromStore("decisions", o, [](serve::Store& store, std::string& error) {
    return store.scanDecisions(
        [](uint64_t, const std::string& json) {
          printLine(json);
          return true;
        },
        error);
  });
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
