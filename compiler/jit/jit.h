#pragma once
// The process JIT: one ORC LLJIT per process, one LLVM module per rule set (lowered by
// compiler/lower), compiled at -O2 by default, cached on disk as object code, and linked into its
// own JITDylib with a ResourceTracker so that a rule set can be unloaded or replaced while the
// process runs. The extern "C" helpers of runtime/abi are the only symbols the code can call.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "compiler/driver/driver.h"
#include "compiler/lower/lower.h"

namespace trig::jit {

// An internal failure of code generation (a module the backend rejects, a symbol that does not
// resolve). Never a user error: a program that passes `check` lowers and compiles.
class JitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct JitOptions {
  unsigned optLevel = 2;  // 0..3: the IR pipeline and the code generator's level
  bool useCache = true;
  std::string cacheDir;  // empty: DiskObjectCache::defaultDirectory
  bool verify = false;   // run LLVM's verifier on the lowered module (tests always do)
  lower::Granularity granularity = lower::Granularity::PerCondition;
  // Rules per module: compiled and cached one module at a time (0: all in one). Small modules
  // bound how long a cancelled background compile takes to stop.
  uint32_t chunkRules = 32;
  // compileRuleSet: return null unless every module is in the cache (compile nothing).
  bool cachedOnly = false;
  // JitEvaluator: unless the code of these options is cached, or the rule set's code is small
  // (codeSize below `tierFromSize`: -O2 takes a few milliseconds), start on a fast tier (-O0,
  // one function per rule: compiled in a fraction of the time) and build these options' code in
  // a background thread, switching to it when it is ready. By the size of the code, not the
  // number of rules: one rule with a long condition takes as long as many short ones.
  bool tiered = false;
  uint32_t tierFromSize = 1000;
};

// The size of a rule set's code, as the tiering decides on it: its expression nodes.
uint32_t codeSize(const Compilation& c);

// What one compile did (benchmarks, `trig compile`). Phases are CPU time of the compiling
// thread; `wallMs` is the elapsed time of the whole compile.
struct CompileStats {
  double lowerMs = 0;     // AST -> IR, verification and the cache key
  double optimizeMs = 0;  // IR pipeline (0 on a cache hit)
  double codegenMs = 0;   // IR -> object (0 on a cache hit)
  double linkMs = 0;      // JIT link and symbol lookup
  double wallMs = 0;
  bool cacheHit = false;
  std::string cacheKey;
  std::string cachePath;   // the object file, when the cache is on
  std::string cacheError;  // a problem with the cache (reported, never fatal)
  size_t functions = 0;    // native functions
  size_t entries = 0;      // conditions, filters and bindings compiled
  size_t chunks = 0;       // modules (see JitOptions::chunkRules)
};

// One rule set's native code. Destroying it unloads the code from the process.
class RuleSetCode {
 public:
  ~RuleSetCode();
  RuleSetCode(const RuleSetCode&) = delete;
  RuleSetCode& operator=(const RuleSetCode&) = delete;

  // The entry of that name (trig.rule.R.when.0) and the address of its function, or null.
  const lower::Entry* find(const std::string& name) const;
  void* address(const std::string& name) const;
  const std::vector<lower::Entry>& entries() const { return entries_; }
  void* entryAddress(size_t i) const { return addresses_[i]; }
  const std::vector<lower::Fallback>& fallbacks() const { return fallbacks_; }
  uint32_t scratchSlots() const { return scratchSlots_; }
  const CompileStats& stats() const { return stats_; }

 private:
  friend class RuleSetLoader;
  friend std::unique_ptr<RuleSetCode> compileRuleSet(const Compilation&, const JitOptions&,
                                                     const std::atomic<bool>*);
  RuleSetCode() = default;

  std::vector<lower::Entry> entries_;
  std::vector<lower::Fallback> fallbacks_;
  uint32_t scratchSlots_ = 0;
  std::vector<void*> addresses_;  // by entry
  CompileStats stats_;
  struct Handle;
  std::unique_ptr<Handle> handle_;  // JITDylib + ResourceTracker
};

// Compiles every rule of a checked program (or loads the code from the cache) and links it into
// the process JIT. The cache key hashes the program's sources with the identity of this trig
// build, LLVM, the target and the options, so a hit needs no lowering at all: the object carries
// a manifest of its entries. `c` must outlive the result. Throws JitError on an internal failure.
// A set `cancel` stops the compile between modules (and skips the remaining optimisation
// passes); the result is then null.
std::unique_ptr<RuleSetCode> compileRuleSet(const Compilation& c, const JitOptions& options,
                                            const std::atomic<bool>* cancel = nullptr);

// `trig compile --emit llvm|asm`: the module after the IR pipeline of options.optLevel, as
// textual IR or as the host's assembly.
std::string emitLLVM(const Compilation& c, const JitOptions& options);
std::string emitAssembly(const Compilation& c, const JitOptions& options);

// The host target as the JIT compiles for it ("x86_64-pc-linux-gnu", CPU name).
std::string hostTriple();

}  // namespace trig::jit
