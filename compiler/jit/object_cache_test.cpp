// The JIT's object cache trusts only what it wrote, for the key it wrote it under: damaged,
// foreign, oversized and linked entries are misses (and are replaced), the directory is private.
#include "compiler/jit/object_cache.h"

#include <doctest/doctest.h>
#include <llvm/Support/MemoryBuffer.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "compiler/jit/jit_test_support.h"

using namespace trig::jit;
using trig::jit::testing::TempDir;

namespace {

const std::string kKeyA = "0123456789abcdef";
const std::string kKeyB = "fedcba9876543210";

std::string objectBytes(char fill) {
  return std::string(4096, fill) + "an object";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string lookupText(DiskObjectCache& cache, const std::string& key) {
  auto buf = cache.lookup(key);
  return buf ? buf->getBuffer().str() : std::string("<miss>");
}

}  // namespace

TEST_CASE("object cache: what was stored comes back; the directory and its secret are private") {
  TempDir tmp;
  const std::string dir = (tmp.path / "nested" / "cache").string();
  DiskObjectCache cache(dir);
  CHECK(lookupText(cache, kKeyA) == "<miss>");  // no directory yet: a plain miss
  CHECK(cache.lastError.empty());
  cache.store(kKeyA, llvm::MemoryBufferRef(objectBytes('a'), "a"));
  REQUIRE(cache.lastError.empty());
  CHECK(lookupText(cache, kKeyA) == objectBytes('a'));
  CHECK(cache.hits == 1);
  struct stat st{};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat((dir + "/key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(cache.pathFor(kKeyA).c_str(), &st) == 0);
  CHECK((st.st_mode & 0077) == 0);
  // Another process (another cache object) reads it with the same secret.
  DiskObjectCache other(dir);
  CHECK(lookupText(other, kKeyA) == objectBytes('a'));
}

TEST_CASE("object cache: every damaged byte is a miss, and the entry is replaced") {
  TempDir tmp;
  DiskObjectCache cache(tmp.path.string());
  cache.store(kKeyA, llvm::MemoryBufferRef(objectBytes('a'), "a"));
  const std::string good = slurp(cache.pathFor(kKeyA));
  REQUIRE(good.size() > 4096);
  // Every byte of the header, and a sample of the object's.
  for (size_t i = 0; i < good.size(); i += (i < 64 ? 1 : 97)) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    spit(cache.pathFor(kKeyA), bad);
    DiskObjectCache fresh(tmp.path.string());
    INFO("byte " << i);
    CHECK(lookupText(fresh, kKeyA) == "<miss>");
    CHECK(fresh.lastError.find("damaged") != std::string::npos);
  }
  // Truncated, empty, and with bytes appended.
  for (const std::string& bad : {good.substr(0, good.size() - 1), std::string(), good + "x"}) {
    spit(cache.pathFor(kKeyA), bad);
    DiskObjectCache fresh(tmp.path.string());
    CHECK(lookupText(fresh, kKeyA) == "<miss>");
  }
  cache.store(kKeyA, llvm::MemoryBufferRef(objectBytes('a'), "a"));
  CHECK(lookupText(cache, kKeyA) == objectBytes('a'));
}

TEST_CASE("object cache: an entry stored under another key, or without the secret, is a miss") {
  TempDir tmp;
  DiskObjectCache cache(tmp.path.string());
  cache.store(kKeyA, llvm::MemoryBufferRef(objectBytes('a'), "a"));
  cache.store(kKeyB, llvm::MemoryBufferRef(objectBytes('b'), "b"));
  // Another rule set's object, renamed to this one's key.
  std::filesystem::copy_file(cache.pathFor(kKeyB), cache.pathFor(kKeyA),
                             std::filesystem::copy_options::overwrite_existing);
  CHECK(lookupText(cache, kKeyA) == "<miss>");
  CHECK(lookupText(cache, kKeyB) == objectBytes('b'));
  // A cache directory whose secret changed (another machine's entries, copied in): misses.
  const std::string entryB = slurp(cache.pathFor(kKeyB));
  TempDir other;
  DiskObjectCache second(other.path.string());
  second.store(kKeyA, llvm::MemoryBufferRef(objectBytes('x'), "x"));
  spit(second.pathFor(kKeyB), entryB);
  CHECK(lookupText(second, kKeyB) == "<miss>");
}

TEST_CASE("object cache: links, devices and oversized files are not read") {
  TempDir tmp;
  DiskObjectCache cache(tmp.path.string());
  cache.store(kKeyA, llvm::MemoryBufferRef(objectBytes('a'), "a"));
  cache.store(kKeyB, llvm::MemoryBufferRef(objectBytes('b'), "b"));
  // A symbolic link, even to a good entry, and one to an endless device.
  std::filesystem::remove(cache.pathFor(kKeyB));
  std::filesystem::create_symlink(cache.pathFor(kKeyA), cache.pathFor(kKeyB));
  CHECK(lookupText(cache, kKeyB) == "<miss>");
  std::filesystem::remove(cache.pathFor(kKeyB));
  std::filesystem::create_symlink("/dev/zero", cache.pathFor(kKeyB));
  CHECK(lookupText(cache, kKeyB) == "<miss>");
  CHECK(cache.lastError.find("ignoring") != std::string::npos);
  // A sparse file past the limit: refused by its size, before reading.
  std::filesystem::remove(cache.pathFor(kKeyB));
  spit(cache.pathFor(kKeyB), "TRIGOBJ1");
  std::filesystem::resize_file(cache.pathFor(kKeyB), DiskObjectCache::kMaxEntryBytes + 64);
  CHECK(lookupText(cache, kKeyB) == "<miss>");
}

TEST_CASE("object cache: a directory other users can write to is not used") {
  TempDir tmp;
  std::filesystem::permissions(tmp.path, std::filesystem::perms::all);
  DiskObjectCache cache(tmp.path.string());
  cache.store(kKeyA, llvm::MemoryBufferRef(objectBytes('a'), "a"));
  CHECK(cache.lastError.find("other users can write to it") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(cache.pathFor(kKeyA)));
  CHECK(lookupText(cache, kKeyA) == "<miss>");
  // A secret others could read is replaced: entries under the old one miss.
  std::filesystem::permissions(tmp.path, std::filesystem::perms::owner_all);
  DiskObjectCache ok(tmp.path.string());
  ok.store(kKeyA, llvm::MemoryBufferRef(objectBytes('a'), "a"));
  REQUIRE(ok.lastError.empty());
  std::filesystem::permissions(
      tmp.path / "key", std::filesystem::perms::owner_read | std::filesystem::perms::others_read);
  DiskObjectCache later(tmp.path.string());
  CHECK(lookupText(later, kKeyA) == "<miss>");
  later.store(kKeyB, llvm::MemoryBufferRef(objectBytes('b'), "b"));
  CHECK(lookupText(later, kKeyB) == objectBytes('b'));
  struct stat st{};
  REQUIRE(::stat((tmp.path / "key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0077) == 0);
}
