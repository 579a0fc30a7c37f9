#include "cli/run_common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "compiler/diag/render.h"

namespace trig::cli {

int refuseIfBroken(const Compilation& c, const std::string& command) {
  if (c.ok()) return kExitOk;
  auto diags = c.diags.sorted(c.sources);
  // Only the errors: warnings are `check`'s business and do not stop a run.
  std::vector<Diagnostic> errors;
  std::copy_if(diags.begin(), diags.end(), std::back_inserter(errors),
               [](const Diagnostic& d) { return d.severity == Severity::Error; });
  renderText(std::cerr, errors, c.sources, useColor(STDERR_FILENO));
  if (std::string more = omittedLine(c.diags); !more.empty()) std::cerr << more << "\n";
  bool io = std::any_of(errors.begin(), errors.end(),
                        [](const Diagnostic& d) { return d.kind == DiagKind::IoError; });
  if (io) return kExitUsage;
  std::cerr << "trig " << command << ": the rules have " << errors.size()
            << (errors.size() == 1 ? " error" : " errors") << "; fix them first (trig check)\n";
  return kExitFailed;
}

void printSummary(std::ostream& out, const engine::ReplayResult& rr, const engine::Stats& s,
                  const sema::Model& model) {
  out << fmt::format(
      "trig: {} event line(s): {} accepted, {} rejected; {} duplicate(s) dropped ({} by messageId, "
      "{} by content)",
      rr.lines, rr.accepted, rr.rejected, s.droppedById + s.droppedByContent, s.droppedById,
      s.droppedByContent);
  if (rr.afterUntil > 0) out << fmt::format("; {} after --until not processed", rr.afterUntil);
  out << "\n";
  uint64_t suppressed = 0;
  std::string reasons;
  for (const auto& [reason, n] : s.suppressed) {
    suppressed += n;
    reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ", reason, n);
  }
  out << fmt::format("trig: {} sent, {} suppressed{}, {} deferred\n", s.sends, suppressed,
                     reasons.empty() ? "" : " (" + reasons + ")", s.deferred);
  for (size_t i = 0; i < s.rules.size() && i < model.rules.size(); ++i) {
    const auto& r = s.rules[i];
    if (r.fired == 0 && r.sends == 0) continue;
    std::string line =
        fmt::format("trig: rule {}: fired {}, sent {}", model.rules[i].name, r.fired, r.sends);
    if (model.rules[i].goalEvent) {
      line += fmt::format(", converted {}", r.conversions);
      if (r.conversionsWithoutMessage > 0)
        line += fmt::format(" ({} before any send)", r.conversionsWithoutMessage);
      for (const auto& [variant, v] : r.variants)
        if (v.heldOut > 0)
          line += fmt::format("; variant {} (holdout): {} held out, {} converted", variant,
                              v.heldOut, v.conversions);
        else if (!variant.empty())
          line +=
              fmt::format("; variant {}: {} sent, {} converted", variant, v.sends, v.conversions);
    }
    out << line << "\n";
  }
}

std::function<void(uint64_t, uint64_t)> terminalProgress() {
  if (isatty(STDERR_FILENO) == 0) return nullptr;
  struct State {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point shown{};
    bool drawn = false;
  };
  auto st = std::make_shared<State>();
  return [st](uint64_t done, uint64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (total != 0 && done == total) {  // the end: erase the line
      if (st->drawn) std::fputs("\r\033[K", stderr);
      return;
    }
    if (st->drawn && now - st->shown < std::chrono::milliseconds(250)) return;
    double secs = std::chrono::duration<double>(now - st->start).count();
    std::string text =
        total != 0 ? fmt::format("trig: {} of {} events ({}%)", done, total, done * 100 / total)
                   : fmt::format("trig: {} events", done);
    if (secs > 0)
      text += fmt::format(", {} events/s", static_cast<uint64_t>(static_cast<double>(done) / secs));
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    std::fflush(stderr);
    st->shown = now;
    st->drawn = true;
  };
}

}  // namespace trig::cli
