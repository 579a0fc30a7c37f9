#include "runtime/jit/object_cache.h"

#include <llvm/IR/Module.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>

#include <cstdlib>

namespace trig::jit {
namespace {

// Keys are lowercase hex digests, with a `-N` module number; anything else never names a file.
bool validKey(const std::string& key) {
  if (key.empty() || key.size() > 128 || key.front() == '-') return false;
  for (char c : key)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
  return true;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

std::optional<std::string> DiskObjectCache::defaultDirectory(const std::string& explicitDir) {
  if (!explicitDir.empty()) return explicitDir;
  if (std::string d = env("TRIG_CACHE_DIR"); !d.empty()) {
    if (d == "off") return std::nullopt;
    return d;
  }
  if (std::string x = env("XDG_CACHE_HOME"); !x.empty()) return x + "/trig";
  if (std::string h = env("HOME"); !h.empty()) return h + "/.cache/trig";
  return std::nullopt;
}

std::string DiskObjectCache::pathFor(const std::string& key) const { return dir_ + "/" + key + ".o"; }

void DiskObjectCache::notifyObjectCompiled(const llvm::Module* m, llvm::MemoryBufferRef obj) {
  store(m->getModuleIdentifier(), obj);
}

std::unique_ptr<llvm::MemoryBuffer> DiskObjectCache::getObject(const llvm::Module* m) {
  return lookup(m->getModuleIdentifier());
}

std::unique_ptr<llvm::MemoryBuffer> DiskObjectCache::lookup(const std::string& key) {
  if (!validKey(key)) return nullptr;
  auto buf = llvm::MemoryBuffer::getFile(pathFor(key), /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf) {
    ++misses;
    return nullptr;
  }
  // A truncated or foreign file is a miss (and is overwritten by the next store), never a crash.
  auto obj = llvm::object::ObjectFile::createObjectFile((*buf)->getMemBufferRef());
  if (!obj) {
    lastError = "ignoring unreadable cache entry " + pathFor(key) + ": " + llvm::toString(obj.takeError());
    ++misses;
    return nullptr;
  }
  ++hits;
  return std::move(*buf);
}

void DiskObjectCache::store(const std::string& key, llvm::MemoryBufferRef obj) {
  if (!validKey(key)) {
    lastError = "not storing code under the malformed cache key '" + key + "'";
    return;
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(dir_)) {
    lastError = "cannot create the JIT cache directory " + dir_ + ": " + ec.message();
    return;
  }
  // Write a temporary file and rename it: readers never see a half-written object, and two
  // processes storing the same key both leave a complete one.
  llvm::SmallString<256> tmp;
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(dir_ + "/" + key + "-%%%%%%%%.tmp", fd, tmp)) {
    lastError = "cannot write to the JIT cache directory " + dir_ + ": " + ec.message();
    return;
  }
  {
    llvm::raw_fd_ostream out(fd, /*shouldClose=*/true);
    out.write(obj.getBufferStart(), obj.getBufferSize());
    out.close();
    if (out.has_error()) {
      lastError = "cannot write " + std::string(tmp) + ": " + out.error().message();
      out.clear_error();
      llvm::sys::fs::remove(tmp);
      return;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, pathFor(key))) {
    lastError = "cannot write " + pathFor(key) + ": " + ec.message();
    llvm::sys::fs::remove(tmp);
  }
}

}  // namespace trig::jit
