#pragma once
// Delivery transports of `trig serve` (docs/serve.md, "Delivery"): SMTP and a webhook, both on
// libcurl. A transport sends one message and says whether it went, failed for now (retry later)
// or failed for good. Blocking: the service calls it from its delivery threads, never from
// ingest or the engine.
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "runtime/serve/message.h"

namespace trig::serve {

struct SendResult {
  enum class Kind : uint8_t { Sent, Transient, Permanent };
  Kind kind = Kind::Sent;
  std::string detail;  // the server's answer or the error, for logs and the outbox
};

class Transport {
 public:
  virtual ~Transport() = default;
  // `json` is the outbox line of the message (the run record with bodies and headers), which
  // the webhook posts; SMTP sends formatMessage(m).
  virtual SendResult send(const Message& m, const std::string& json) = 0;
};

struct TransportOptions {
  std::chrono::milliseconds connectTimeout{5000};
  std::chrono::milliseconds timeout{30000};  // the whole exchange
};

// `smtp://[user:password@]host:port`: STARTTLS when the server offers it (required when a
// password is given), AUTH with the user and password. 2xx sent; 4xx and connection failures
// transient; 5xx permanent (a bounce). Null with `error` for a URL it cannot use.
std::unique_ptr<Transport> makeSmtpTransport(const std::string& url, TransportOptions options,
                                             std::string& error);
// `http(s)://...`: POST of the JSON with `Content-Type: application/json` and
// `Idempotency-Key: <message id>`. 2xx sent; 408, 429, 5xx and connection failures transient;
// other 4xx permanent.
std::unique_ptr<Transport> makeWebhookTransport(const std::string& url, TransportOptions options,
                                                std::string& error);

// The wait before retry number `attempt` (1-based): exponential from `base`, capped at `cap`,
// with full jitter (a uniform draw in [0, that]).
std::chrono::milliseconds retryDelay(uint32_t attempt, std::mt19937_64& rng,
                                     std::chrono::milliseconds base = std::chrono::seconds(1),
                                     std::chrono::milliseconds cap = std::chrono::minutes(10));

}  // namespace trig::serve
