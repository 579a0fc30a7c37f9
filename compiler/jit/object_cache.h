#pragma once
// The on-disk cache of compiled rule sets: an llvm::ObjectCache (the interface ORC's compilers
// consult) that keeps one relocatable object per key in a directory, so an unchanged restart
// loads native code instead of compiling again. The key is the module identifier, which the JIT
// sets to a hash of (lowered module, trig's JIT version, LLVM version, target triple, CPU and
// features, options): any change to the rules, the lowering or the machine misses.
//
// Native code from a file is trusted only when this cache wrote it, for this key:
// - every entry carries an HMAC-SHA256, under a secret kept in the directory (`key`, 0600), over
//   the cache key and the object; a damaged entry, one stored under another key (an object of
//   another rule set, renamed), or one written by anyone without the secret is a miss, and the
//   compile that follows replaces it;
// - entries are read without following symbolic links, only from regular files, and at most
//   kMaxEntryBytes;
// - the directory is created private (0700) and refused (no lookups, no stores: every compile
//   compiles) when it is writable by other users or owned by another user.
#include <llvm/ExecutionEngine/ObjectCache.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace trig::jit {

class DiskObjectCache : public llvm::ObjectCache {
 public:
  // The largest object the cache reads or writes (a rule set of thousands of rules is a few MiB).
  static constexpr uint64_t kMaxEntryBytes = uint64_t{256} << 20;

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
  using Secret = std::array<unsigned char, 32>;
  // The directory, checked (and created when `create`), and its secret; nullopt (with lastError
  // set) when the directory cannot be trusted or the secret cannot be had.
  std::optional<Secret> open(bool create);

  std::string dir_;
  std::optional<Secret> secret_;
};

}  // namespace trig::jit
