// `trig check PATH...`: parse, resolve, type-check and lint; report every problem. A directory
// stands for every .trig file under it, all one rule set.
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "compiler/diag/render.h"
#include "compiler/driver/driver.h"
#include "compiler/review/review.h"

namespace trig::cli {
namespace {

struct CheckOptions {
  std::vector<std::string> files;
  std::string format = "text";
  bool strict = false;
};

int runCheck(const CheckOptions& o) {
  auto c = compile(o.files);
  review::review(*c);  // the solver-backed lints: `trig check` only (docs/review.md)
  auto diags = c->diags.sorted(c->sources);
  if (o.format == "json") {
    renderJson(std::cout, diags, c->sources);
  } else if (o.format == "sarif") {
    renderSarif(std::cout, diags, c->sources);
  } else {
    renderText(std::cout, diags, c->sources, useColor(STDOUT_FILENO));
    if (std::string more = omittedLine(c->diags); !more.empty()) std::cout << more << "\n";
    size_t errors = c->diags.errorCount(), warnings = c->diags.warningCount();
    if (errors + warnings > 0)
      std::cout << errors << (errors == 1 ? " error" : " errors") << ", " << warnings
                << (warnings == 1 ? " warning" : " warnings") << " generated.\n";
  }
  bool io = std::any_of(diags.begin(), diags.end(),
                        [](const Diagnostic& d) { return d.kind == DiagKind::IoError; });
  if (io) return kExitUsage;
  if (c->diags.errorCount() > 0) return kExitFailed;
  if (o.strict && c->diags.warningCount() > 0) return kExitFailed;
  return kExitOk;
}

}  // namespace

void addCheckCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<CheckOptions>();
  auto* cmd = app.add_subcommand("check", "Parse, resolve, type-check and lint .trig files");
  cmd->add_option(
         "paths", o->files,
         "The .trig files, or directories (every .trig file under them); imports are followed")
      ->required();
  cmd->add_option("--format", o->format, "Output format")
      ->check(CLI::IsMember({"text", "json", "sarif"}));
  cmd->add_flag("--strict", o->strict, "Fail (exit 1) on warnings too");
  cmd->callback([o, &action] { action = [o] { return runCheck(*o); }; });
}

}  // namespace trig::cli
