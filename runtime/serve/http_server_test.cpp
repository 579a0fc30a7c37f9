// The HTTP server (http_server.h) against a plain blocking socket: keep-alive and pipelining,
// late and duplicate answers, each limit with its exact status, stop() with a request in flight,
// and the decoding of the path. Every read has a deadline, so a server that hangs fails a test
// instead of hanging it.
#include "runtime/serve/http_server.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <cctype>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace trig::serve {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A server listening on 127.0.0.1, an ephemeral port, run() on a thread of its own.
struct TestServer {
  HttpServer server;
  std::thread runner;

  TestServer(HttpServerOptions opt, Handler handler) : server(std::move(opt), std::move(handler)) {
    std::string error;
    REQUIRE(server.listen(error));
    REQUIRE(server.port() != 0);
    runner = std::thread([this] { server.run(); });
  }
  ~TestServer() {
    server.stop(100ms);
    runner.join();
  }
};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool ok = false;  // a complete response was read
};

// A blocking client. Reads go through poll() with a deadline (Asio's blocking reads ignore
// SO_RCVTIMEO).
class Client {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void send(std::string_view data) { asio::write(socket_, asio::buffer(data.data(), data.size())); }

  // Reads one response (Content-Length framed; none read after HEAD); `ok` false on timeout or
  // close before its end.
  Reply response(std::chrono::milliseconds timeout = 2000ms, bool isHead = false) {
    Reply r;
    auto deadline = Clock::now() + timeout;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(deadline)) return r;
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t lineEnd = head.find("\r\n");
    std::string statusLine = head.substr(0, lineEnd);
    REQUIRE(statusLine.size() >= 12);
    r.status = std::stoi(statusLine.substr(9, 3));
    for (size_t pos = lineEnd; pos != std::string::npos && pos < head.size();) {
      size_t next = head.find("\r\n", pos + 2);
      std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      pos = next;
    }
    size_t length =
        r.headers.count("content-length") && !isHead ? std::stoul(r.headers["content-length"]) : 0;
    while (buf_.size() < length)
      if (!fill(deadline)) return r;
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    r.ok = true;
    return r;
  }

  // True when the server closes (end of stream or reset) within `timeout`, having sent nothing
  // more.
  bool closedWithin(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    size_t before = buf_.size();
    while (fill(deadline)) {
    }
    return !timedOut_ && buf_.size() == before;
  }

 private:
  // Appends what arrives before `deadline`; false on close, error or timeout (timedOut_).
  bool fill(Clock::time_point deadline) {
    timedOut_ = false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{socket_.native_handle(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      timedOut_ = true;
      return false;
    }
    char chunk[4096];
    ssize_t n = ::recv(socket_.native_handle(), chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  asio::io_context ioc_;
  tcp::socket socket_;
  std::string buf_;
  bool timedOut_ = false;
};

// Answers "METHOD path ?query x-test body" as text/plain, with an X-Echo header.
void echo(HttpRequest&& req, Respond respond) {
  HttpResponse res;
  res.contentType = "text/plain";
  res.headers.emplace_back("X-Echo", "yes");
  res.headers.emplace_back("X-Bad", "a\r\nX-Injected: 1");  // dropped
  res.body = req.method + " " + req.path + " ?" + req.query + " " +
             std::string(req.header("x-test")) + " " + req.body;
  respond(std::move(res));
}

HttpServerOptions quick() {
  HttpServerOptions opt;
  opt.requestTimeout = 500ms;
  opt.idleTimeout = 2000ms;
  opt.threads = 2;
  return opt;
}

std::string error(std::string_view reason) {
  return R"({"success":false,"errors":[{"reason":")" + std::string(reason) + "\"}]}";
}

// Waits for `cond` up to one second.
template <class F>
bool eventually(F cond) {
  for (auto until = Clock::now() + 1s; Clock::now() < until; std::this_thread::sleep_for(2ms))
    if (cond()) return true;
  return cond();
}

}  // namespace

TEST_CASE("http server: GET and POST echoed on one keep-alive connection, pipelining, HTTP/1.0") {
  TestServer ts(quick(), echo);
  Client c(ts.server.port());
  c.send("GET /items?a=1 HTTP/1.1\r\nHost: x\r\nX-Test: t1\r\n\r\n");
  Reply r = c.response();
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "GET /items ?a=1 t1 ");
  CHECK(r.headers["content-type"] == "text/plain");
  CHECK(r.headers["x-echo"] == "yes");
  CHECK(r.headers.count("x-injected") == 0);
  CHECK(r.headers.count("x-bad") == 0);
  CHECK(r.headers.count("connection") == 0);
  CHECK(ts.server.connections() == 1);

  c.send("POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  r = c.response();
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  CHECK(r.body == "POST /in ?  hello");

  // Two requests in one write: answered in order, one at a time.
  c.send("POST /p1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabGET /p2 HTTP/1.1\r\n\r\n");
  CHECK(c.response().body == "POST /p1 ?  ab");
  CHECK(c.response().body == "GET /p2 ?  ");

  // Connection: close is honoured and the connection then closed.
  c.send("GET /last HTTP/1.1\r\nConnection: close\r\n\r\n");
  r = c.response();
  CHECK(r.body == "GET /last ?  ");
  CHECK(r.headers["connection"] == "close");
  CHECK(c.closedWithin(1000ms));
  CHECK(eventually([&] { return ts.server.connections() == 0; }));

  // HTTP/1.0 closes unless asked to keep alive.
  Client old(ts.server.port());
  old.send("GET /old HTTP/1.0\r\n\r\n");
  r = old.response();
  CHECK(r.status == 200);
  CHECK(r.body == "GET /old ?  ");
  CHECK(old.closedWithin(1000ms));

  // HEAD: the length of the GET body, no body.
  Client head(ts.server.port());
  head.send("HEAD /h HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
  r = head.response(2000ms, true);
  CHECK(r.status == 200);
  CHECK(r.headers["content-length"] == std::to_string(std::string("HEAD /h ?  ").size()));
  CHECK(head.response().body == "GET /after ?  ");
}

TEST_CASE("http server: a handler answering later from another thread, and twice") {
  std::mutex mu;
  std::vector<std::thread> workers;
  Handler late = [&](HttpRequest&& req, Respond respond) {
    std::lock_guard lock(mu);
    workers.emplace_back([path = req.path, respond = std::move(respond)] {
      std::this_thread::sleep_for(50ms);
      HttpResponse res;
      res.status = 201;
      res.body = "late " + path;
      respond(res);
      res.body = "twice " + path;
      respond(res);  // ignored
    });
  };
  {
    TestServer ts(quick(), late);
    Client c(ts.server.port());
    auto start = Clock::now();
    c.send("GET /one HTTP/1.1\r\n\r\n");
    Reply r = c.response();
    CHECK(Clock::now() - start >= 50ms);
    CHECK(r.status == 201);
    CHECK(r.body == "late /one");
    CHECK(r.headers["content-type"] == "application/json");
    // The second call of the first Respond must not reach the second request.
    c.send("GET /two HTTP/1.1\r\n\r\n");
    CHECK(c.response().body == "late /two");
  }
  for (auto& w : workers) w.join();
}

TEST_CASE("http server: a Respond dropped unanswered gives 500; a throwing handler too") {
  Handler h = [](HttpRequest&& req, Respond respond) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    (void)respond;  // dropped
  };
  TestServer ts(quick(), h);
  Client c(ts.server.port());
  c.send("GET /drop HTTP/1.1\r\n\r\n");
  Reply r = c.response();
  CHECK(r.status == 500);
  CHECK(r.body == error("the request was not answered"));
  c.send("GET /throw HTTP/1.1\r\n\r\n");
  r = c.response();
  CHECK(r.status == 500);
  CHECK(r.body == error("internal error"));
}

TEST_CASE("http server: 413 for a body over the limit, answered before the body is sent") {
  HttpServerOptions opt = quick();
  opt.maxBodyBytes = 100;
  std::atomic<int> handled{0};
  TestServer ts(opt, [&](HttpRequest&& req, Respond respond) {
    ++handled;
    echo(std::move(req), std::move(respond));
  });
  {
    Client c(ts.server.port());
    c.send("POST /big HTTP/1.1\r\nContent-Length: 101\r\n\r\n");  // and no body
    Reply r = c.response(1000ms);
    REQUIRE(r.ok);
    CHECK(r.status == 413);
    CHECK(r.body == error("request body too large"));
    CHECK(r.headers["content-type"] == "application/json");
    CHECK(r.headers["connection"] == "close");
    CHECK(c.closedWithin(1000ms));
  }
  {
    // Chunked: refused once the chunks pass the limit.
    Client c(ts.server.port());
    c.send("POST /chunks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
           std::string(64, 'a') + "\r\n40\r\n" + std::string(64, 'b') + "\r\n0\r\n\r\n");
    Reply r = c.response(1000ms);
    CHECK(r.status == 413);
  }
  {
    // Exactly at the limit is fine.
    Client c(ts.server.port());
    c.send("POST /ok HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
    Reply r = c.response();
    CHECK(r.status == 200);
    CHECK(r.body == "POST /ok ?  " + std::string(100, 'x'));
  }
  {
    // Expect: 100-continue gets its interim answer when the body is acceptable, and a 413
    // without one when it is not.
    Client c(ts.server.port());
    c.send("POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    CHECK(c.response().status == 100);
    c.send("abc");
    CHECK(c.response().body == "POST /e ?  abc");
    c.send("POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 300\r\n\r\n");
    CHECK(c.response().status == 413);
  }
  CHECK(handled == 2);
}

TEST_CASE("http server: 431 for headers over the limit, 400 for garbage") {
  HttpServerOptions opt = quick();
  opt.maxHeaderBytes = 1024;
  TestServer ts(opt, echo);
  {
    Client c(ts.server.port());
    c.send("GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'h') + "\r\n\r\n");
    Reply r = c.response();
    CHECK(r.status == 431);
    CHECK(r.body == error("request headers too large"));
    CHECK(r.headers["connection"] == "close");
    CHECK(c.closedWithin(1000ms));
  }
  {
    Client c(ts.server.port());
    c.send("GET / HTTP/1.1\r\nX-Ok: " + std::string(900, 'h') + "\r\n\r\n");
    CHECK(c.response().status == 200);
  }
  {
    Client c(ts.server.port());
    c.send("\x01\x02 garbage\r\n\r\n");
    Reply r = c.response();
    CHECK(r.status == 400);
    CHECK(r.body == error("malformed request"));
    CHECK(c.closedWithin(1000ms));
  }
}

TEST_CASE("http server: a slowloris request and an idle connection are closed") {
  HttpServerOptions opt = quick();
  opt.requestTimeout = 200ms;
  opt.idleTimeout = 400ms;
  TestServer ts(opt, echo);
  Client slow(ts.server.port());
  auto start = Clock::now();
  slow.send("GET / HTTP/1.1\r\nHost: x\r\n");  // never finished
  CHECK(slow.closedWithin(1000ms));
  auto took = Clock::now() - start;
  CHECK(took >= 190ms);
  CHECK(took < 390ms);  // the request timeout, not the idle one

  // A connection that connects and sends nothing is held to the request timeout too.
  Client silent(ts.server.port());
  start = Clock::now();
  CHECK(silent.closedWithin(1000ms));
  CHECK(Clock::now() - start >= 190ms);
  CHECK(Clock::now() - start < 390ms);

  // A keep-alive connection idle after a request: the idle timeout.
  Client idle(ts.server.port());
  idle.send("GET / HTTP/1.1\r\n\r\n");
  CHECK(idle.response().status == 200);
  start = Clock::now();
  CHECK(idle.closedWithin(1000ms));
  CHECK(Clock::now() - start >= 390ms);
  CHECK(eventually([&] { return ts.server.connections() == 0; }));
}

TEST_CASE("http server: above maxConnections a connection gets 503 and is closed") {
  HttpServerOptions opt = quick();
  opt.maxConnections = 2;
  TestServer ts(opt, echo);
  Client a(ts.server.port()), b(ts.server.port());
  REQUIRE(eventually([&] { return ts.server.connections() == 2; }));
  Client c(ts.server.port());
  c.send("GET / HTTP/1.1\r\n\r\n");
  Reply r = c.response();
  CHECK(r.status == 503);
  CHECK(r.headers["retry-after"] == "1");
  CHECK(r.headers["connection"] == "close");
  CHECK(r.body == error("too many connections"));
  CHECK(c.closedWithin(1000ms));
  CHECK(ts.server.connections() == 2);
  // The first two are served; once one leaves, a newcomer is too.
  a.send("GET /a HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(a.response().body == "GET /a ?  ");
  REQUIRE(eventually([&] { return ts.server.connections() == 1; }));
  Client d(ts.server.port());
  d.send("GET /d HTTP/1.1\r\n\r\n");
  CHECK(d.response().body == "GET /d ?  ");
}

TEST_CASE("http server: stop() answers the request in flight, closes idle ones, then returns") {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Respond> pending;
  Handler h = [&](HttpRequest&&, Respond respond) {
    std::lock_guard lock(mu);
    pending = std::move(respond);
    cv.notify_all();
  };
  HttpServer server(quick(), h);
  std::string err;
  REQUIRE(server.listen(err));
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    server.run();
    returned = true;
  });
  Client idle(server.port()), busy(server.port());
  busy.send("GET /slow HTTP/1.1\r\n\r\n");
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, 1s, [&] { return pending.has_value(); }));
  }
  std::thread([&] { server.stop(2000ms); }).join();  // from another thread
  CHECK(idle.closedWithin(500ms));
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(returned);  // the request in flight holds run()
  auto start = Clock::now();
  {
    std::lock_guard lock(mu);
    HttpResponse res;
    res.body = "done";
    (*pending)(res);
  }
  Reply r = busy.response();
  CHECK(r.status == 200);
  CHECK(r.body == "done");
  CHECK(r.headers["connection"] == "close");
  CHECK(busy.closedWithin(500ms));
  CHECK(eventually([&] { return returned.load(); }));
  CHECK(Clock::now() - start < 500ms);
  runner.join();
  // New connections are refused once stopped.
  CHECK_THROWS(Client(server.port()));
}

TEST_CASE("http server: after stop()'s grace run() returns though a handler never answers") {
  std::mutex mu;
  std::vector<Respond> kept;
  Handler h = [&](HttpRequest&&, Respond respond) {
    std::lock_guard lock(mu);
    kept.push_back(std::move(respond));
  };
  std::atomic<bool> returned{false};
  auto server = std::make_unique<HttpServer>(quick(), h);
  std::string err;
  REQUIRE(server->listen(err));
  std::thread runner([&] {
    server->run();
    returned = true;
  });
  Client c1(server->port()), c2(server->port());
  c1.send("GET /1 HTTP/1.1\r\n\r\n");
  c2.send("GET /2 HTTP/1.1\r\n\r\n");
  REQUIRE(eventually([&] {
    std::lock_guard lock(mu);
    return kept.size() == 2;
  }));
  auto start = Clock::now();
  server->stop(150ms);
  REQUIRE(eventually([&] { return returned.load(); }));
  auto took = Clock::now() - start;
  CHECK(took >= 140ms);
  CHECK(took < 600ms);
  CHECK(c1.closedWithin(500ms));
  CHECK(c2.closedWithin(500ms));
  runner.join();
  kept[0](HttpResponse{});  // after its connection closed: dropped
  server.reset();
  kept[1](HttpResponse{});  // after the server is gone: dropped too
  kept.clear();             // and dropping them is harmless
}

TEST_CASE("http server: the path is percent-decoded, the query left raw") {
  TestServer ts(quick(), echo);
  Client c(ts.server.port());
  c.send("GET /a%20b%2Fc%C3%A9?q=%20x+y HTTP/1.1\r\n\r\n");
  CHECK(c.response().body == "GET /a b/c\xC3\xA9 ?q=%20x+y  ");
  for (const char* bad : {"/nul%00", "/bad%zz", "/short%4", "/end%"}) {
    CAPTURE(bad);
    c.send(std::string("GET ") + bad + " HTTP/1.1\r\n\r\n");
    Reply r = c.response();
    CHECK(r.status == 400);
    CHECK(r.body == error("malformed percent-encoding in path"));
  }
  // The connection survives a bad path.
  c.send("GET /fine HTTP/1.1\r\n\r\n");
  CHECK(c.response().body == "GET /fine ?  ");
}

TEST_CASE("http server: listen fails with a clear message") {
  TestServer ts(quick(), echo);
  HttpServerOptions opt;
  opt.port = ts.server.port();
  HttpServer second(opt, echo);
  std::string err;
  CHECK_FALSE(second.listen(err));
  CHECK(err ==
        "cannot listen on 127.0.0.1:" + std::to_string(opt.port) + ": Address already in use");
}

}  // namespace trig::serve
