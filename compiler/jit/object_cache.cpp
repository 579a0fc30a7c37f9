#include "compiler/jit/object_cache.h"

#include <fcntl.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace trig::jit {
namespace {

// An entry: the magic, the object's size (8 bytes, little-endian), the HMAC, then the object.
constexpr char kMagic[8] = {'T', 'R', 'I', 'G', 'O', 'B', 'J', '1'};
constexpr size_t kMacBytes = 32;
constexpr size_t kHeaderBytes = sizeof kMagic + 8 + kMacBytes;
using Mac = std::array<unsigned char, kMacBytes>;

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

// HMAC-SHA256 under `secret` of the cache key (with its terminating NUL, so that no key is a
// prefix of another's input) and the object: binds the object to the key it is stored under.
std::optional<Mac> entryMac(const std::array<unsigned char, 32>& secret, const std::string& key,
                            const char* object, size_t size) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  Mac out{};
  size_t len = 0;
  bool ok = ctx != nullptr && EVP_MAC_init(ctx, secret.data(), secret.size(), params) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(key.c_str()),
                           key.size() + 1) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(object), size) == 1 &&
            EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size();
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  if (!ok) return std::nullopt;
  return out;
}

// Reads exactly `size` bytes.
bool readAll(int fd, char* p, size_t size) {
  while (size > 0) {
    ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// A file of ours, opened without following a symbolic link: fd and its status, or -1 with errno
// (ENOENT when absent; ELOOP for a link; EINVAL for anything but a regular file).
int openRegular(const std::string& path, struct stat& st) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -1;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

// Writes `parts` to a new private file beside `path`, then renames it to `path` (readers never
// see half a file); "" or the problem.
std::string writePrivate(const std::string& dir, const std::string& path,
                         std::initializer_list<llvm::StringRef> parts) {
  llvm::SmallString<256> tmp;
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(path + "-%%%%%%%%.tmp", fd, tmp,
                                                           llvm::sys::fs::OF_None, 0600))
    return "cannot write to the JIT cache directory " + dir + ": " + ec.message();
  {
    llvm::raw_fd_ostream out(fd, /*shouldClose=*/true);
    for (llvm::StringRef p : parts) out << p;
    out.close();
    if (out.has_error()) {
      std::string why = "cannot write " + std::string(tmp) + ": " + out.error().message();
      out.clear_error();
      llvm::sys::fs::remove(tmp);
      return why;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return "cannot write " + path + ": " + ec.message();
  }
  return "";
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

std::string DiskObjectCache::pathFor(const std::string& key) const {
  return dir_ + "/" + key + ".o";
}

std::optional<DiskObjectCache::Secret> DiskObjectCache::open(bool create) {
  if (secret_) return secret_;
  if (create) {
    if (std::error_code ec =
            llvm::sys::fs::create_directories(dir_, true, llvm::sys::fs::owner_all)) {
      lastError = "cannot create the JIT cache directory " + dir_ + ": " + ec.message();
      return std::nullopt;
    }
  }
  struct stat st{};
  if (::stat(dir_.c_str(), &st) != 0) {
    if (errno != ENOENT)
      lastError = "cannot use the JIT cache directory " + dir_ + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISDIR(st.st_mode)) {
    lastError = "not using the JIT cache " + dir_ + ": it is not a directory";
    return std::nullopt;
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    lastError = "not using the JIT cache directory " + dir_ + ": " +
                (st.st_uid != ::geteuid() ? "it belongs to another user"
                                          : "other users can write to it (chmod 700 it)") +
                ", and code loaded from it runs in this process";
    return std::nullopt;
  }
  const std::string keyPath = dir_ + "/key";
  Secret s{};
  int fd = openRegular(keyPath, st);
  if (fd >= 0) {
    bool ok = st.st_size == static_cast<off_t>(s.size()) && st.st_uid == ::geteuid() &&
              (st.st_mode & (S_IRWXG | S_IRWXO)) == 0 &&
              readAll(fd, reinterpret_cast<char*>(s.data()), s.size());
    ::close(fd);
    if (ok) return secret_ = s;
  }
  // No secret yet, or one that is damaged or was readable by others: a new one (entries under the
  // old one then miss, and are replaced as they are compiled again).
  if (!create) return std::nullopt;
  if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1) {
    lastError = "cannot make a secret for the JIT cache: no random bytes";
    return std::nullopt;
  }
  std::string why = writePrivate(
      dir_, keyPath, {llvm::StringRef(reinterpret_cast<const char*>(s.data()), s.size())});
  if (!why.empty()) {
    lastError = why;
    return std::nullopt;
  }
  return secret_ = s;
}

void DiskObjectCache::notifyObjectCompiled(const llvm::Module* m, llvm::MemoryBufferRef obj) {
  store(m->getModuleIdentifier(), obj);
}

std::unique_ptr<llvm::MemoryBuffer> DiskObjectCache::getObject(const llvm::Module* m) {
  return lookup(m->getModuleIdentifier());
}

std::unique_ptr<llvm::MemoryBuffer> DiskObjectCache::lookup(const std::string& key) {
  ++misses;  // until it is a hit
  if (!validKey(key)) return nullptr;
  std::optional<Secret> secret = open(false);
  if (!secret) return nullptr;
  const std::string path = pathFor(key);
  struct stat st{};
  int fd = openRegular(path, st);
  if (fd < 0) {
    if (errno != ENOENT)
      lastError = "ignoring the JIT cache entry " + path + ": " +
                  (errno == EINVAL ? "not a regular file" : std::strerror(errno));
    return nullptr;
  }
  char header[kHeaderBytes];
  uint64_t size = 0;
  bool ok = static_cast<uint64_t>(st.st_size) >= kHeaderBytes &&
            static_cast<uint64_t>(st.st_size) - kHeaderBytes <= kMaxEntryBytes &&
            readAll(fd, header, kHeaderBytes) && std::memcmp(header, kMagic, sizeof kMagic) == 0;
  if (ok) {
    for (int i = 7; i >= 0; --i)
      size = size << 8 | static_cast<unsigned char>(header[sizeof kMagic + i]);
    ok = size == static_cast<uint64_t>(st.st_size) - kHeaderBytes;
  }
  std::unique_ptr<llvm::WritableMemoryBuffer> buf;
  if (ok) {
    buf = llvm::WritableMemoryBuffer::getNewUninitMemBuffer(size, path);
    ok = buf != nullptr && readAll(fd, buf->getBufferStart(), size);
  }
  ::close(fd);
  std::optional<Mac> mac;
  if (ok) mac = entryMac(*secret, key, buf->getBufferStart(), size);
  if (!ok || !mac || CRYPTO_memcmp(mac->data(), header + sizeof kMagic + 8, kMacBytes) != 0) {
    lastError = "ignoring the JIT cache entry " + path +
                ": damaged, too large, or not written by this cache for this rule set";
    return nullptr;
  }
  --misses;
  ++hits;
  return buf;
}

void DiskObjectCache::store(const std::string& key, llvm::MemoryBufferRef obj) {
  if (!validKey(key)) {
    lastError = "not storing code under the malformed cache key '" + key + "'";
    return;
  }
  if (obj.getBufferSize() > kMaxEntryBytes) {
    lastError = "not caching " + std::to_string(obj.getBufferSize()) +
                " bytes of code (the limit is " + std::to_string(kMaxEntryBytes) + ")";
    return;
  }
  std::optional<Secret> secret = open(true);
  if (!secret) return;
  std::optional<Mac> mac = entryMac(*secret, key, obj.getBufferStart(), obj.getBufferSize());
  if (!mac) {
    lastError = "cannot compute the check of a JIT cache entry (OpenSSL's HMAC failed)";
    return;
  }
  char size[8];
  for (int i = 0; i < 8; ++i)
    size[i] = static_cast<char>(static_cast<uint64_t>(obj.getBufferSize()) >> (8 * i));
  std::string why = writePrivate(
      dir_, pathFor(key),
      {llvm::StringRef(kMagic, sizeof kMagic), llvm::StringRef(size, sizeof size),
       llvm::StringRef(reinterpret_cast<const char*>(mac->data()), mac->size()), obj.getBuffer()});
  if (!why.empty()) lastError = why;
}

}  // namespace trig::jit
