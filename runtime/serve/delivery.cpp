// The delivery threads, the outbox payload as a message, and the outbox file (delivery.h).
#include "runtime/serve/delivery.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "compiler/support/time.h"

namespace trig::serve {
namespace {

TimeMs wallNow() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool later(const OutboxEntry& a, const OutboxEntry& b) {
  return a.nextAttempt > b.nextAttempt;
}

class OutboxFile final : public Transport {
 public:
  explicit OutboxFile(int fd) : fd_(fd) {}
  ~OutboxFile() override { ::close(fd_); }
  OutboxFile(const OutboxFile&) = delete;
  OutboxFile& operator=(const OutboxFile&) = delete;

  SendResult send(const Message&, const std::string& json) override {
    std::string line = json + "\n";
    // O_APPEND writes of one line land whole and in order, also from several threads.
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        return {SendResult::Kind::Transient, std::string("write: ") + std::strerror(errno)};
      p += n;
      left -= static_cast<size_t>(n);
    }
    if (::fdatasync(fd_) != 0)
      return {SendResult::Kind::Transient, std::string("fdatasync: ") + std::strerror(errno)};
    return {SendResult::Kind::Sent, "appended"};
  }

 private:
  int fd_;
};

}  // namespace

std::unique_ptr<Transport> makeOutboxFileTransport(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = "cannot open the outbox " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::make_unique<OutboxFile>(fd);
}

bool messageFromPayload(const std::string& payload, Message& out, std::string& error) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "the outbox entry is not a JSON object";
    return false;
  }
  auto str = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  out.messageId = str("message_id");
  out.from = str("from");
  out.to = str("to");
  out.subject = str("subject");
  out.text = str("text");
  out.html = str("html");
  out.domain.clear();  // the From address's, as the outbox line's Message-ID header has it
  out.headers.clear();
  if (auto h = j.find("headers"); h != j.end() && h->is_object()) {
    for (const auto& [name, value] : h->items()) {
      // Those the message writes itself (message.h), from its own fields.
      static const char* const kOwn[] = {
          "message-id", "from",         "to",           "subject",
          "date",       "mime-version", "content-type", "content-transfer-encoding"};
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!value.is_string() ||
          std::find(std::begin(kOwn), std::end(kOwn), lower) != std::end(kOwn))
        continue;
      out.headers.emplace_back(name, value.get<std::string>());
    }
  }
  auto t = parseTimestamp(str("time"));
  out.date = t ? *t : 0;
  if (out.messageId.empty() || out.to.empty()) {
    error = "the outbox entry has no message_id or no to";
    return false;
  }
  return true;
}

Delivery::Delivery(Store& store, std::function<std::unique_ptr<Transport>()> makeTransport,
                   Metrics& metrics, DeliveryOptions options,
                   std::function<void(const std::string&)> log)
    : store_(store),
      makeTransport_(std::move(makeTransport)),
      metrics_(metrics),
      opt_(options),
      log_(std::move(log)) {}

Delivery::~Delivery() {
  stop();
}

bool Delivery::loadPending(std::string& error) {
  std::vector<OutboxEntry> pending;
  bool ok = store_.scanOutbox(
      [&](const OutboxEntry& e) {
        if (e.state == OutboxEntry::State::Pending) pending.push_back(e);
        return true;
      },
      error);
  for (OutboxEntry& e : pending) enqueue(std::move(e));
  return ok;
}

void Delivery::enqueue(OutboxEntry e) {
  {
    std::lock_guard lock(mu_);
    heap_.push_back(std::move(e));
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  cv_.notify_one();
}

void Delivery::start() {
  for (unsigned i = 0; i < std::max(1u, opt_.threads); ++i)
    threads_.emplace_back([this] { work(); });
}

void Delivery::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

size_t Delivery::backlog() const {
  std::lock_guard lock(mu_);
  return heap_.size() + inFlight_;
}

bool Delivery::waitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, timeout, [&] { return heap_.empty() && inFlight_ == 0; });
}

void Delivery::work() {
  std::unique_ptr<Transport> transport = makeTransport_();
  for (;;) {
    OutboxEntry e;
    {
      std::unique_lock lock(mu_);
      for (;;) {
        if (stopping_) return;
        if (!heap_.empty() && heap_.front().nextAttempt <= wallNow()) break;
        if (heap_.empty()) {
          cv_.wait(lock);
        } else {
          cv_.wait_for(lock, std::chrono::milliseconds(heap_.front().nextAttempt - wallNow()));
        }
      }
      std::pop_heap(heap_.begin(), heap_.end(), later);
      e = std::move(heap_.back());
      heap_.pop_back();
      ++inFlight_;
    }
    Message m;
    std::string error;
    const bool readable = messageFromPayload(e.payload, m, error);
    SendResult r =
        readable ? transport->send(m, e.payload) : SendResult{SendResult::Kind::Permanent, error};
    finish(e, r, readable);
    {
      std::lock_guard lock(mu_);
      --inFlight_;
      if (heap_.empty() && inFlight_ == 0) idle_.notify_all();
    }
  }
}

void Delivery::onBounce(std::function<void(const std::string&, const std::string&)> f) {
  onBounce_ = std::move(f);
}

// Records the outcome in the store (and the retry, if any, in the queue). `refused`: the
// transport had the message (a permanent failure is then a bounce, not an unreadable entry).
void Delivery::finish(OutboxEntry& e, const SendResult& r, bool refused) {
  ++e.attempts;
  e.lastError = r.kind == SendResult::Kind::Sent ? "" : r.detail;
  bool retry = r.kind == SendResult::Kind::Transient && e.attempts < opt_.maxAttempts;
  if (r.kind == SendResult::Kind::Sent) {
    e.state = OutboxEntry::State::Done;
  } else if (!retry) {
    e.state = OutboxEntry::State::Failed;
    log_("delivery of " + e.messageId + " failed after " + std::to_string(e.attempts) +
         " attempt(s): " + r.detail);
  } else {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    e.nextAttempt = wallNow() + retryDelay(e.attempts, rng, opt_.retryBase, opt_.retryCap).count();
    log_("delivery of " + e.messageId + " will be retried (attempt " + std::to_string(e.attempts) +
         "): " + r.detail);
  }
  metrics_.add("trig_deliveries_total", {{"result", r.kind == SendResult::Kind::Sent ? "sent"
                                                    : retry                          ? "retry"
                                                                                     : "failed"}});
  std::string error;
  if (!store_.putOutbox(e, false, error)) log_("cannot update the outbox: " + error);
  // A bounce: the server refused the message for good (SMTP 5xx, a webhook's 4xx; a webhook's
  // redirect is a misconfiguration, not the recipient's).
  if (r.kind == SendResult::Kind::Permanent && refused && onBounce_ &&
      !r.detail.starts_with("HTTP 3"))
    onBounce_(e.payload, r.detail);
  if (retry) enqueue(std::move(e));
}

}  // namespace trig::serve
