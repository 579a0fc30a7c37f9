// `trig lsp`: the language server over standard input and output (docs/editors.md). The logic
// is compiler/lsp's Server; this file moves bytes: Content-Length framed messages in, answers
// and diagnostics out. Diagnostics are computed when no input waits, so a burst of keystrokes
// costs one analysis.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iostream>

#include "cli/commands.h"
#include "compiler/lsp/server.h"

namespace trig::cli {
namespace {

size_t readStdin(char* buf, size_t n) {
  for (;;) {
    ssize_t got = ::read(STDIN_FILENO, buf, n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) return 0;
  }
}

bool writeAll(const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(STDOUT_FILENO, s.data() + done, s.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

bool inputWaiting() {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

int runLsp() {
  std::signal(SIGPIPE, SIG_IGN);  // a client gone: the write fails, the server ends
  lsp::Server server;
  lsp::MessageReader reader(readStdin);
  auto send = [](const std::vector<lsp::json>& messages) {
    for (const auto& m : messages)
      if (!writeAll(lsp::frame(m))) return false;
    return true;
  };
  std::string body, error;
  for (;;) {
    auto status = reader.next(body, error);
    if (status == lsp::MessageReader::Status::End) break;
    std::vector<lsp::json> out;
    if (status == lsp::MessageReader::Status::Malformed)
      out.push_back(lsp::Server::malformed(error));
    else
      out = server.handle(body);
    if (!send(out)) return kExitFailed;
    if (server.exited()) return server.exitCode();
    if (!reader.hasBuffered() && !inputWaiting() && !send(server.flush())) return kExitFailed;
  }
  if (!error.empty()) std::cerr << "trig lsp: " << error << "\n";
  return server.exited() ? server.exitCode() : kExitFailed;
}

}  // namespace

void addLspCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "lsp", "Run the language server (Language Server Protocol over standard input and output)");
  cmd->callback([&action] { action = [] { return runLsp(); }; });
}

}  // namespace trig::cli
