// The store of `trig serve`: what it writes reads back exactly (NUL bytes and invalid UTF-8 too),
// seq numbers continue across a reopen, a second open of a directory is refused, the keys file
// is made and checked as docs say, a corrupt value is an error rather than a crash, and an
// append that returned true survives a kill -9 of the process that made it.
#include "runtime/serve/store.h"

#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace trig::serve {
namespace {

namespace fs = std::filesystem;

// A fresh directory, removed with everything in it at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/trig-store-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// Sets (or, with nullptr, unsets) an environment variable for the scope.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> saved;
  ScopedEnv(const char* n, const char* value) : name(n) {
    if (const char* old = std::getenv(n)) saved = old;
    if (value != nullptr)
      ::setenv(n, value, 1);
    else
      ::unsetenv(n);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    if (saved)
      ::setenv(name.c_str(), saved->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

std::unique_ptr<Store> openStore(const std::string& dir) {
  std::string error;
  auto store = Store::open(dir, error);
  INFO(error);
  REQUIRE(store);
  CHECK(error.empty());
  return store;
}

LogEntry entry(LogEntry::Kind kind, TimeMs stamp, std::string data) {
  LogEntry e;
  e.kind = kind;
  e.stamp = stamp;
  e.data = std::move(data);
  return e;
}

std::string threadData(int t, int i, int j) {
  return "t" + std::to_string(t) + "-" + std::to_string(i) + "-" + std::to_string(j);
}

bool same(const LogEntry& a, const LogEntry& b) {
  return a.seq == b.seq && a.kind == b.kind && a.stamp == b.stamp && a.data == b.data;
}

std::vector<LogEntry> readLog(const Store& store, uint64_t from) {
  std::vector<LogEntry> out;
  std::string error;
  const bool ok = store.scanLog(
      from,
      [&](const LogEntry& e) {
        out.push_back(e);
        return true;
      },
      error);
  INFO(error);
  REQUIRE(ok);
  return out;
}

// Entries that catch a lossy encoding: NUL bytes, invalid UTF-8, negative and extreme stamps,
// an empty and a long value.
std::vector<LogEntry> sampleEntries() {
  using K = LogEntry::Kind;
  return {entry(K::Event, 1767261600000, R"({"type":"track","event":"cart_add"})"),
          entry(K::Clock, 1767261660000, ""),
          entry(K::Event, -62167219200000, std::string("a\0b\xff\xfe\xc3(", 7)),
          entry(K::Clock, kMaxTime, ""),
          entry(K::Event, 0, std::string(70000, 'x') + std::string(1, '\0')),
          entry(K::Event, -1, "")};
}

TEST_CASE("store: log entries read back exactly, and seqs continue after a reopen") {
  TempDir tmp;
  std::vector<LogEntry> expected = sampleEntries();
  {
    auto store = openStore(tmp.path);
    CHECK(store->lastSeq() == 0);
    CHECK(readLog(*store, 0).empty());
    std::vector<LogEntry> entries = expected;
    std::vector<DeadLetter> dead;
    std::string error;
    REQUIRE(store->append(entries, dead, error));
    for (size_t i = 0; i < entries.size(); ++i) CHECK(entries[i].seq == i + 1);
    for (size_t i = 0; i < expected.size(); ++i) expected[i].seq = i + 1;
    CHECK(store->lastSeq() == 6);
    std::vector<LogEntry> empty;
    REQUIRE(store->append(empty, dead, error));  // nothing to write: nothing changes
    CHECK(store->lastSeq() == 6);

    auto all = readLog(*store, 1);
    REQUIRE(all.size() == 6);
    for (size_t i = 0; i < all.size(); ++i) CHECK(same(all[i], expected[i]));
    auto tail = readLog(*store, 5);
    REQUIRE(tail.size() == 2);
    CHECK(same(tail[0], expected[4]));
    CHECK(readLog(*store, 7).empty());

    int calls = 0;  // returning false stops the scan
    REQUIRE(store->scanLog(2, [&](const LogEntry&) { return ++calls < 2; }, error));
    CHECK(calls == 2);
  }
  auto store = openStore(tmp.path);
  CHECK(store->lastSeq() == 6);
  std::vector<LogEntry> more = {entry(LogEntry::Kind::Event, 42, "{}"),
                                entry(LogEntry::Kind::Clock, 43, "")};
  std::vector<DeadLetter> dead;
  std::string error;
  REQUIRE(store->append(more, dead, error));
  CHECK(more[0].seq == 7);
  CHECK(more[1].seq == 8);
  CHECK(store->lastSeq() == 8);
  auto all = readLog(*store, 0);
  REQUIRE(all.size() == 8);
  for (size_t i = 0; i < 6; ++i) CHECK(same(all[i], expected[i]));
  CHECK(same(all[6], more[0]));
  CHECK(same(all[7], more[1]));
}

TEST_CASE("store: appends from several threads get distinct seqs, each batch in a row") {
  TempDir tmp;
  auto store = openStore(tmp.path);
  constexpr int kThreads = 4, kAppends = 25, kBatch = 3;
  std::vector<std::map<uint64_t, std::string>> wrote(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppends; ++i) {
        std::vector<LogEntry> entries;
        for (int j = 0; j < kBatch; ++j)
          entries.push_back(entry(LogEntry::Kind::Event, t, threadData(t, i, j)));
        std::vector<DeadLetter> dead;
        std::string error;
        if (!store->append(entries, dead, error)) ++failures[t];
        for (int j = 0; j < kBatch; ++j) {
          wrote[t][entries[j].seq] = entries[j].data;
          if (entries[j].seq != entries[0].seq + j) ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == std::vector<int>(kThreads, 0));
  CHECK(store->lastSeq() == kThreads * kAppends * kBatch);
  std::map<uint64_t, std::string> all;
  for (const auto& w : wrote) all.insert(w.begin(), w.end());
  REQUIRE(all.size() == kThreads * kAppends * kBatch);  // no seq given twice
  auto log = readLog(*store, 1);
  REQUIRE(log.size() == all.size());
  size_t wrong = 0;
  for (const auto& e : log) wrong += all[e.seq] == e.data ? 0 : 1;
  CHECK(wrong == 0);
}

DeadLetter deadLetter(TimeMs at, std::string reason, std::string data) {
  DeadLetter d;
  d.receivedAt = at;
  d.reason = std::move(reason);
  d.data = std::move(data);
  return d;
}

std::vector<DeadLetter> readDead(const Store& store) {
  std::vector<DeadLetter> out;
  std::string error;
  const bool ok = store.scanDeadLetter(
      [&](const DeadLetter& d) {
        out.push_back(d);
        return true;
      },
      error);
  INFO(error);
  REQUIRE(ok);
  return out;
}

TEST_CASE("store: dead letters have their own seqs and read back exactly") {
  TempDir tmp;
  {
    auto store = openStore(tmp.path);
    std::vector<LogEntry> entries = {entry(LogEntry::Kind::Event, 5, "{}"),
                                     entry(LogEntry::Kind::Event, 6, "{}")};
    std::vector<DeadLetter> dead = {
        deadLetter(100, "property 'price' of event 'cart_add' must be money, got string",
                   R"({"price":"x"})"),
        deadLetter(101, "not JSON", std::string("{\0\xff", 3))};
    std::string error;
    REQUIRE(store->append(entries, dead, error));
    CHECK(entries[1].seq == 2);
    CHECK(dead[0].seq == 1);
    CHECK(dead[1].seq == 2);
    std::vector<LogEntry> none;
    std::vector<DeadLetter> third = {deadLetter(-7, "", "")};
    REQUIRE(store->append(none, third, error));
    CHECK(third[0].seq == 3);
    CHECK(store->lastSeq() == 2);  // a dead letter takes no log seq
  }
  auto store = openStore(tmp.path);
  std::vector<LogEntry> none;
  std::vector<DeadLetter> fourth = {deadLetter(200, "late", "[]")};
  std::string error;
  REQUIRE(store->append(none, fourth, error));
  CHECK(fourth[0].seq == 4);
  auto all = readDead(*store);
  REQUIRE(all.size() == 4);
  CHECK(all[0].seq == 1);
  CHECK(all[0].receivedAt == 100);
  CHECK(all[0].reason == "property 'price' of event 'cart_add' must be money, got string");
  CHECK(all[0].data == R"({"price":"x"})");
  CHECK(all[1].data == std::string("{\0\xff", 3));
  CHECK(all[2].seq == 3);
  CHECK(all[2].receivedAt == -7);
  CHECK(all[2].reason.empty());
  CHECK(all[3].seq == 4);
  CHECK(all[3].reason == "late");
}

OutboxEntry outbox(std::string id, OutboxEntry::State state, uint32_t attempts, TimeMs next,
                   std::string payload, std::string lastError) {
  OutboxEntry e;
  e.messageId = std::move(id);
  e.state = state;
  e.attempts = attempts;
  e.nextAttempt = next;
  e.payload = std::move(payload);
  e.lastError = std::move(lastError);
  return e;
}

bool same(const OutboxEntry& a, const OutboxEntry& b) {
  return a.messageId == b.messageId && a.state == b.state && a.attempts == b.attempts &&
         a.nextAttempt == b.nextAttempt && a.payload == b.payload && a.lastError == b.lastError;
}

TEST_CASE("store: the outbox puts, gets, replaces and scans by message id") {
  TempDir tmp;
  const auto a = outbox("m-a", OutboxEntry::State::Pending, 0, 1000, R"({"to":"a@x"})", "");
  const auto b =
      outbox("m-b", OutboxEntry::State::Failed, UINT32_MAX, INT64_MIN, "", std::string("5\0x", 3));
  const auto a2 =
      outbox("m-a", OutboxEntry::State::Done, 3, INT64_MAX, R"({"to":"a@x"})", "timeout");
  {
    auto store = openStore(tmp.path);
    std::string error;
    CHECK_FALSE(store->getOutbox("m-a"));
    REQUIRE(store->putOutbox(a, true, error));
    REQUIRE(store->putOutbox(b, false, error));
    auto got = store->getOutbox("m-a");
    REQUIRE(got);
    CHECK(same(*got, a));
    REQUIRE(store->putOutbox(a2, true, error));  // replaces
    got = store->getOutbox("m-a");
    REQUIRE(got);
    CHECK(same(*got, a2));
  }
  auto store = openStore(tmp.path);
  auto got = store->getOutbox("m-b");
  REQUIRE(got);
  CHECK(same(*got, b));
  std::vector<OutboxEntry> all;
  std::string error;
  REQUIRE(store->scanOutbox(
      [&](const OutboxEntry& e) {
        all.push_back(e);
        return true;
      },
      error));
  REQUIRE(all.size() == 2);  // any order
  const bool aFirst = all[0].messageId == "m-a";
  CHECK(same(all[aFirst ? 0 : 1], a2));
  CHECK(same(all[aFirst ? 1 : 0], b));
}

TEST_CASE("store: decision records scan in number order, and a put again replaces") {
  TempDir tmp;
  auto store = openStore(tmp.path);
  std::string error;
  // 256 after 2 (not so as text), 2^40 after both.
  REQUIRE(store->putDecisions({{256, "r256"}, {2, "r2"}, {uint64_t{1} << 40, "big"}}, error));
  REQUIRE(store->putDecisions({{1, "r1"}, {2, "r2 again"}}, error));
  REQUIRE(store->putDecisions({}, error));
  std::vector<std::pair<uint64_t, std::string>> all;
  REQUIRE(store->scanDecisions(
      [&](uint64_t n, const std::string& text) {
        all.emplace_back(n, text);
        return true;
      },
      error));
  const std::vector<std::pair<uint64_t, std::string>> expected = {
      {1, "r1"}, {2, "r2 again"}, {256, "r256"}, {uint64_t{1} << 40, "big"}};
  CHECK(all == expected);
}

TEST_CASE("store: meta values read back, also after a reopen") {
  TempDir tmp;
  {
    auto store = openStore(tmp.path);
    std::string error;
    CHECK_FALSE(store->getMeta("clock"));
    REQUIRE(store->putMeta("clock", "1767261600000", error));
    REQUIRE(store->putMeta("empty", "", error));
    REQUIRE(store->putMeta("clock", "1767261600001", error));
  }
  auto store = openStore(tmp.path);
  CHECK(store->getMeta("clock") == std::optional<std::string>("1767261600001"));
  CHECK(store->getMeta("empty") == std::optional<std::string>(""));
  CHECK_FALSE(store->getMeta("other"));
}

std::string fileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned fileMode(const std::string& path) {
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

TEST_CASE("store: a directory open in one store cannot be opened again until it is closed") {
  TempDir tmp;
  const std::string dir = tmp.path + "/a/state";  // made, with its parent
  auto first = openStore(dir);
  CHECK(fileMode(dir) == 0700);
  const std::string me = std::to_string(::getpid());
  CHECK(fileText(dir + "/lock") == me + "\n");

  std::string error;
  CHECK_FALSE(Store::open(dir, error));
  CHECK(error == dir + " is in use by another trig serve (pid " + me + ")");

  // Another process is refused the same way.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::string childError;
    const bool opened = Store::open(dir, childError) != nullptr;
    const std::string report = (opened ? "opened" : childError);
    const bool written = ::write(fds[1], report.data(), report.size()) == ssize_t(report.size());
    ::_exit(written ? 0 : 1);
  }
  ::close(fds[1]);
  std::string report(4096, '\0');
  const ssize_t n = ::read(fds[0], report.data(), report.size());
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(n > 0);
  report.resize(static_cast<size_t>(n));
  CHECK(report == dir + " is in use by another trig serve (pid " + me + ")");

  first.reset();  // closing releases it
  auto second = openStore(dir);
  CHECK(second->lastSeq() == 0);
}

TEST_CASE("store: open fails on a path that is a file") {
  TempDir tmp;
  const std::string file = tmp.path + "/file";
  std::ofstream(file) << "x";
  std::string error;
  CHECK_FALSE(Store::open(file, error));
  CHECK(error == file + " is not a directory");
}

struct NoKeyEnv {
  ScopedEnv write{"TRIG_WRITE_KEY", nullptr}, admin{"TRIG_ADMIN_KEY", nullptr},
      tracking{"TRIG_TRACKING_SECRET", nullptr};
};

bool isBase64url(const std::string& s) {
  return s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
         std::string::npos;
}

TEST_CASE("store: loadKeys makes a private keys file of random keys, then reads it back") {
  NoKeyEnv env;
  TempDir tmp;
  Keys keys;
  std::string error;
  REQUIRE(loadKeys(tmp.path, keys, error));
  const std::string path = tmp.path + "/keys";
  CHECK(fileMode(path) == 0600);
  for (const std::string* k : {&keys.write, &keys.admin, &keys.tracking}) {
    CHECK(k->size() == 43);  // 32 bytes, base64url without padding
    CHECK(isBase64url(*k));
  }
  CHECK(keys.write != keys.admin);
  CHECK(keys.admin != keys.tracking);
  CHECK(keys.write != keys.tracking);
  CHECK(fileText(path) ==
        "write=" + keys.write + "\nadmin=" + keys.admin + "\ntracking=" + keys.tracking + "\n");
  for (const auto& e : fs::directory_iterator(tmp.path))  // no temporary file left behind
    CHECK(e.path().filename() == "keys");

  Keys again;
  REQUIRE(loadKeys(tmp.path, again, error));
  CHECK(again.write == keys.write);
  CHECK(again.admin == keys.admin);
  CHECK(again.tracking == keys.tracking);

  // Another directory, other keys.
  TempDir other;
  Keys third;
  REQUIRE(loadKeys(other.path, third, error));
  CHECK(third.write != keys.write);
}

TEST_CASE("store: loadKeys takes each key from the environment when it is set") {
  NoKeyEnv env;
  TempDir tmp;
  Keys fromFile, keys;
  std::string error;
  REQUIRE(loadKeys(tmp.path, fromFile, error));
  {
    ScopedEnv admin("TRIG_ADMIN_KEY", "admin-from-env");
    REQUIRE(loadKeys(tmp.path, keys, error));
    CHECK(keys.write == fromFile.write);
    CHECK(keys.admin == "admin-from-env");
    CHECK(keys.tracking == fromFile.tracking);
  }
  {
    // All three given: the keys file is not needed, so not made.
    ScopedEnv w("TRIG_WRITE_KEY", "w"), a("TRIG_ADMIN_KEY", "a"), t("TRIG_TRACKING_SECRET", "t");
    const std::string nowhere = tmp.path + "/none";
    REQUIRE(loadKeys(nowhere, keys, error));
    CHECK(keys.write == "w");
    CHECK(keys.admin == "a");
    CHECK(keys.tracking == "t");
    CHECK_FALSE(fs::exists(nowhere));
  }
  ScopedEnv empty("TRIG_WRITE_KEY", "");
  CHECK_FALSE(loadKeys(tmp.path, keys, error));
  CHECK(error == "TRIG_WRITE_KEY is set but empty");
}

TEST_CASE("store: loadKeys refuses a keys file others can read, or one without a key") {
  NoKeyEnv env;
  TempDir tmp;
  const std::string path = tmp.path + "/keys";
  {
    std::ofstream out(path);
    out << "write=SECRETW\nadmin=SECRETA\n";
  }
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  Keys keys;
  std::string error;
  CHECK_FALSE(loadKeys(tmp.path, keys, error));
  CHECK(error == path + " is readable by others (mode 0644): chmod 600 " + path);
  REQUIRE(::chmod(path.c_str(), 0620) == 0);
  CHECK_FALSE(loadKeys(tmp.path, keys, error));
  CHECK(error == path + " is writable by others (mode 0620): chmod 600 " + path);

  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  CHECK_FALSE(loadKeys(tmp.path, keys, error));
  CHECK(error == path + " has no tracking key (a line tracking=...)");
  {
    ScopedEnv tracking("TRIG_TRACKING_SECRET", "t");  // what the file lacks, the env gives
    REQUIRE(loadKeys(tmp.path, keys, error));
    CHECK(keys.write == "SECRETW");
    CHECK(keys.admin == "SECRETA");
    CHECK(keys.tracking == "t");
  }
  std::ofstream(path) << "write=SECRETW\nadmin=SECRETA\ntracking=\n";
  CHECK_FALSE(loadKeys(tmp.path, keys, error));
  CHECK(error == path + " line 3: an empty tracking key");
  std::ofstream(path) << "# keys\n\nwrite=SECRETW\nadmin=SECRETA\nwrite=SECRETX\n";
  CHECK_FALSE(loadKeys(tmp.path, keys, error));
  CHECK(error == path + " line 5: a second write key");
  std::ofstream(path) << "write=SECRETW\nSECRETA\n";
  CHECK_FALSE(loadKeys(tmp.path, keys, error));
  CHECK(error == path + " line 2 is not write=..., admin=... or tracking=...");
  CHECK(error.find("SECRET") == std::string::npos);  // the path has none: nor does the error
}

// The families of DIR/db, opened with RocksDB itself to write what the store never would.
struct RawDb {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;  // default, log, dead, outbox, decisions, meta
  explicit RawDb(const std::string& dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> d;
    for (const char* n : {"default", "log", "dead", "outbox", "decisions", "meta"})
      d.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    const auto s = rocksdb::DB::Open(rocksdb::DBOptions(), dir + "/db", d, &cfs, &raw);
    INFO(s.ToString());
    REQUIRE(s.ok());
    db.reset(raw);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() {
    for (auto* h : cfs) db->DestroyColumnFamilyHandle(h);
  }
  void put(size_t cf, const std::string& key, const std::string& value) {
    REQUIRE(db->Put(rocksdb::WriteOptions(), cfs[cf], key, value).ok());
  }
  std::string get(size_t cf, const std::string& key) {
    std::string v;
    REQUIRE(db->Get(rocksdb::ReadOptions(), cfs[cf], key, &v).ok());
    return v;
  }
  void remove(size_t cf, const std::string& key) {
    REQUIRE(db->Delete(rocksdb::WriteOptions(), cfs[cf], key).ok());
  }
};

std::string key8(uint64_t n) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, n >>= 8) k[i] = static_cast<char>(n & 0xff);
  return k;
}

// scanLog from `seq`: its error, "" when it succeeded.
std::string logError(const Store& store, uint64_t seq, int* visited = nullptr) {
  std::string error;
  int n = 0;
  const bool ok = store.scanLog(
      seq,
      [&](const LogEntry&) {
        ++n;
        return true;
      },
      error);
  if (visited != nullptr) *visited = n;
  CHECK(ok == error.empty());
  return error;
}

TEST_CASE("store: a corrupt value is an error naming the entry, never a crash") {
  TempDir tmp;
  const std::string db = tmp.path + "/db";
  {
    auto store = openStore(tmp.path);
    std::vector<LogEntry> entries = {entry(LogEntry::Kind::Event, -3, "{\"a\":1}")};
    std::vector<DeadLetter> dead = {deadLetter(1, "why", "data")};
    std::string error;
    REQUIRE(store->append(entries, dead, error));
    REQUIRE(store->putOutbox(outbox("m", OutboxEntry::State::Done, 1, 2, "p", "e"), true, error));
    REQUIRE(store->putMeta("k", "v", error));
  }
  std::string good;
  {
    RawDb raw(tmp.path);
    good = raw.get(1, key8(1));
    // Every truncation of a good value, at seqs 100 + its length.
    for (size_t n = 0; n < good.size(); ++n) raw.put(1, key8(100 + n), good.substr(0, n));
    raw.put(1, key8(200), good + "x");                                          // a byte too many
    raw.put(1, key8(201), "\x02" + good.substr(1));                             // a later version
    raw.put(1, key8(202), std::string("\x01\x07\x00\x00", 4));                  // no such kind
    raw.put(1, key8(203), "\x01\x01" + std::string(11, '\xff'));                // a varint too long
    raw.put(1, key8(204), std::string("\x01\x01\x00\xff\xff\xff\xff\x0f", 8));  // 4 GiB string
    raw.put(3, "m", "\x01\x05");                                                // no such state
    raw.put(5, "k", "");
    raw.put(2, key8(1), "\x01");
    raw.put(4, key8(9),
            "\x01\x05"
            "ab");  // a string of 5 with 2 bytes
  }
  auto store = openStore(tmp.path);
  CHECK(store->lastSeq() == 204);  // the last key, corrupt or not
  int visited = 0;
  CHECK(logError(*store, 0, &visited) ==
        "cannot read the event log in " + db + ": entry 100 is corrupt: it ends early");
  CHECK(visited == 1);  // entry 1 came first
  for (size_t n = 1; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK(logError(*store, 100 + n).find("entry " + std::to_string(100 + n) + " is corrupt: ") !=
          std::string::npos);
  }
  const std::string at = "cannot read the event log in " + db + ": entry ";
  CHECK(logError(*store, 200) == at + "200 is corrupt: it has bytes left over");
  CHECK(logError(*store, 201) == at + "201 is corrupt: its format version 2 is unknown");
  CHECK(logError(*store, 202) == at + "202 is corrupt: its kind 7 is unknown");
  CHECK(logError(*store, 203) == at + "203 is corrupt: a number in it overflows");
  CHECK(logError(*store, 204) == at + "204 is corrupt: a string in it runs past its end");

  std::string error;
  CHECK_FALSE(store->getOutbox("m"));
  CHECK_FALSE(store->scanOutbox([](const OutboxEntry&) { return true; }, error));
  CHECK(error ==
        "cannot read the outbox in " + db + ": the entry of message m is corrupt: it ends early");
  CHECK_FALSE(store->getMeta("k"));
  CHECK_FALSE(store->scanDeadLetter([](const DeadLetter&) { return true; }, error));
  CHECK(error == "cannot read the dead letter in " + db + ": entry 1 is corrupt: it ends early");
  CHECK_FALSE(store->scanDecisions([](uint64_t, const std::string&) { return true; }, error));
  CHECK(error == "cannot read the decision records in " + db +
                     ": record 9 is corrupt: a string in it runs past its end");
}

TEST_CASE("store: random bytes in the log decode or fail, never read out of bounds") {
  TempDir tmp;
  openStore(tmp.path).reset();  // makes the families
  std::mt19937 rng(20260101);
  std::vector<std::string> values;
  {
    RawDb raw(tmp.path);
    for (uint64_t seq = 1; seq <= 500; ++seq) {
      std::string v(rng() % 24, '\0');
      for (char& c : v) c = static_cast<char>(rng() % 4 == 0 ? 0x80 | (rng() & 0x7f) : rng());
      if (seq % 2 == 0 && !v.empty()) v[0] = 1;  // past the version byte half the time
      raw.put(1, key8(seq), v);
    }
  }
  auto store = openStore(tmp.path);
  int decoded = 0, failed = 0;
  for (uint64_t seq = 1; seq <= 500; ++seq) {
    int visited = 0;
    const std::string error = logError(*store, seq, &visited);
    if (error.empty()) {
      ++decoded;
      continue;
    }
    ++failed;
    CHECK(visited == 0);  // the first entry of this scan is seq: it failed
    CHECK(error.find("entry " + std::to_string(seq) + " is corrupt") != std::string::npos);
  }
  CHECK(failed > 0);
  CHECK(decoded + failed == 500);
}

TEST_CASE("store: an 8-byte key is required at the end of the log") {
  TempDir tmp;
  openStore(tmp.path).reset();
  {
    RawDb raw(tmp.path);
    raw.put(1, std::string(9, '\xff'), std::string("\x01\x01\x00\x00", 4));
  }
  std::string error;
  CHECK_FALSE(Store::open(tmp.path, error));
  CHECK(error == "cannot read the event log in " + tmp.path + "/db: its last key is not 8 bytes");
  {
    RawDb raw(tmp.path);
    raw.remove(1, std::string(9, '\xff'));
  }
  CHECK(openStore(tmp.path)->lastSeq() == 0);  // the lock went with the failed open
}

// The crash test's entry for `seq`: each different, so a misplaced one shows.
LogEntry crashEntry(uint64_t seq) {
  LogEntry e;
  e.seq = seq;
  e.kind = seq % 7 == 0 ? LogEntry::Kind::Clock : LogEntry::Kind::Event;
  e.stamp = static_cast<TimeMs>(seq) * 1000;
  if (e.kind == LogEntry::Kind::Event)
    e.data = "{\"n\":" + std::to_string(seq) + "}" + std::string(1, '\0') + std::string(seq, 'z');
  return e;
}

// The child: 100 appends of 10 entries, reporting the last seq of each once append returned.
[[noreturn]] void appendUntilKilled(const std::string& dir, int report) {
  std::string error;
  auto store = Store::open(dir, error);
  if (!store) ::_exit(2);
  for (uint64_t batch = 0; batch < 100; ++batch) {
    std::vector<LogEntry> entries;
    for (uint64_t i = 1; i <= 10; ++i) entries.push_back(crashEntry(batch * 10 + i));
    std::vector<DeadLetter> dead = {deadLetter(static_cast<TimeMs>(batch), "r", "d")};
    if (!store->append(entries, dead, error)) ::_exit(3);
    const uint64_t last = entries.back().seq;
    if (::write(report, &last, sizeof last) != sizeof last) ::_exit(4);
  }
  ::_exit(0);
}

TEST_CASE("store: every append that returned true survives a kill -9") {
  TempDir tmp;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    appendUntilKilled(tmp.path, fds[1]);
  }
  ::close(fds[1]);
  std::random_device seed;
  const unsigned killAfter = 1 + seed() % 60;  // reports read before the kill
  INFO("killed after " << killAfter << " reports");
  uint64_t reported = 0, last = 0;
  unsigned reports = 0;
  pollfd p{fds[0], POLLIN, 0};
  while (reports < killAfter && ::poll(&p, 1, 2000) == 1 &&
         ::read(fds[0], &last, sizeof last) == sizeof last)
    reported = last, ++reports;
  ::usleep(seed() % 3000);  // anywhere in the next append, usually
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  while (::read(fds[0], &last, sizeof last) == sizeof last) reported = last;  // sent before it died
  ::close(fds[0]);
  CHECK((WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0)));
  REQUIRE(reported >= 10);  // a child that never appended proves nothing

  auto store = openStore(tmp.path);
  INFO("reported " << reported << ", found " << store->lastSeq());
  CHECK(store->lastSeq() >= reported);
  CHECK(store->lastSeq() % 10 == 0);  // an append is all there or not at all
  auto all = readLog(*store, 1);
  REQUIRE(all.size() == store->lastSeq());
  size_t wrong = 0;
  for (size_t i = 0; i < all.size(); ++i) wrong += same(all[i], crashEntry(i + 1)) ? 0 : 1;
  CHECK(wrong == 0);
  CHECK(readDead(*store).size() == store->lastSeq() / 10);
}

}  // namespace
}  // namespace trig::serve
