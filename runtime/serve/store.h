#pragma once
// The durable state of `trig serve` (docs/serve.md, "Durability"), one RocksDB database in
// `DIR/db`. The accepted-event log is the source of truth: the engine's state is what replaying
// it gives, so a restart replays it. Beside it: the dead letter (every rejected event, with
// its reason), the outbox (every decided send, by message id, with its delivery state), the
// decision records, and a few named values (meta).
//
// Every append() is one atomic RocksDB write with sync: when it returns true the entries are on
// disk (the 200 of the ingest API). Other writes are synced when asked. Thread-safe.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/support/time.h"

namespace trig::serve {

struct LogEntry {
  // Rules: the rule set in force from here on (its files are in meta, "rules/VERSION").
  enum class Kind : uint8_t { Event = 1, Clock = 2, Rules = 3 };
  uint64_t seq = 0;  // 1-based position in the log, assigned by append()
  Kind kind = Kind::Event;
  TimeMs stamp = 0;  // Event: the time the engine gives it; Clock: the clock's new time
  std::string data;  // Event: the event's JSON object as received; Clock: ""; Rules: the version
};

struct DeadLetter {
  uint64_t seq = 0;  // assigned by append()
  TimeMs receivedAt = 0;
  std::string reason;  // "property 'price' of event 'cart_add' must be money, got string"
  std::string data;    // the rejected JSON text as received (may be invalid JSON or UTF-8)
};

struct OutboxEntry {
  enum class State : uint8_t { Pending = 0, Done = 1, Failed = 2 };
  std::string messageId;
  State state = State::Pending;
  uint32_t attempts = 0;
  TimeMs nextAttempt = 0;  // Pending: not before this time
  std::string payload;     // what the transport sends (the outbox JSON line)
  std::string lastError;   // Failed, or the last transient failure
};

class Store {
 public:
  // Opens `dir` (created, with `dir/db` inside, when absent). Null with `error` set when it
  // cannot, among others when another process has it open ("DIR is in use by another trig
  // serve (pid 1234)").
  static std::unique_ptr<Store> open(const std::string& dir, std::string& error);
  // The same store for reading only, also while a running service has it open (`trig log`): a
  // consistent view as of the call; every write fails.
  static std::unique_ptr<Store> openReadOnly(const std::string& dir, std::string& error);
  virtual ~Store() = default;

  // Appends log entries and dead letters in one synced write, assigning their seq numbers (in
  // vector order). False with `error` on a write error (nothing was appended).
  virtual bool append(std::vector<LogEntry>& entries, std::vector<DeadLetter>& dead,
                      std::string& error) = 0;
  virtual uint64_t lastSeq() const = 0;  // 0 when the log is empty
  // Calls `f` on the log entries from `from` (inclusive) on, in order, until it returns false.
  virtual bool scanLog(uint64_t from, const std::function<bool(const LogEntry&)>& f,
                       std::string& error) const = 0;
  virtual bool scanDeadLetter(const std::function<bool(const DeadLetter&)>& f,
                              std::string& error) const = 0;

  // Outbox: put replaces the entry of that message id.
  virtual bool putOutbox(const OutboxEntry& e, bool sync, std::string& error) = 0;
  virtual std::optional<OutboxEntry> getOutbox(const std::string& messageId) const = 0;
  virtual bool scanOutbox(const std::function<bool(const OutboxEntry&)>& f,
                          std::string& error) const = 0;

  // Decision records (the run JSON lines), by their number; a put of an existing number with
  // the same text is a no-op in effect (a restart's replay writes them again).
  virtual bool putDecisions(const std::vector<std::pair<uint64_t, std::string>>& records,
                            std::string& error) = 0;
  virtual bool scanDecisions(const std::function<bool(uint64_t, const std::string&)>& f,
                             std::string& error) const = 0;

  virtual bool putMeta(const std::string& key, const std::string& value, std::string& error) = 0;
  virtual std::optional<std::string> getMeta(const std::string& key) const = 0;
};

// The service's secrets: the write key (ingest), the admin key, the tracking secret (HMAC).
struct Keys {
  std::string write, admin, tracking;
};
// From TRIG_WRITE_KEY, TRIG_ADMIN_KEY, TRIG_TRACKING_SECRET when set, else from `dir/keys`
// (lines `write=...`, `admin=...`, `tracking=...`), which is created with random keys (OpenSSL
// RAND_bytes, 32 bytes, base64url) and mode 0600 on first start. Refuses a keys file readable by
// others. False with `error` set on failure.
bool loadKeys(const std::string& dir, Keys& out, std::string& error);

}  // namespace trig::serve
