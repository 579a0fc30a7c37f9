// The durable store of `trig serve` (store.h): one RocksDB database in DIR/db with a column
// family per kind of record, guarded by an flock on DIR/lock, and the service's keys in DIR/keys.
//
// Values are a small binary format of our own, so that a later version can read what this one
// wrote: a version byte, then the fields as varints (LEB128; signed times zigzag-encoded) and
// length-prefixed strings. Decoding checks every length against what is left, and a value with
// bytes to spare is corrupt too. Keys of the numbered families (log, dead, decisions) are 8-byte
// big-endian numbers, so RocksDB's byte order is number order.
#include "runtime/serve/store.h"

#include <openssl/rand.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string_view>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace trig::serve {
namespace {

constexpr uint8_t kFormat = 1;  // the version byte every value starts with

// ---- Encoding ----

void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Zigzag: small negative times (before 1970) stay short too.
void putTime(std::string& out, TimeMs t) {
  const auto u = static_cast<uint64_t>(t);
  putVarint(out, (u << 1) ^ (t < 0 ? ~uint64_t{0} : 0));
}

void putString(std::string& out, std::string_view s) {
  putVarint(out, s.size());
  out.append(s);
}

// Reads what the put* functions wrote; every read fails (and sets `error`) rather than read past
// the end, and the first failure sticks.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool byte(uint8_t& b) {
    if (pos_ >= in_.size()) return fail("it ends early");
    b = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = 0;
      if (!byte(b)) return false;
      // The tenth byte holds bit 63 only: more would overflow.
      if (shift == 63 && b > 1) return fail("a number in it overflows");
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return true;
    }
    return fail("a number in it overflows");
  }
  bool time(TimeMs& t) {
    uint64_t u = 0;
    if (!varint(u)) return false;
    t = static_cast<TimeMs>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool string(std::string& s) {
    uint64_t n = 0;
    if (!varint(n)) return false;
    if (n > in_.size() - pos_) return fail("a string in it runs past its end");
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool version() {
    uint8_t v = 0;
    if (!byte(v)) return false;
    return v == kFormat || fail("its format version " + std::to_string(v) + " is unknown");
  }
  // True when every byte was read and nothing failed.
  bool finish() { return ok() && (pos_ == in_.size() || fail("it has bytes left over")); }
  bool ok() const { return error_.empty(); }
  bool fail(std::string what) {
    if (error_.empty()) error_ = std::move(what);
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  std::string error_;
};

std::string encode(const LogEntry& e) {
  std::string out(1, static_cast<char>(kFormat));
  out.push_back(static_cast<char>(e.kind));
  putTime(out, e.stamp);
  putString(out, e.data);
  return out;
}

bool decode(std::string_view in, LogEntry& e, std::string& why) {
  Reader r(in);
  uint8_t kind = 0;
  if (r.version() && r.byte(kind) && r.time(e.stamp) && r.string(e.data)) {
    if (kind == uint8_t(LogEntry::Kind::Event) || kind == uint8_t(LogEntry::Kind::Clock) ||
        kind == uint8_t(LogEntry::Kind::Rules))
      e.kind = LogEntry::Kind(kind);
    else
      r.fail("its kind " + std::to_string(kind) + " is unknown");
  }
  if (r.finish()) return true;
  why = r.error();
  return false;
}

std::string encode(const DeadLetter& d) {
  std::string out(1, static_cast<char>(kFormat));
  putTime(out, d.receivedAt);
  putString(out, d.reason);
  putString(out, d.data);
  return out;
}

bool decode(std::string_view in, DeadLetter& d, std::string& why) {
  Reader r(in);
  if (r.version() && r.time(d.receivedAt) && r.string(d.reason)) r.string(d.data);
  if (r.finish()) return true;
  why = r.error();
  return false;
}

// The message id is the key, not part of the value.
std::string encode(const OutboxEntry& e) {
  std::string out(1, static_cast<char>(kFormat));
  out.push_back(static_cast<char>(e.state));
  putVarint(out, e.attempts);
  putTime(out, e.nextAttempt);
  putString(out, e.payload);
  putString(out, e.lastError);
  return out;
}

bool decode(std::string_view in, OutboxEntry& e, std::string& why) {
  Reader r(in);
  uint8_t state = 0;
  uint64_t attempts = 0;
  if (r.version() && r.byte(state) && r.varint(attempts) && r.time(e.nextAttempt) &&
      r.string(e.payload) && r.string(e.lastError)) {
    if (state > uint8_t(OutboxEntry::State::Failed))
      r.fail("its state " + std::to_string(state) + " is unknown");
    else if (attempts > UINT32_MAX)
      r.fail("its attempt count overflows");
    e.state = OutboxEntry::State(state);
    e.attempts = static_cast<uint32_t>(attempts);
  }
  if (r.finish()) return true;
  why = r.error();
  return false;
}

// Decision records and meta values: one string.
std::string encodeText(std::string_view s) {
  std::string out(1, static_cast<char>(kFormat));
  putString(out, s);
  return out;
}

bool decodeText(std::string_view in, std::string& s, std::string& why) {
  Reader r(in);
  if (r.version()) r.string(s);
  if (r.finish()) return true;
  why = r.error();
  return false;
}

std::string numberKey(uint64_t n) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, n >>= 8) k[i] = static_cast<char>(n & 0xff);
  return k;
}

bool keyNumber(const rocksdb::Slice& k, uint64_t& n) {
  if (k.size() != 8) return false;
  n = 0;
  for (size_t i = 0; i < 8; ++i) n = (n << 8) | static_cast<uint8_t>(k[i]);
  return true;
}

std::string sysError(int err) {
  return std::strerror(err);
}

std::string_view view(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

// ---- The directory and its lock ----

// Creates `dir` with mode 0700 (its parents with the usual modes) unless it exists.
bool makeDir(const std::string& dir, std::string& error) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return true;
    error = dir + " is not a directory";
    return false;
  }
  std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "a/b/" names "a/b"
  std::error_code ignored;  // a parent that cannot be made shows in the mkdir below
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ignored);
  if (::mkdir(p.c_str(), 0700) == 0 || errno == EEXIST) return true;
  error = "cannot create " + dir + ": " + sysError(errno);
  return false;
}

// The pid the holder of the lock wrote into it; "" when there is none yet.
std::string lockHolder(int fd) {
  std::array<char, 32> buf{};
  const ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  std::string pid;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
  return pid;
}

// An exclusive flock on DIR/lock, held while the store is open, so that two services never
// share a log. An flock (unlike the fcntl lock RocksDB takes on db/LOCK) belongs to the open
// file, so a second open in the same process is refused too. The lock goes with the process,
// however it ends; the pid in the file only tells who holds it.
class DirLock {
 public:
  DirLock() = default;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool take(const std::string& dir, std::string& error) {
    const std::string path = dir + "/lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      error = "cannot open " + path + ": " + sysError(errno);
      return false;
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) {
        const std::string pid = lockHolder(fd_);
        error =
            dir + " is in use by another trig serve" + (pid.empty() ? "" : " (pid " + pid + ")");
      } else {
        error = "cannot lock " + path + ": " + sysError(err);
      }
      return false;
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 ||
        ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      error = "cannot write " + path + ": " + sysError(errno);
      return false;
    }
    return true;
  }

 private:
  int fd_ = -1;
};

// ---- The store ----

enum Family : size_t { kDefault, kLog, kDead, kOutbox, kDecisions, kMeta, kFamilies };
// RocksDB requires the default family; the store keeps nothing in it.
constexpr std::array<const char*, kFamilies> kFamilyNames = {"default", "log",       "dead",
                                                             "outbox",  "decisions", "meta"};

enum class Step { Next, Stop, Corrupt };
// What a scan does with one key and value: `why` says what is corrupt.
using Visit =
    std::function<Step(const rocksdb::Slice& key, const rocksdb::Slice& value, std::string& why)>;

class StoreImpl final : public Store {
 public:
  explicit StoreImpl(const std::string& dir) : dir_(dir), dbPath_(dir + "/db") {}
  StoreImpl(const StoreImpl&) = delete;
  StoreImpl& operator=(const StoreImpl&) = delete;
  ~StoreImpl() override;

  bool open(std::string& error);
  // No lock, no writes: `trig log` beside a running service.
  bool openReadOnly(std::string& error);

  bool append(std::vector<LogEntry>& entries, std::vector<DeadLetter>& dead,
              std::string& error) override;
  uint64_t lastSeq() const override { return lastSeq_.load(); }
  bool scanLog(uint64_t from, const std::function<bool(const LogEntry&)>& f,
               std::string& error) const override;
  bool scanDeadLetter(const std::function<bool(const DeadLetter&)>& f,
                      std::string& error) const override;

  bool putOutbox(const OutboxEntry& e, bool sync, std::string& error) override;
  std::optional<OutboxEntry> getOutbox(const std::string& messageId) const override;
  bool scanOutbox(const std::function<bool(const OutboxEntry&)>& f,
                  std::string& error) const override;

  bool putDecisions(const std::vector<std::pair<uint64_t, std::string>>& records,
                    std::string& error) override;
  bool scanDecisions(const std::function<bool(uint64_t, const std::string&)>& f,
                     std::string& error) const override;

  bool putMeta(const std::string& key, const std::string& value, std::string& error) override;
  std::optional<std::string> getMeta(const std::string& key) const override;

 private:
  rocksdb::ColumnFamilyHandle* cf(Family f) const { return families_[f]; }
  bool openDb(std::string& error, bool readOnly = false);
  bool lastNumber(Family f, const char* what, uint64_t& n, std::string& error) const;
  bool scan(Family f, std::string_view from, const char* what, const Visit& visit,
            std::string& error) const;
  std::optional<std::string> get(Family f, const std::string& key) const;
  bool write(const rocksdb::WriteOptions& wo, rocksdb::WriteBatch& batch, const char* what,
             std::string& error);

  std::string dir_, dbPath_;
  DirLock lock_;  // declared before db_: released only after the database is closed
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::mutex appendMutex_;  // seq assignment and the write that uses the seqs
  std::atomic<uint64_t> lastSeq_{0};
  uint64_t lastDead_ = 0;  // guarded by appendMutex_
  bool readOnly_ = false;
};

StoreImpl::~StoreImpl() {
  if (!db_) return;
  // A clean close leaves the write-ahead log empty: whoever opens the store next (a restart,
  // `trig report --data`, `trig log`) reads tables instead of replaying the WAL into memtables,
  // which took a quarter of a report's time (docs/performance.md, "Report"). Nothing is lost if
  // it fails: the WAL is still there. A read-only store has nothing to flush.
  if (!readOnly_) {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    db_->Flush(fo, families_);
  }
  for (auto* h : families_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();  // a close error leaves nothing to do: every append was synced
  db_.reset();
}

bool StoreImpl::open(std::string& error) {
  if (!makeDir(dir_, error) || !lock_.take(dir_, error) || !openDb(error)) return false;
  uint64_t seq = 0;
  if (!lastNumber(kLog, "the event log", seq, error) ||
      !lastNumber(kDead, "the dead letter", lastDead_, error))
    return false;
  lastSeq_.store(seq);
  return true;
}

bool StoreImpl::openReadOnly(std::string& error) {
  struct stat st{};
  if (::stat(dbPath_.c_str(), &st) != 0) {
    error = dir_ + " holds no trig serve data (no " + dbPath_ + ")";
    return false;
  }
  if (!openDb(error, true)) return false;
  uint64_t seq = 0;
  if (!lastNumber(kLog, "the event log", seq, error)) return false;
  lastSeq_.store(seq);
  return true;
}

bool StoreImpl::openDb(std::string& error, bool readOnly) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);  // a flush and a compaction can run beside each other
  options.keep_log_file_num = 10;  // RocksDB's own info logs (LOG.old.*), not the WAL
  // The WAL stays on (the default) and every append syncs it: that is what makes a 200 durable.
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kFamilyNames)
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  rocksdb::DB* db = nullptr;
  // Read-only: a view as of now, beside the writer (RocksDB takes no lock for it).
  const rocksdb::Status s =
      readOnly ? rocksdb::DB::OpenForReadOnly(options, dbPath_, descriptors, &families_, &db)
               : rocksdb::DB::Open(options, dbPath_, descriptors, &families_, &db);
  if (!s.ok()) {
    error = "cannot open the store in " + dbPath_ + ": " + s.ToString();
    return false;
  }
  db_.reset(db);
  readOnly_ = readOnly;
  return true;
}

// The number of the last key of `f` (0 when empty): where appends continue after a restart.
bool StoreImpl::lastNumber(Family f, const char* what, uint64_t& n, std::string& error) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(f)));
  it->SeekToLast();
  n = 0;
  if (it->Valid() && !keyNumber(it->key(), n)) {
    error = "cannot read " + std::string(what) + " in " + dbPath_ + ": its last key is not 8 bytes";
    return false;
  }
  if (it->status().ok()) return true;
  error = "cannot read " + std::string(what) + " in " + dbPath_ + ": " + it->status().ToString();
  return false;
}

bool StoreImpl::write(const rocksdb::WriteOptions& wo, rocksdb::WriteBatch& batch, const char* what,
                      std::string& error) {
  const rocksdb::Status s = db_->Write(wo, &batch);
  if (s.ok()) return true;
  error = "cannot write " + std::string(what) + " in " + dbPath_ + ": " + s.ToString();
  return false;
}

// One batch, so that a crash keeps all of it or none; synced, so that true means on disk. The
// counters move only once the write succeeded.
bool StoreImpl::append(std::vector<LogEntry>& entries, std::vector<DeadLetter>& dead,
                       std::string& error) {
  if (entries.empty() && dead.empty()) return true;
  std::lock_guard<std::mutex> guard(appendMutex_);
  const uint64_t seq = lastSeq_.load(), deadSeq = lastDead_;
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  for (size_t i = 0; i < entries.size() && s.ok(); ++i)
    s = batch.Put(cf(kLog), numberKey(seq + 1 + i), encode(entries[i]));
  for (size_t i = 0; i < dead.size() && s.ok(); ++i)
    s = batch.Put(cf(kDead), numberKey(deadSeq + 1 + i), encode(dead[i]));
  const char* what = entries.empty() ? "the dead letter" : "the event log";
  if (!s.ok()) {
    error = "cannot write " + std::string(what) + " in " + dbPath_ + ": " + s.ToString();
    return false;
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (!write(wo, batch, what, error)) return false;
  for (size_t i = 0; i < entries.size(); ++i) entries[i].seq = seq + 1 + i;
  for (size_t i = 0; i < dead.size(); ++i) dead[i].seq = deadSeq + 1 + i;
  lastDead_ = deadSeq + dead.size();
  lastSeq_.store(seq + entries.size());
  return true;
}

// Calls `visit` on the entries of `f` from key `from` on, in key order, until it stops; a
// corrupt entry or a read error ends the scan with `error`.
bool StoreImpl::scan(Family f, std::string_view from, const char* what, const Visit& visit,
                     std::string& error) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // scans read everything once (a replay): keep the cache for lookups
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(f)));
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    std::string why;
    switch (visit(it->key(), it->value(), why)) {
      case Step::Next: continue;
      case Step::Stop: return true;
      case Step::Corrupt:
        error = "cannot read " + std::string(what) + " in " + dbPath_ + ": " + why;
        return false;
    }
  }
  if (it->status().ok()) return true;
  error = "cannot read " + std::string(what) + " in " + dbPath_ + ": " + it->status().ToString();
  return false;
}

// "entry 17 is corrupt: it ends early"
std::string corruptEntry(uint64_t n, const std::string& why) {
  return "entry " + std::to_string(n) + " is corrupt: " + why;
}

bool StoreImpl::scanLog(uint64_t from, const std::function<bool(const LogEntry&)>& f,
                        std::string& error) const {
  LogEntry e;
  auto visit = [&](const rocksdb::Slice& k, const rocksdb::Slice& v, std::string& why) {
    if (!keyNumber(k, e.seq))
      why = "an entry's key is not 8 bytes";
    else if (!decode(view(v), e, why))
      why = corruptEntry(e.seq, why);
    else
      return f(e) ? Step::Next : Step::Stop;
    return Step::Corrupt;
  };
  return scan(kLog, numberKey(from), "the event log", visit, error);
}

bool StoreImpl::scanDeadLetter(const std::function<bool(const DeadLetter&)>& f,
                               std::string& error) const {
  DeadLetter d;
  auto visit = [&](const rocksdb::Slice& k, const rocksdb::Slice& v, std::string& why) {
    if (!keyNumber(k, d.seq))
      why = "an entry's key is not 8 bytes";
    else if (!decode(view(v), d, why))
      why = corruptEntry(d.seq, why);
    else
      return f(d) ? Step::Next : Step::Stop;
    return Step::Corrupt;
  };
  return scan(kDead, "", "the dead letter", visit, error);
}

bool StoreImpl::putOutbox(const OutboxEntry& e, bool sync, std::string& error) {
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.Put(cf(kOutbox), e.messageId, encode(e));
  if (!s.ok()) {
    error = "cannot write the outbox in " + dbPath_ + ": " + s.ToString();
    return false;
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return write(wo, batch, "the outbox", error);
}

std::optional<std::string> StoreImpl::get(Family f, const std::string& key) const {
  std::string value;
  if (!db_->Get(rocksdb::ReadOptions(), cf(f), key, &value).ok()) return std::nullopt;
  return value;
}

// A corrupt entry reads as absent: the interface has no error to report it with.
std::optional<OutboxEntry> StoreImpl::getOutbox(const std::string& messageId) const {
  auto value = get(kOutbox, messageId);
  OutboxEntry e;
  std::string why;
  if (!value || !decode(*value, e, why)) return std::nullopt;
  e.messageId = messageId;
  return e;
}

bool StoreImpl::scanOutbox(const std::function<bool(const OutboxEntry&)>& f,
                           std::string& error) const {
  OutboxEntry e;
  auto visit = [&](const rocksdb::Slice& k, const rocksdb::Slice& v, std::string& why) {
    e.messageId = k.ToString();
    if (decode(view(v), e, why)) return f(e) ? Step::Next : Step::Stop;
    why = "the entry of message " + e.messageId + " is corrupt: " + why;
    return Step::Corrupt;
  };
  return scan(kOutbox, "", "the outbox", visit, error);
}

// Not synced: the records are rebuilt by replaying the log.
bool StoreImpl::putDecisions(const std::vector<std::pair<uint64_t, std::string>>& records,
                             std::string& error) {
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  for (size_t i = 0; i < records.size() && s.ok(); ++i)
    s = batch.Put(cf(kDecisions), numberKey(records[i].first), encodeText(records[i].second));
  if (!s.ok()) {
    error = "cannot write the decision records in " + dbPath_ + ": " + s.ToString();
    return false;
  }
  return write(rocksdb::WriteOptions(), batch, "the decision records", error);
}

bool StoreImpl::scanDecisions(const std::function<bool(uint64_t, const std::string&)>& f,
                              std::string& error) const {
  uint64_t n = 0;
  std::string text;
  auto visit = [&](const rocksdb::Slice& k, const rocksdb::Slice& v, std::string& why) {
    if (!keyNumber(k, n))
      why = "a record's key is not 8 bytes";
    else if (!decodeText(view(v), text, why))
      why = "record " + std::to_string(n) + " is corrupt: " + why;
    else
      return f(n, text) ? Step::Next : Step::Stop;
    return Step::Corrupt;
  };
  return scan(kDecisions, "", "the decision records", visit, error);
}

bool StoreImpl::putMeta(const std::string& key, const std::string& value, std::string& error) {
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.Put(cf(kMeta), key, encodeText(value));
  if (!s.ok()) {
    error = "cannot write the meta value " + key + " in " + dbPath_ + ": " + s.ToString();
    return false;
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return write(wo, batch, "the meta values", error);
}

// A corrupt value reads as absent, as in getOutbox.
std::optional<std::string> StoreImpl::getMeta(const std::string& key) const {
  auto value = get(kMeta, key);
  std::string text, why;
  if (!value || !decodeText(*value, text, why)) return std::nullopt;
  return text;
}

// ---- Keys ----

// RFC 4648's URL-safe alphabet, without padding: 32 bytes give 43 characters.
std::string base64url(const unsigned char* p, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  for (size_t i = 0; i < n; i += 3) {
    const size_t take = std::min<size_t>(3, n - i);
    uint32_t v = uint32_t{p[i]} << 16;
    if (take > 1) v |= uint32_t{p[i + 1]} << 8;
    if (take > 2) v |= p[i + 2];
    for (size_t j = 0; j <= take; ++j) out.push_back(kAlphabet[(v >> (18 - 6 * j)) & 63]);
  }
  return out;
}

bool randomKey(std::string& key, std::string& error) {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    error = "cannot make a random key: OpenSSL's RAND_bytes failed";
    return false;
  }
  key = base64url(bytes.data(), bytes.size());
  return true;
}

struct KeySlot {
  const char* name;  // in the keys file
  const char* env;
  std::string Keys::* field;
};
constexpr std::array<KeySlot, 3> kKeySlots = {
    {{"write", "TRIG_WRITE_KEY", &Keys::write},
     {"admin", "TRIG_ADMIN_KEY", &Keys::admin},
     {"tracking", "TRIG_TRACKING_SECRET", &Keys::tracking}}};

bool writeAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// New random keys in `path`, atomically: a temporary file (0600) is written, synced and renamed
// over, so that a crash leaves either no keys file or a whole one.
bool createKeysFile(const std::string& dir, const std::string& path, std::string& error) {
  std::string text;
  for (const KeySlot& slot : kKeySlots) {
    std::string key;
    if (!randomKey(key, error)) return false;
    text += std::string(slot.name) + "=" + key + "\n";
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = "cannot create " + tmp + ": " + sysError(errno);
    return false;
  }
  // fchmod: a leftover temporary file of an earlier crash keeps its mode through O_TRUNC.
  bool ok = ::fchmod(fd, 0600) == 0 && writeAll(fd, text) && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) ok = false, err = errno;
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) ok = false, err = errno;
  if (!ok) {
    ::unlink(tmp.c_str());
    error = "cannot write " + path + ": " + sysError(err);
    return false;
  }
  // The new name is durable once the directory is synced too.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

// The mode check: the keys grant write and admin access, so no one else may read (or replace)
// them.
bool checkKeysMode(const std::string& path, const struct stat& st, std::string& error) {
  if (!S_ISREG(st.st_mode)) {
    error = path + " is not a regular file";
    return false;
  }
  const unsigned mode = st.st_mode & 07777;
  if ((mode & 077) == 0) return true;
  std::array<char, 8> octal{};
  std::snprintf(octal.data(), octal.size(), "%04o", mode);
  error = path + ((mode & 044) ? " is readable by others" : " is writable by others") + " (mode " +
          octal.data() + "): chmod 600 " + path;
  return false;
}

// Parses `name=value` lines into `file` (empty lines and # comments allowed). Errors name lines
// and keys, never a value.
bool parseKeys(const std::string& path, std::string_view text, Keys& file,
               std::array<bool, 3>& found, std::string& error) {
  size_t lineNo = 0;
  while (!text.empty()) {
    const size_t eol = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(std::min(eol + 1, text.size()));
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const size_t eq = line.find('=');
    const std::string at = path + " line " + std::to_string(lineNo);
    size_t i = 0;
    while (i < kKeySlots.size() &&
           (eq == std::string_view::npos || line.substr(0, eq) != kKeySlots[i].name))
      ++i;
    if (i == kKeySlots.size()) {
      error = at + " is not write=..., admin=... or tracking=...";
      return false;
    }
    if (found[i] || eq + 1 == line.size()) {
      error = at + (found[i] ? ": a second " : ": an empty ") + kKeySlots[i].name + " key";
      return false;
    }
    found[i] = true;
    file.*kKeySlots[i].field = std::string(line.substr(eq + 1));
  }
  return true;
}

bool readAll(int fd, const std::string& path, std::string& text, std::string& error) {
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n == 0) return true;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read " + path + ": " + sysError(errno);
      return false;
    }
    if (text.size() > (1u << 16)) {
      error = path + " is too big for a keys file";
      return false;
    }
    text.append(buf.data(), static_cast<size_t>(n));
  }
}

// The text of DIR/keys, once its mode is checked; the file is created first when absent.
bool readKeysText(const std::string& dir, const std::string& path, std::string& text,
                  std::string& error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (!createKeysFile(dir, path, error)) return false;
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // read back what is on disk
  }
  if (fd < 0) {
    error = "cannot open " + path + ": " + sysError(errno);
    return false;
  }
  struct stat st{};
  bool ok = true;
  if (::fstat(fd, &st) != 0) {
    error = "cannot read " + path + ": " + sysError(errno);
    ok = false;
  }
  ok = ok && checkKeysMode(path, st, error) && readAll(fd, path, text, error);
  ::close(fd);
  return ok;
}

// Reads DIR/keys into the keys not `given` by the environment.
bool readKeysFile(const std::string& dir, Keys& keys, const std::array<bool, 3>& given,
                  std::string& error) {
  const std::string path = dir + "/keys";
  std::string text;
  if (!readKeysText(dir, path, text, error)) return false;
  Keys file;
  std::array<bool, 3> found{};
  if (!parseKeys(path, text, file, found, error)) return false;
  for (size_t i = 0; i < kKeySlots.size(); ++i) {
    if (given[i]) continue;
    if (!found[i]) {
      error = path + " has no " + kKeySlots[i].name + " key (a line " + kKeySlots[i].name + "=...)";
      return false;
    }
    keys.*kKeySlots[i].field = file.*kKeySlots[i].field;
  }
  return true;
}

}  // namespace

std::unique_ptr<Store> Store::open(const std::string& dir, std::string& error) {
  auto store = std::make_unique<StoreImpl>(dir);
  if (!store->open(error)) return nullptr;
  return store;
}

std::unique_ptr<Store> Store::openReadOnly(const std::string& dir, std::string& error) {
  auto store = std::make_unique<StoreImpl>(dir);
  if (!store->openReadOnly(error)) return nullptr;
  return store;
}

bool loadKeys(const std::string& dir, Keys& out, std::string& error) {
  Keys keys;
  std::array<bool, 3> given{};
  for (size_t i = 0; i < kKeySlots.size(); ++i) {
    const char* v = std::getenv(kKeySlots[i].env);
    if (v == nullptr) continue;
    if (*v == '\0') {
      error = std::string(kKeySlots[i].env) + " is set but empty";
      return false;
    }
    keys.*kKeySlots[i].field = v;
    given[i] = true;
  }
  const bool all = given[0] && given[1] && given[2];
  if (!all && !(makeDir(dir, error) && readKeysFile(dir, keys, given, error))) return false;
  out = std::move(keys);
  return true;
}

}  // namespace trig::serve
