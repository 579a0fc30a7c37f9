// `trig check PATH...`: parse, resolve, type-check and lint; report every problem. A directory
// stands for every .trig file under it, all one rule set.
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "compiler/diag/render.h"
#include "compiler/driver/driver.h"
#include "compiler/review/bounds.h"
#include "compiler/review/review.h"
#include "runtime/policy/split.h"

namespace trig::cli {
namespace {

struct CheckOptions {
  std::vector<std::string> files;
  std::string format = "text";
  bool strict = false;
  bool bounds = false;  // --bounds (implied by --max-per-day and --max-per-week)
  std::optional<int64_t> maxPerDay, maxPerWeek;
};

int runCheck(const CheckOptions& o) {
  auto c = compile(o.files);
  review::review(*c);  // the solver-backed lints: `trig check` only (docs/review.md)
  std::optional<review::Bounds> bounds;
  if (o.bounds || o.maxPerDay || o.maxPerWeek) {
    review::BoundsOptions bo;
    bo.maxPerDay = o.maxPerDay;
    bo.maxPerWeek = o.maxPerWeek;
    bo.variantOf = [](const std::string& customer, const std::string& rule,
                      const ast::Step& split) {
      std::vector<Decimal> percents;
      for (const ast::Variant& v : split.variants) percents.push_back(v.percent);
      return policy::chooseVariant(policy::splitBucket(customer, rule, split.splitName.text),
                                   percents);
    };
    bounds = review::bounds(*c, bo);
  }
  auto diags = c->diags.sorted(c->sources);
  if (o.format == "json" && bounds) {
    std::ostringstream text;
    renderJson(text, diags, c->sources);
    auto doc = nlohmann::json::parse(text.str());
    doc["bounds"] = nlohmann::json::parse(review::boundsJson(*bounds, *c));
    std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (o.format == "json") {
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
    if (bounds) std::cout << review::boundsText(*bounds, *c);
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
  cmd->add_flag("--bounds", o->bounds,
                "Print the worst number of emails one customer can get in any day and any week, "
                "with a schedule that reaches it (docs/review.md, \"Bounds\")");
  cmd->add_option("--max-per-day", o->maxPerDay,
                  "With --bounds: a worst case above N emails in a day (or unbounded) is an "
                  "error (implies --bounds)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-per-week", o->maxPerWeek,
                  "With --bounds: a worst case above N emails in a week (or unbounded) is an "
                  "error (implies --bounds)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([o, &action] { action = [o] { return runCheck(*o); }; });
}

}  // namespace trig::cli
