#pragma once
// The process JIT: one ORC LLJIT per process, one LLVM module per rule set (lowered by
// compiler/lower), compiled at -O2 by default, cached on disk as object code, and linked into its
// own JITDylib with a ResourceTracker so that a rule set can be unloaded or replaced while the
// process runs. The extern "C" helpers of runtime/abi are the only symbols the code can call.
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/lower/lower.h"
#include "compiler/sema/model.h"

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
  std::string cacheDir;   // empty: DiskObjectCache::defaultDirectory
};

// What one compile did (benchmarks, `trig compile`).
struct CompileStats {
  double lowerMs = 0;     // AST -> IR, verification and the cache key
  double optimizeMs = 0;  // IR pipeline (0 on a cache hit)
  double codegenMs = 0;   // IR -> object (0 on a cache hit)
  double linkMs = 0;      // JIT link and symbol lookup
  bool cacheHit = false;
  std::string cacheKey;
  std::string cachePath;   // the object file, when the cache is on
  std::string cacheError;  // a problem with the cache (reported, never fatal)
  size_t functions = 0;
};

// One rule set's native code. Destroying it unloads the code from the process.
class RuleSetCode {
 public:
  ~RuleSetCode();
  RuleSetCode(const RuleSetCode&) = delete;
  RuleSetCode& operator=(const RuleSetCode&) = delete;

  // The address of an entry's symbol, or null if it has none.
  void* address(const std::string& symbol) const;
  const std::vector<lower::Entry>& entries() const { return entries_; }
  const std::vector<lower::Fallback>& fallbacks() const { return fallbacks_; }
  uint32_t scratchSlots() const { return scratchSlots_; }
  const CompileStats& stats() const { return stats_; }

 private:
  friend std::unique_ptr<RuleSetCode> compileRuleSet(const ast::Program&, const sema::Model&, const JitOptions&);
  RuleSetCode() = default;

  std::vector<lower::Entry> entries_;
  std::vector<lower::Fallback> fallbacks_;
  uint32_t scratchSlots_ = 0;
  std::map<std::string, void*> addresses_;
  CompileStats stats_;
  struct Handle;
  std::unique_ptr<Handle> handle_;  // JITDylib + ResourceTracker
};

// Lowers, optimises and compiles (or loads from the cache) every rule of a checked program and
// links it into the process JIT. Throws JitError on an internal failure.
std::unique_ptr<RuleSetCode> compileRuleSet(const ast::Program& program, const sema::Model& model,
                                            const JitOptions& options);

// `trig compile --emit llvm|asm`: the module after the IR pipeline of options.optLevel, as
// textual IR or as the host's assembly.
std::string emitLLVM(const ast::Program& program, const sema::Model& model, const JitOptions& options);
std::string emitAssembly(const ast::Program& program, const sema::Model& model, const JitOptions& options);

// The host target as the JIT compiles for it ("x86_64-pc-linux-gnu", CPU name).
std::string hostTriple();

}  // namespace trig::jit
