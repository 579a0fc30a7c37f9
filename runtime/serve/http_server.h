#pragma once
// The HTTP/1.1 server under `trig serve` (docs/serve.md), on Boost.Beast and Asio: it parses
// requests, enforces the limits that keep a hostile or slow client from hurting the service, and
// hands each complete request to one handler, which answers now or later from any thread. It
// knows nothing of trig's routes.
//
// Limits (each answered with a status, the connection closed where HTTP requires it):
// - a body over `maxBodyBytes` (Content-Length or chunked): 413, before the body is read;
// - headers over `maxHeaderBytes`: 431; a request that cannot be parsed: 400;
// - a request not complete within `requestTimeout` of its first byte (slowloris): the connection
//   is closed; an idle keep-alive connection after `idleTimeout` likewise;
// - more than `maxConnections` open at once: the new one gets 503 with `Retry-After: 1` and is
//   closed.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trig::serve {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // as sent: path and query
  std::string path;    // the target before '?', percent-decoded
  std::string query;   // the raw text after '?' ("" when none)
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case, in order
  std::string body;
  std::string remote;  // "127.0.0.1:51234"

  // The first header of that (lower-case) name, "" when absent.
  std::string_view header(std::string_view lowerName) const;
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
};

// Answers a request exactly once, from any thread.
using Respond = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&&, Respond)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: the system picks one (see HttpServer::port)
  size_t maxBodyBytes = 512 * 1024;
  size_t maxHeaderBytes = 16 * 1024;
  size_t maxConnections = 10000;
  std::chrono::milliseconds requestTimeout{10000};
  std::chrono::milliseconds idleTimeout{60000};
  unsigned threads = 1;  // I/O threads
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens. False with `error` set ("cannot listen on 127.0.0.1:80: Permission
  // denied") on failure.
  bool listen(std::string& error);
  // The port listened on (the chosen one when options.port was 0).
  uint16_t port() const;
  // Runs the I/O threads (the caller's among them) until stop(); returns when every
  // connection is closed.
  void run();
  // Thread-safe, also from a signal-handling thread: stops accepting, lets requests in flight be
  // answered (for at most `grace`), closes idle connections; run() then returns.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  // Connections open now (for /metrics).
  size_t connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trig::serve
