// `trig test [PATH...]`: run the `test` blocks of .trig files (directories: every .trig file
// inside, recursively). Each test runs alone with the rules of its file. `--run REGEX` selects
// tests by description (none matching is a failure: exit 1); `--format text|json|junit`. Ends
// with the line `N passed, N failed` (on standard error for json and junit); exit 1 when a test
// failed or a file does not compile.
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "cli/commands.h"
#include "cli/run_common.h"
#include "cli/test_report.h"
#include "cli/test_runner.h"
#include "runtime/engine/record_json.h"

namespace trig::cli {
namespace {

namespace fs = std::filesystem;

struct TestOptions {
  std::vector<std::string> paths;
  std::string engine = cli::kDefaultEngine;
  bool coverage = false;
  std::string run;  // a regular expression searched in the descriptions
  std::string format = "text";
};

// Coverage merged over compilations: rules and conditions are keyed by source location, since
// every file is compiled on its own (a rule file imported by two test files is one rule).
struct CoverageReport {
  struct RuleCov {
    std::string name;
    uint64_t fired = 0;
    uint64_t sent = 0;
  };
  struct CondCov {
    std::string rule;
    std::string text;
    uint8_t outcomes = 0;
  };
  struct StepCov {
    std::string rule;
    std::string what;  // "send cart_followup", "variant slow of split delay"
    uint64_t reached = 0;
  };
  std::map<std::string, RuleCov> rules;
  std::map<std::string, CondCov> conditions;
  std::map<std::string, StepCov> steps;
};

std::string snippet(const SourceManager& sm, Loc loc) {
  if (!loc.valid()) return "";
  std::string_view t = sm.file(loc.file).text().substr(loc.begin, loc.end - loc.begin);
  std::string s(t.substr(0, 80));
  for (auto& ch : s)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return s;
}

void collectConditions(const ast::Expr* e, std::vector<const ast::Expr*>& out) {
  if (e) out.push_back(e);
}

void collectStepConditions(const std::vector<ast::Step>& steps,
                           std::vector<const ast::Expr*>& out) {
  for (const auto& s : steps) {
    for (const auto* u : s.unless) collectConditions(u, out);
    for (const auto& v : s.variants) collectStepConditions(v.steps, out);
  }
}

void mergeSteps(CoverageReport& report, const Compilation& c, const engine::Coverage& cov,
                const std::string& rule, const std::vector<ast::Step>& steps) {
  for (const auto& s : steps) {
    auto& sc = report.steps[plan::formatLoc(s.loc, c.sources)];
    sc.rule = rule;
    sc.what = s.action == ast::ActionKind::Send ? "send " + s.templateName.text
                                                : "split " + s.splitName.text;
    if (auto it = cov.steps.find(s.id); it != cov.steps.end()) sc.reached += it->second;
    for (size_t vi = 0; vi < s.variants.size(); ++vi) {
      const ast::Variant& v = s.variants[vi];
      auto& vc = report.steps[plan::formatLoc(v.loc, c.sources)];
      vc.rule = rule;
      vc.what = "variant " + v.name.text + " of split " + s.splitName.text;
      if (auto it = cov.variants.find(engine::Coverage::variantKey(s.id, vi));
          it != cov.variants.end())
        vc.reached += it->second;
      mergeSteps(report, c, cov, rule, v.steps);
    }
  }
}

void mergeCoverage(CoverageReport& report, const Compilation& c, const engine::Coverage& cov) {
  for (size_t i = 0; i < c.model.rules.size(); ++i) {
    const auto& ri = c.model.rules[i];
    if (ri.rule == nullptr || !ri.rule->loc.valid()) continue;
    std::string key = plan::formatLoc(ri.rule->loc, c.sources);
    auto& rc = report.rules[key];
    rc.name = ri.name;
    rc.fired += i < cov.ruleFired.size() ? cov.ruleFired[i] : 0;
    rc.sent += i < cov.ruleSent.size() ? cov.ruleSent[i] : 0;
    std::vector<const ast::Expr*> conds;
    for (const auto* e : ri.conditions) collectConditions(e, conds);
    for (const auto* e : ri.unless) collectConditions(e, conds);
    collectStepConditions(ri.rule->steps, conds);
    mergeSteps(report, c, cov, ri.name, ri.rule->steps);
    for (const auto* e : conds) {
      auto& cc = report.conditions[plan::formatLoc(e->loc, c.sources)];
      cc.rule = ri.name;
      cc.text = snippet(c.sources, e->loc);
      if (auto it = cov.conditions.find(e->id); it != cov.conditions.end())
        cc.outcomes |= it->second;
    }
  }
}

void printCoverage(const CoverageReport& report) {
  std::cout << "\ncoverage:\n";
  size_t firedRules = 0;
  for (const auto& [loc, r] : report.rules) firedRules += r.fired > 0;
  std::cout << "  rules fired by some test: " << firedRules << " of " << report.rules.size()
            << "\n";
  for (const auto& [loc, r] : report.rules)
    if (r.fired == 0)
      std::cout << "  " << loc << ": rule " << r.name << " never fired\n";
    else if (r.sent == 0)
      std::cout << "  " << loc << ": rule " << r.name << " fired but never sent\n";
  size_t reached = 0;
  for (const auto& [loc, sc] : report.steps) reached += sc.reached > 0;
  std::cout << "  steps and split variants reached: " << reached << " of " << report.steps.size()
            << "\n";
  for (const auto& [loc, sc] : report.steps)
    if (sc.reached == 0)
      std::cout << "  " << loc << ": " << sc.what << " (" << sc.rule << ") never reached\n";
  size_t full = 0;
  for (const auto& [loc, cc] : report.conditions) full += cc.outcomes == 3;
  std::cout << "  conditions seen both holding and not holding: " << full << " of "
            << report.conditions.size() << "\n";
  for (const auto& [loc, cc] : report.conditions) {
    const char* what = cc.outcomes == 0   ? "never evaluated"
                       : cc.outcomes == 1 ? "never seen false"
                       : cc.outcomes == 2 ? "never seen true"
                                          : nullptr;
    if (what)
      std::cout << "  " << loc << ": `" << cc.text << "` (" << cc.rule << ") " << what << "\n";
  }
}

bool collectFiles(const std::vector<std::string>& paths, std::vector<std::string>& files) {
  bool ok = true;
  for (const auto& p : expandTrigPaths(paths)) {
    std::error_code ec;
    if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      std::cerr << "trig test: cannot find '" << p << "'\n";
      ok = false;
    }
  }
  return ok;
}

Place placeOf(Loc loc, const SourceManager& sm) {
  if (!loc.valid()) return {};
  const SourceFile& f = sm.file(loc.file);
  LineCol lc = f.lineCol(loc.begin);
  return {f.path(), lc.line, lc.column};
}

// The test blocks of `file` itself (not of the files it imports).
std::vector<const ast::TestDecl*> ownTests(const Compilation& c, const std::string& file) {
  const ast::File* own = nullptr;
  for (const auto& f : c.program.files)
    if (!f.isStdlib && f.id != kNoFile &&
        c.sources.file(f.id).path() == fs::path(file).lexically_normal().string())
      own = &f;
  if (own == nullptr && !c.program.files.empty() && !c.program.files.back().isStdlib)
    own = &c.program.files.back();
  std::vector<const ast::TestDecl*> tests;
  if (own) tests.assign(own->tests.begin(), own->tests.end());
  return tests;
}

int runTest(const TestOptions& o) {
  std::vector<std::string> files;
  if (!collectFiles(o.paths.empty() ? std::vector<std::string>{"."} : o.paths, files))
    return kExitUsage;
  std::optional<std::regex> select;
  if (!o.run.empty()) {
    try {
      select.emplace(o.run, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      std::cerr << "trig test: --run '" << o.run << "' is not a regular expression: " << e.what()
                << "\n";
      return kExitUsage;
    }
  }
  auto selected = [&](const ast::TestDecl* t) {
    return !select || std::regex_search(t->name.value, *select);
  };
  TestFormat format = o.format == "json"    ? TestFormat::Json
                      : o.format == "junit" ? TestFormat::Junit
                                            : TestFormat::Text;
  std::vector<TestResult> results;
  auto add = [&](TestResult r) {
    if (format == TestFormat::Text) printTextResult(std::cout, r);
    results.push_back(std::move(r));
  };
  size_t passed = 0, failed = 0;
  CoverageReport report;
  for (const auto& file : files) {
    auto c = compile({file});
    std::vector<const ast::TestDecl*> tests = ownTests(*c, file);
    tests.erase(std::remove_if(tests.begin(), tests.end(),
                               [&](const ast::TestDecl* t) { return !selected(t); }),
                tests.end());
    if (!c->ok()) {
      // With --run, a file none of whose tests are selected is not reported.
      if (select && tests.empty()) continue;
      refuseIfBroken(*c, "test");
      TestResult r;
      r.file = file;
      r.notRun = std::max<size_t>(tests.size(), 1);
      failed += r.notRun;
      add(std::move(r));
      continue;
    }
    if (tests.empty()) continue;
    std::string note, error;
    auto evaluator = cli::makeEvaluator(o.engine, *c, note, error);
    if (!evaluator) {
      std::cerr << "trig test: " << error << "\n";
      return kExitUsage;
    }
    engine::Coverage cov;
    for (const auto& out : engine::runTests(*c, tests, *evaluator, o.coverage ? &cov : nullptr)) {
      TestResult r;
      r.file = file;
      r.name = out.name;
      r.where = placeOf(out.test->loc, c->sources);
      r.passed = out.passed();
      for (const auto& f : out.failures)
        r.failures.push_back({placeOf(f.loc, c->sources), f.message});
      ++(r.passed ? passed : failed);
      add(std::move(r));
    }
    if (o.coverage) mergeCoverage(report, *c, cov);
  }
  if (select && passed + failed == 0) {
    std::cerr << "trig test: no test description matches --run '" << o.run << "'\n";
    return kExitFailed;
  }
  if (format == TestFormat::Json) printJsonResults(std::cout, results, passed, failed);
  if (format == TestFormat::Junit) printJunitResults(std::cout, results, passed, failed);
  if (o.coverage) printCoverage(report);
  (format == TestFormat::Text ? std::cout : std::cerr)
      << passed << " passed, " << failed << " failed\n";
  return failed > 0 ? kExitFailed : kExitOk;
}

}  // namespace

void addTestCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<TestOptions>();
  auto* cmd = app.add_subcommand(
      "test", "Run the test blocks of .trig files (directories: every .trig file inside)");
  cmd->add_option("paths", o->paths, "Files or directories (default: the current directory)");
  cmd->add_option("--engine", o->engine,
                  "Condition evaluator: jit (native code, the default) or interp (the reference "
                  "interpreter)")
      ->check(CLI::IsMember({"jit", "interp"}));
  cmd->add_flag("--coverage", o->coverage, "List the rules and conditions no test exercised");
  cmd->add_option(
      "--run", o->run,
      "Run only the tests whose description this regular expression matches (searched)");
  cmd->add_option("--format", o->format,
                  "text (the default), json or junit (JUnit XML); with json and junit the summary "
                  "line goes to "
                  "standard error")
      ->check(CLI::IsMember({"text", "json", "junit"}));
  cmd->callback([o, &action] { action = [o] { return runTest(*o); }; });
}

}  // namespace trig::cli
