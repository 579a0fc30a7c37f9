// `trig compile FILE... [--emit ast|llvm|asm]`: shows what the compiler makes of a rule set.
// Without
// --emit it compiles the rule set as `run --engine jit` would at start-up, into the compiled-code
// cache (so a later `run` starts warm: a deploy step), and reports the times.
#include <unistd.h>

#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "compiler/diag/render.h"
#include "compiler/driver/driver.h"
#include "compiler/jit/jit.h"
#include "compiler/lower/ast_dump.h"

namespace trig::cli {
namespace {

struct CompileOptions {
  std::vector<std::string> files;
  std::string emit;
  unsigned optLevel = 2;
  std::string cacheDir;
  bool noCache = false;
  std::string granularity = "condition";
  bool explicitShape = false;  // -O or --granularity given
};

std::string where(const Compilation& c, Loc loc) {
  if (!loc.valid()) return "?";
  const SourceFile& f = c.sources.file(loc.file);
  LineCol lc = f.lineCol(loc.begin);
  return f.path() + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column);
}

int report(const Compilation& c, const jit::RuleSetCode& code, const char* what, unsigned optLevel);

int runCompile(const CompileOptions& o) {
  auto c = compile(o.files);
  auto diags = c->diags.sorted(c->sources);
  bool io = std::any_of(diags.begin(), diags.end(),
                        [](const Diagnostic& d) { return d.kind == DiagKind::IoError; });
  if (!c->ok()) {
    std::vector<Diagnostic> errors;
    for (const auto& d : diags)
      if (d.severity == Severity::Error) errors.push_back(d);
    renderText(std::cerr, errors, c->sources, useColor(STDERR_FILENO));
    std::cerr << "trig compile: the rules have errors; nothing was compiled\n";
    return io ? kExitUsage : kExitFailed;
  }
  jit::JitOptions jo;
  jo.optLevel = o.optLevel;
  jo.cacheDir = o.cacheDir;
  jo.useCache = !o.noCache;
  jo.granularity =
      o.granularity == "rule" ? lower::Granularity::PerRule : lower::Granularity::PerCondition;
  if (o.emit == "ast") {
    lower::dumpAst(std::cout, c->program, c->model, c->sources);
    return kExitOk;
  }
  if (o.emit == "llvm") {
    std::cout << jit::emitLLVM(*c, jo);
    return kExitOk;
  }
  if (o.emit == "asm") {
    std::cout << jit::emitAssembly(*c, jo);
    return kExitOk;
  }
  // Without -O or --granularity: what `run --engine jit` does at start-up. The optimised code
  // (-O2, a function per condition) from the cache if it is there; else the fast tier it would
  // start on, then the optimised code it would build in the background (cached for next time).
  bool asTheRuntime = !o.explicitShape && jit::codeSize(*c) >= jo.tierFromSize;
  if (asTheRuntime && jo.useCache) {
    jit::JitOptions probe = jo;
    probe.cachedOnly = true;
    if (auto cached = jit::compileRuleSet(*c, probe)) return report(*c, *cached, "", o.optLevel);
  }
  if (asTheRuntime) {
    jit::JitOptions fast = jo;
    fast.optLevel = 0;
    fast.granularity = lower::Granularity::PerRule;
    fast.chunkRules = 0;
    auto code = jit::compileRuleSet(*c, fast);
    report(*c, *code, "fast tier: ", 0);
  }
  auto code = jit::compileRuleSet(*c, jo);
  return report(*c, *code, asTheRuntime ? "optimised: " : "", o.optLevel);
}

int report(const Compilation& c, const jit::RuleSetCode& code, const char* what,
           unsigned optLevel) {
  const jit::CompileStats& s = code.stats();
  std::cout << fmt::format(
      "{}{} {}, {} conditions/filters/bindings in {} native functions ({} module{}), O{}, {}\n",
      what, c.model.rules.size(), c.model.rules.size() == 1 ? "rule" : "rules", s.entries,
      s.functions, s.chunks, s.chunks == 1 ? "" : "s", optLevel, jit::hostTriple());
  if (s.cacheHit) {
    std::cout << fmt::format(
        "{}loaded from the cache ({}) in {:.1f} ms (CPU: key {:.1f}, link {:.1f})\n", what,
        s.cachePath, s.wallMs, s.lowerMs, s.linkMs);
  } else {
    std::cout << fmt::format(
        "{}compiled in {:.1f} ms (CPU: lower {:.1f}, optimise {:.1f}, codegen {:.1f}, link "
        "{:.1f})\n",
        what, s.wallMs, s.lowerMs, s.optimizeMs, s.codegenMs, s.linkMs);
    if (!s.cachePath.empty() && s.cacheError.empty())
      std::cout << what << "cached as " << s.cachePath << "\n";
  }
  if (!s.cacheError.empty()) std::cerr << "trig: warning: " << s.cacheError << "\n";
  for (const auto& f : code.fallbacks())
    std::cout << where(c, f.loc) << ": note: " << f.name << " runs in the interpreter: " << f.reason
              << "\n";
  return kExitOk;
}

}  // namespace

void addCompileCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<CompileOptions>();
  auto* cmd = app.add_subcommand(
      "compile", "Compile rules to native code, or show the AST, LLVM IR or assembly");
  cmd->add_option("files", o->files, "The .trig files (imports are followed)")->required();
  cmd->add_option("--emit", o->emit,
                  "Print the checked AST with types, the LLVM IR, or the native assembly")
      ->check(CLI::IsMember({"ast", "llvm", "asm"}));
  cmd->add_option("-O,--opt-level", o->optLevel, "Optimisation level (default 2)")
      ->check(CLI::Range(0, 3));
  cmd->add_option("--cache-dir", o->cacheDir,
                  "Where compiled code is cached (default $TRIG_CACHE_DIR, $XDG_CACHE_HOME/trig or "
                  "~/.cache/trig)");
  cmd->add_flag("--no-cache", o->noCache, "Neither read nor write the compiled-code cache");
  cmd->add_option(
         "--granularity", o->granularity,
         "One native function per condition (default), or one per rule (the fast tier's shape)")
      ->check(CLI::IsMember({"condition", "rule"}));
  cmd->callback([o, cmd, &action] {
    o->explicitShape = cmd->count("--opt-level") > 0 || cmd->count("--granularity") > 0;
    action = [o] { return runCompile(*o); };
  });
}

}  // namespace trig::cli
