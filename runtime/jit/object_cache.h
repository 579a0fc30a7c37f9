#pragma once
// The on-disk cache of compiled rule sets: an llvm::ObjectCache (the interface ORC's compilers
// consult) that keeps one relocatable object per key in a directory, so an unchanged restart
// loads native code instead of compiling again. The key is the module identifier, which the JIT
// sets to a hash of (lowered module, trig's JIT version, LLVM version, target triple, CPU and
// features, options): any change to the rules, the lowering or the machine misses.
#include <llvm/ExecutionEngine/ObjectCache.h>

#include <cstdint>
#include <optional>
#include <string>

namespace trig::jit {

class DiskObjectCache : public llvm::ObjectCache {
 public:
  explicit DiskObjectCache(std::string dir) : dir_(std::move(dir)) {}

  // The directory: `explicitDir` if not empty, else $TRIG_CACHE_DIR (`off`: no cache), else
  // $XDG_CACHE_HOME/trig, else $HOME/.cache/trig; nullopt when there is none.
  static std::optional<std::string> defaultDirectory(const std::string& explicitDir);

  void notifyObjectCompiled(const llvm::Module* m, llvm::MemoryBufferRef obj) override;
  std::unique_ptr<llvm::MemoryBuffer> getObject(const llvm::Module* m) override;

  // By key rather than module (a hit needs no module at all).
  std::unique_ptr<llvm::MemoryBuffer> lookup(const std::string& key);
  void store(const std::string& key, llvm::MemoryBufferRef obj);

  const std::string& directory() const { return dir_; }
  std::string pathFor(const std::string& key) const;

  uint64_t hits = 0;
  uint64_t misses = 0;
  // The last problem writing or reading the cache (the cache is an optimisation: a problem
  // never fails a compile, but the caller can report it).
  std::string lastError;

 private:
  std::string dir_;
};

}  // namespace trig::jit
