// `trig test [PATH...]`: run the `test` blocks of .trig files (directories: every .trig file
// inside, recursively). Each test runs alone with the rules of its file. Ends with the line
// `N passed, N failed`; exit 1 when a test failed or a file does not compile.
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "cli/commands.h"
#include "cli/run_common.h"
#include "runtime/engine/record_json.h"
#include "runtime/engine/test_runner.h"

namespace trig::cli {
namespace {

namespace fs = std::filesystem;

struct TestOptions {
  std::vector<std::string> paths;
  std::string engine = engine::kDefaultEngine;
  bool coverage = false;
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
    auto& sc = report.steps[engine::formatLoc(s.loc, c.sources)];
    sc.rule = rule;
    sc.what = s.action == ast::ActionKind::Send ? "send " + s.templateName.text
                                                : "split " + s.splitName.text;
    if (auto it = cov.steps.find(&s); it != cov.steps.end()) sc.reached += it->second;
    for (const auto& v : s.variants) {
      auto& vc = report.steps[engine::formatLoc(v.loc, c.sources)];
      vc.rule = rule;
      vc.what = "variant " + v.name.text + " of split " + s.splitName.text;
      if (auto it = cov.variants.find(&v); it != cov.variants.end()) vc.reached += it->second;
      mergeSteps(report, c, cov, rule, v.steps);
    }
  }
}

void mergeCoverage(CoverageReport& report, const Compilation& c, const engine::Coverage& cov) {
  for (size_t i = 0; i < c.model.rules.size(); ++i) {
    const auto& ri = c.model.rules[i];
    if (ri.rule == nullptr || !ri.rule->loc.valid()) continue;
    std::string key = engine::formatLoc(ri.rule->loc, c.sources);
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
      auto& cc = report.conditions[engine::formatLoc(e->loc, c.sources)];
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

int runTest(const TestOptions& o) {
  std::vector<std::string> files;
  if (!collectFiles(o.paths.empty() ? std::vector<std::string>{"."} : o.paths, files))
    return kExitUsage;
  size_t passed = 0, failed = 0;
  CoverageReport report;
  for (const auto& file : files) {
    auto c = compile({file});
    const ast::File* own = nullptr;
    for (const auto& f : c->program.files)
      if (!f.isStdlib && f.id != kNoFile &&
          c->sources.file(f.id).path() == fs::path(file).lexically_normal().string())
        own = &f;
    if (own == nullptr && !c->program.files.empty() && !c->program.files.back().isStdlib)
      own = &c->program.files.back();
    std::vector<const ast::TestDecl*> tests;
    if (own) tests.assign(own->tests.begin(), own->tests.end());
    if (!c->ok()) {
      refuseIfBroken(*c, "test");
      size_t n = std::max<size_t>(tests.size(), 1);
      std::cout << "FAIL " << file << ": does not compile; " << n << (n == 1 ? " test" : " tests")
                << " not run\n";
      failed += n;
      continue;
    }
    if (tests.empty()) continue;
    std::string note, error;
    auto evaluator = engine::makeEvaluator(o.engine, *c, note, error);
    if (!evaluator) {
      std::cerr << "trig test: " << error << "\n";
      return kExitUsage;
    }
    engine::Coverage cov;
    auto outcomes = engine::runTests(*c, tests, *evaluator, o.coverage ? &cov : nullptr);
    for (const auto& out : outcomes) {
      if (out.passed()) {
        ++passed;
        std::cout << "PASS " << file << ": " << out.name << "\n";
        continue;
      }
      ++failed;
      std::cout << "FAIL " << engine::formatLoc(out.test->loc, c->sources) << ": " << out.name
                << "\n";
      for (const auto& f : out.failures)
        std::cout << "  " << engine::formatLoc(f.loc, c->sources) << ": " << f.message << "\n";
    }
    if (o.coverage) mergeCoverage(report, *c, cov);
  }
  if (o.coverage) printCoverage(report);
  std::cout << passed << " passed, " << failed << " failed\n";
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
  cmd->callback([o, &action] { action = [o] { return runTest(*o); }; });
}

}  // namespace trig::cli
