#pragma once
// Delivery of `trig serve` (docs/serve.md, "Durability and delivery"): threads of their own that
// take the outbox's pending sends, hand each to the transport and mark it done in the store, so
// that a slow or dead mail server never holds up ingest or the engine. Transient failures are
// retried with exponential backoff and jitter; permanent ones, and a send still failing after
// `maxAttempts`, end as failed with the reason.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/serve/metrics.h"
#include "runtime/serve/store.h"
#include "runtime/serve/transport.h"

namespace trig::serve {

struct DeliveryOptions {
  unsigned threads = 1;  // each with its own transport
  uint32_t maxAttempts = 10;
  std::chrono::milliseconds retryBase{1000};
  std::chrono::milliseconds retryCap{600000};
};

class Delivery {
 public:
  // `makeTransport` is called once per thread. Store and metrics must outlive the delivery.
  Delivery(Store& store, std::function<std::unique_ptr<Transport>()> makeTransport,
           Metrics& metrics, DeliveryOptions options, std::function<void(const std::string&)> log);
  ~Delivery();

  // Every outbox entry still pending (a restart's leftovers). False with `error` on a store error.
  bool loadPending(std::string& error);
  void enqueue(OutboxEntry e);  // thread-safe

  // Called (from a delivery thread) with the payload of every send the transport refused for
  // good (SMTP 5xx, webhook 4xx): the service records the bounce. Set before start().
  void onBounce(std::function<void(const std::string& payload, const std::string& detail)> f);

  void start();
  // Lets sends in flight finish, then joins the threads; pending ones stay in the outbox.
  void stop();

  size_t backlog() const;
  // Waits until nothing is pending or in flight (retries count as pending); false on timeout.
  bool waitIdle(std::chrono::milliseconds timeout);

 private:
  void work();
  void finish(OutboxEntry& e, const SendResult& r, bool refused);

  Store& store_;
  std::function<std::unique_ptr<Transport>()> makeTransport_;
  Metrics& metrics_;
  DeliveryOptions opt_;
  std::function<void(const std::string&)> log_;
  std::function<void(const std::string&, const std::string&)> onBounce_;

  mutable std::mutex mu_;
  std::condition_variable cv_, idle_;
  std::vector<OutboxEntry> heap_;  // by nextAttempt, earliest first
  size_t inFlight_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// The message a transport sends, from an outbox entry's payload (the run record with `from`
// and `text` or `html`; the payload's `headers` other than those the message makes itself,
// such as List-Unsubscribe, become the message's extra headers). False with `error` when the
// payload is not such a JSON object.
bool messageFromPayload(const std::string& payload, Message& out, std::string& error);

// The JSON-lines outbox file (`--deliver outbox`): each message's payload appended as one line
// and flushed to disk before the send counts as done. Null with `error` when it cannot be opened.
std::unique_ptr<Transport> makeOutboxFileTransport(const std::string& path, std::string& error);

}  // namespace trig::serve
