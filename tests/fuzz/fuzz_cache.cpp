// Fuzz target: the JIT object cache's loader on an entry of arbitrary bytes. The bytes are
// written as the entry of a key in a private cache directory: a lookup must be a miss (nothing
// but the cache itself, with its secret, can make an entry it trusts), never a crash, and must
// leave the cache usable (an entry stored afterwards comes back).
#include <llvm/Support/MemoryBuffer.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "compiler/jit/object_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    const char* t = std::getenv("TMPDIR");
    std::string d = std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/trig-fuzz-cache-" +
                    std::to_string(::getpid());
    std::filesystem::remove_all(d);
    return d;
  }();
  const std::string key = "0123456789abcdef";
  trig::jit::DiskObjectCache cache(dir);
  static const bool made = [&] {  // the directory and its secret
    cache.store("00", llvm::MemoryBufferRef("x", "x"));
    return cache.lastError.empty();
  }();
  if (!made) std::abort();
  {
    std::ofstream out(cache.pathFor(key), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  if (cache.lookup(key) != nullptr) {
    std::fprintf(stderr, "fuzz: the cache trusted an entry it did not write\n");
    std::abort();
  }
  std::string object(reinterpret_cast<const char*>(data), size);
  cache.store(key, llvm::MemoryBufferRef(object, "object"));
  auto back = cache.lookup(key);
  if (back == nullptr || back->getBuffer() != object) {
    std::fprintf(stderr, "fuzz: an entry the cache stored did not come back: %s\n",
                 cache.lastError.c_str());
    std::abort();
  }
  return 0;
}
