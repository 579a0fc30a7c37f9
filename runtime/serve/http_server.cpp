// The HTTP/1.1 server under `trig serve` (http_server.h), on Boost.Beast: an acceptor on its own
// strand, one Session per connection on a strand of its own, and a registry of live sessions so
// that stop() can reach them. A session reads one request at a time (header first, to refuse a
// body too large before reading it), hands it to the handler and reads the next only once the
// answer is written: pipelined requests wait in the read buffer.
#include "runtime/serve/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace trig::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::string_view HttpRequest::header(std::string_view lowerName) const {
  for (const auto& [name, value] : headers)
    if (name == lowerName) return value;
  return {};
}

namespace {

// How long a connection being closed after an error answer is drained before it is closed: the
// client may still be sending the body we refused, and closing with unread data would reset the
// connection and could destroy the answer before the client read it.
constexpr std::chrono::milliseconds kLingerMax{1000};

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a path; nullopt for a malformed escape or an encoded NUL, which no route
// needs and which C strings further down would truncate.
std::optional<std::string> percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = hexDigit(in[i + 1]), lo = hexDigit(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string errorBody(std::string_view reason) {
  return std::string(R"({"success":false,"errors":[{"reason":")") + std::string(reason) + "\"}]}";
}

HttpResponse errorResponse(int status, std::string_view reason) {
  HttpResponse r;
  r.status = status;
  r.body = errorBody(reason);
  return r;
}

std::string endpointText(const tcp::endpoint& ep) {
  std::string addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

// A failure of the peer or of a timer (the connection is just closed), as opposed to a request
// that could not be parsed (answered 400).
bool isParseError(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

class Session;

// Everything the server is; HttpServer::Impl is this, under the name the header gives it.
struct Server {
  // What a late Respond may still touch once the server is gone: it checks `alive` under `mu`
  // before posting to a session, and ~Server clears it before the io_context goes away.
  struct Life {
    std::mutex mu;
    bool alive = true;
  };

  HttpServerOptions opt;
  Handler handler;
  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> strand;  // the acceptor's and stop's
  tcp::acceptor acceptor;
  asio::steady_timer acceptRetry;  // after an accept error (out of descriptors, say)
  asio::steady_timer graceTimer;   // stop()'s deadline
  std::shared_ptr<Life> life = std::make_shared<Life>();
  std::atomic<size_t> open{0};  // accepted and served; the 503 ones are not counted
  std::atomic<bool> stopping{false};
  uint16_t boundPort = 0;
  std::mutex sessionsMu;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions;  // the registry owns them

  Server(HttpServerOptions o, Handler h)
      : opt(std::move(o)),
        handler(std::move(h)),
        ioc(static_cast<int>(std::max(1u, opt.threads))),
        strand(asio::make_strand(ioc)),
        acceptor(strand),
        acceptRetry(strand),
        graceTimer(strand) {}
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void accept();
  void onAccept(const error_code& ec, tcp::socket socket);
  void onStop(std::chrono::milliseconds grace);
  void forceClose();
  void remove(Session* s);
  std::vector<std::shared_ptr<Session>> snapshot();
};

// One connection. Every member runs on the session's strand (the stream's executor), except
// the constructor and post(), which only posts to it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& srv, tcp::socket socket, bool counted)
      : srv_(srv), stream_(std::move(socket)), counted_(counted) {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpointText(ep);
  }

  // Starts serving, or answers 503 and closes when the session was refused (not counted).
  void start() {
    post([](Session& s) {
      if (s.counted_) {
        s.readNext();
      } else {
        s.state_ = State::Reading;
        s.fail(503, "too many connections", {{"Retry-After", "1"}});
      }
    });
  }
  // On stop(): idle connections and half-read requests are closed; a request being handled or
  // answered finishes (writeDone sees `stopping` and closes).
  void stop() {
    post([](Session& s) {
      if (s.state_ == State::Idle || s.state_ == State::Reading) s.close();
    });
  }
  void kill() {
    post([](Session& s) { s.close(); });
  }
  // The handler's answer, from any thread; dropped unless the request is still awaiting it.
  void answer(HttpResponse res) {
    post([res = std::move(res)](Session& s) mutable {
      if (s.state_ == State::Handling) s.write(std::move(res), s.closeAfter_);
    });
  }

 private:
  enum class State { Idle, Reading, Handling, Writing, Lingering, Closed };

  template <class F>
  void post(F&& f) {
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), f = std::forward<F>(f)]() mutable { f(*self); });
  }

  void readNext();
  void readHeader(bool startClock);
  void onHeader(const error_code& ec);
  void readBody();
  void onBody(const error_code& ec);
  void dispatch();
  void write(HttpResponse res, bool close);
  void writeDone(const error_code& ec, bool close);
  void fail(int status, std::string_view reason,
            std::vector<std::pair<std::string, std::string>> headers = {});
  void readFailed(const error_code& ec);
  void linger();
  void drain();
  void close();

  Server& srv_;
  beast::tcp_stream stream_;
  bool counted_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> headParser_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;  // the answer being written
  std::array<char, 4096> scratch_{};       // what linger() drains into
  State state_ = State::Idle;
  bool closeAfter_ = false;
  unsigned version_ = 11;
  bool head_ = false;
  bool lingerOnClose_ = false;
  uint64_t served_ = 0;  // requests handed to the handler  // an error answer: the client may be
                         // sending what we refused
};

// Waits for the first byte of the next request, unless a pipelined one is already buffered;
// from that byte the request timeout runs. A fresh connection's first request runs from the
// accept: a client that connects and sends nothing is a slowloris, not an idle keep-alive.
void Session::readNext() {
  if (srv_.stopping) return close();
  if (buffer_.size() > 0) return readHeader(true);
  state_ = State::Idle;
  bool fresh = served_ == 0;
  stream_.expires_after(fresh ? srv_.opt.requestTimeout : srv_.opt.idleTimeout);
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this(), fresh](const error_code& ec, size_t n) {
                            if (self->state_ != State::Idle) return;
                            if (ec) return self->close();
                            self->buffer_.commit(n);
                            self->readHeader(!fresh);
                          });
}

void Session::readHeader(bool startClock) {
  state_ = State::Reading;
  // One deadline for the whole request, header and body: a basic_stream's expiry is a point in
  // time, kept across operations until changed.
  if (startClock) stream_.expires_after(srv_.opt.requestTimeout);
  headParser_.emplace();
  headParser_->header_limit(static_cast<uint32_t>(
      std::min<size_t>(srv_.opt.maxHeaderBytes, std::numeric_limits<uint32_t>::max())));
  // Checked against Content-Length when the header completes: 413 before any body is read.
  headParser_->body_limit(srv_.opt.maxBodyBytes);
  http::async_read_header(
      stream_, buffer_, *headParser_,
      [self = shared_from_this()](const error_code& ec, size_t) { self->onHeader(ec); });
}

void Session::onHeader(const error_code& ec) {
  if (state_ != State::Reading) return;
  if (ec) return readFailed(ec);
  const auto& req = headParser_->get();
  version_ = req.version();
  parser_.emplace(std::move(*headParser_));
  headParser_.reset();
  parser_->body_limit(srv_.opt.maxBodyBytes);
  // A client that sent `Expect: 100-continue` waits for this before sending the body.
  const auto& hdr = parser_->get();
  if (version_ >= 11 && beast::iequals(hdr[http::field::expect], "100-continue") &&
      !parser_->is_done()) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](const error_code& wec, size_t) {
                        if (self->state_ != State::Reading) return;
                        if (wec) return self->close();
                        self->readBody();
                      });
    return;
  }
  // A request without a body (a GET) is complete with its header: no read to wait for.
  if (parser_->is_done()) return dispatch();
  readBody();
}

void Session::readBody() {
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](const error_code& ec, size_t) { self->onBody(ec); });
}

void Session::onBody(const error_code& ec) {
  if (state_ != State::Reading) return;
  if (ec) return readFailed(ec);
  dispatch();
}

void Session::readFailed(const error_code& ec) {
  if (ec == http::error::header_limit) return fail(431, "request headers too large");
  if (ec == http::error::body_limit) return fail(413, "request body too large");
  if (isParseError(ec)) return fail(400, "malformed request");
  close();  // timeout, reset, end of stream, stop
}

// Hands the complete request to the handler. The Respond it gets posts back to this strand,
// once: a shared flag drops later calls, and a Respond dropped without being called answers 500
// rather than leave the client waiting.
void Session::dispatch() {
  auto msg = parser_->release();
  parser_.reset();
  HttpRequest req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  size_t q = req.target.find('?');
  std::optional<std::string> path = percentDecode(std::string_view(req.target).substr(0, q));
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  req.body = std::move(msg.body());
  req.remote = remote_;
  closeAfter_ = !msg.keep_alive();
  head_ = msg.method() == http::verb::head;
  state_ = State::Handling;
  ++served_;
  stream_.expires_never();  // the handler takes what it takes; stop()'s grace bounds it
  if (!path) return write(errorResponse(400, "malformed percent-encoding in path"), closeAfter_);
  req.path = std::move(*path);

  struct Once {
    std::shared_ptr<Server::Life> life;
    std::weak_ptr<Session> session;
    std::atomic<bool> done{false};
    void send(HttpResponse res) {
      if (done.exchange(true)) return;
      std::lock_guard lock(life->mu);
      if (!life->alive) return;
      if (auto s = session.lock()) s->answer(std::move(res));
    }
    ~Once() { send(errorResponse(500, "the request was not answered")); }
  };
  auto once = std::make_shared<Once>();
  once->life = srv_.life;
  once->session = weak_from_this();
  try {
    srv_.handler(std::move(req), [once](HttpResponse res) { once->send(std::move(res)); });
  } catch (...) {
    once->send(errorResponse(500, "internal error"));
  }
}

// Writes an answer; `close` after it (the client asked, an error, or the server is stopping).
void Session::write(HttpResponse r, bool close) {
  close = close || srv_.stopping;
  state_ = State::Writing;
  int status = r.status >= 100 && r.status <= 999 ? r.status : 500;
  res_ = http::response<http::string_body>(static_cast<http::status>(status), version_);
  if (!r.contentType.empty()) res_.set(http::field::content_type, r.contentType);
  for (auto& [name, value] : r.headers) {
    // A line break would let a value smuggle in headers (or a whole response) of its own.
    if ((name + value).find_first_of("\r\n") != std::string::npos) continue;
    if (beast::iequals(name, "connection") && beast::iequals(value, "close")) close = true;
    res_.insert(name, value);
  }
  res_.keep_alive(!close);
  // 1xx, 204 and 304 have no body and must not say how long it is; HEAD says it and sends none.
  if (status >= 200 && status != 204 && status != 304) {
    size_t length = r.body.size();
    if (!head_) res_.body() = std::move(r.body);
    res_.content_length(length);
  }
  // A client that does not read its answer is held to the request timeout, like a slow sender.
  stream_.expires_after(srv_.opt.requestTimeout);
  http::async_write(stream_, res_,
                    [self = shared_from_this(), close](const error_code& ec, size_t) {
                      self->writeDone(ec, close);
                    });
}

void Session::writeDone(const error_code& ec, bool closeConn) {
  if (state_ != State::Writing) return;
  res_ = {};
  head_ = false;
  if (ec) return close();
  if (!closeConn) return readNext();
  // Linger only when the client may still be sending: after an error (a refused body, say) or
  // with unread bytes; otherwise a stopping server would wait on clients that keep the socket.
  error_code aec;
  if (lingerOnClose_ || buffer_.size() > 0 || stream_.socket().available(aec) > 0 || aec)
    return linger();
  close();
}

// Answers an error with `Connection: close`, then closes.
void Session::fail(int status, std::string_view reason,
                   std::vector<std::pair<std::string, std::string>> headers) {
  headParser_.reset();
  parser_.reset();
  state_ = State::Handling;
  lingerOnClose_ = true;
  HttpResponse r = errorResponse(status, reason);
  r.headers = std::move(headers);
  write(std::move(r), true);
}

// Half-closes, then reads and discards what the client still sends until it closes too, or the
// linger time is over (RFC 9112, section 9.6).
void Session::linger() {
  state_ = State::Lingering;
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(std::min(kLingerMax, srv_.opt.requestTimeout));
  drain();
}

void Session::drain() {
  stream_.async_read_some(asio::buffer(scratch_),
                          [self = shared_from_this()](const error_code& ec, size_t) {
                            if (self->state_ != State::Lingering) return;
                            if (ec) return self->close();
                            self->drain();
                          });
}

void Session::close() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
  headParser_.reset();
  parser_.reset();
  if (counted_) --srv_.open;
  srv_.remove(this);  // may drop the registry's reference; the caller's `self` keeps us alive
}

Server::~Server() {
  std::lock_guard lock(life->mu);
  life->alive = false;
}

void Server::accept() {
  acceptor.async_accept(asio::make_strand(ioc),
                        asio::bind_executor(strand, [this](const error_code& ec, tcp::socket s) {
                          onAccept(ec, std::move(s));
                        }));
}

void Server::onAccept(const error_code& ec, tcp::socket socket) {
  if (stopping || !acceptor.is_open()) return;
  if (ec) {
    // Out of descriptors, say: try again shortly rather than spin or give up.
    acceptRetry.expires_after(std::chrono::milliseconds(50));
    acceptRetry.async_wait([this](const error_code& wec) {
      if (!wec) accept();
    });
    return;
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  // Checked and counted on this strand only, so the limit cannot be overshot.
  bool counted = open < opt.maxConnections;
  if (counted) ++open;
  auto s = std::make_shared<Session>(*this, std::move(socket), counted);
  {
    std::lock_guard lock(sessionsMu);
    sessions.emplace(s.get(), s);
  }
  s->start();
  accept();
}

std::vector<std::shared_ptr<Session>> Server::snapshot() {
  std::lock_guard lock(sessionsMu);
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(sessions.size());
  for (auto& [p, s] : sessions) out.push_back(s);
  return out;
}

void Server::remove(Session* s) {
  std::shared_ptr<Session> keep;  // released outside the lock
  bool empty = false;
  {
    std::lock_guard lock(sessionsMu);
    auto it = sessions.find(s);
    if (it == sessions.end()) return;
    keep = std::move(it->second);
    sessions.erase(it);
    empty = sessions.empty();
  }
  // The last session gone after stop(): cancel the grace timer so that run() returns now.
  if (empty && stopping) asio::post(strand, [this] { graceTimer.cancel(); });
}

void Server::onStop(std::chrono::milliseconds grace) {
  error_code ignored;
  acceptor.close(ignored);
  acceptRetry.cancel();
  auto live = snapshot();
  if (live.empty()) return;
  for (auto& s : live) s->stop();
  graceTimer.expires_after(grace);
  graceTimer.async_wait([this](const error_code& ec) {
    if (!ec) forceClose();
  });
}

// The grace is over: close every connection, handler answered or not.
void Server::forceClose() {
  for (auto& s : snapshot()) s->kill();
}

bool bindTo(tcp::acceptor& acceptor, const tcp::endpoint& ep, error_code& ec) {
  error_code ignored;
  acceptor.close(ignored);
  ec = {};
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return !ec;
}

}  // namespace

struct HttpServer::Impl : Server {
  using Server::Server;
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() = default;

bool HttpServer::listen(std::string& error) {
  Impl& m = *impl_;
  std::string where =
      (m.opt.host.find(':') != std::string::npos ? "[" + m.opt.host + "]" : m.opt.host) + ":" +
      std::to_string(m.opt.port);
  error_code ec;
  tcp::resolver resolver(m.ioc);
  auto results = resolver.resolve(m.opt.host, std::to_string(m.opt.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (!ec && results.empty()) ec = asio::error::host_not_found;
  // The first address that binds wins (a name may resolve to IPv6 and IPv4 both).
  for (const auto& entry : results) {
    if (bindTo(m.acceptor, entry.endpoint(), ec)) break;
  }
  if (ec) {
    error_code ignored;
    m.acceptor.close(ignored);
    error = "cannot listen on " + where + ": " + ec.message();
    return false;
  }
  m.boundPort = m.acceptor.local_endpoint(ec).port();
  asio::post(m.strand, [&m] { m.accept(); });
  return true;
}

uint16_t HttpServer::port() const {
  return impl_->boundPort;
}

void HttpServer::run() {
  Impl& m = *impl_;
  std::vector<std::thread> extra;
  for (unsigned i = 1; i < m.opt.threads; ++i) extra.emplace_back([&m] { m.ioc.run(); });
  m.ioc.run();
  for (auto& t : extra) t.join();
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  Impl& m = *impl_;
  if (m.stopping.exchange(true)) return;
  asio::post(m.strand, [&m, grace] { m.onStop(grace); });
}

size_t HttpServer::connections() const {
  return impl_->open;
}

}  // namespace trig::serve
