// `trig serve`: routes, auth, start-up and shutdown (service.h).
#include "runtime/serve/service.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/deliver/render.h"
#include "runtime/serve/dashboard.h"
#include "runtime/serve/delivery.h"
#include "runtime/serve/http_server.h"
#include "runtime/serve/ingest_api.h"
#include "runtime/serve/tracking.h"

namespace trig::serve {
namespace {

TimeMs wallNow() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// A 1x1 transparent GIF.
constexpr unsigned char kGif[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04,
                                  0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01,
                                  0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

HttpResponse json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// {"success":false,"errors":[{"index":N,"reason":"..."}]}
HttpResponse failure(int status, const std::vector<BodyError>& errors) {
  std::string body = "{\"success\":false,\"errors\":[";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i) body += ',';
    body += "{\"index\":" + std::to_string(errors[i].index) + ",\"reason\":";
    deliver::appendJsonString(body, errors[i].reason);
    body += '}';
  }
  return json(status, body + "]}");
}

HttpResponse failure(int status, const std::string& reason) {
  return failure(status, std::vector<BodyError>{{0, reason, ""}});
}

bool equalKeys(std::string_view a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The user name and password of `Authorization: Basic base64(user:password)`, or the token of
// `Bearer T` (as the user name).
std::pair<std::string, std::string> credentials(const HttpRequest& req) {
  std::string_view h = req.header("authorization");
  if (h.starts_with("Bearer ")) return {std::string(h.substr(7)), ""};
  if (!h.starts_with("Basic ")) return {};
  std::string_view b64 = h.substr(6);
  while (!b64.empty() && b64.back() == ' ') b64.remove_suffix(1);
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 4096) return {};
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return {};
  size_t len = static_cast<size_t>(n);
  for (size_t i = b64.size(); i > 0 && b64[i - 1] == '='; --i) --len;  // the padding's bytes
  out.resize(len);
  size_t colon = out.find(':');
  if (colon == std::string::npos) return {out, ""};
  return {out.substr(0, colon), out.substr(colon + 1)};
}

// The user name of `Authorization: Basic base64(user:password)`, or the token of `Bearer T`.
std::string credential(const HttpRequest& req) {
  return credentials(req).first;
}

const char* kindName(const Event& e) {
  switch (e.kind) {
    case Event::Kind::Track: return "track";
    case Event::Kind::Identify: return "identify";
    case Event::Kind::Undeclared: return "undeclared";
    case Event::Kind::Alias: return "alias";
  }
  return "track";
}

HttpResponse gifResponse() {
  HttpResponse gif;
  gif.contentType = "image/gif";
  gif.body.assign(reinterpret_cast<const char*>(kGif), sizeof kGif);
  gif.headers.emplace_back("Cache-Control", "no-store");
  return gif;
}

HttpResponse page(int status, std::string_view title, std::string_view body) {
  HttpResponse r;
  r.status = status;
  r.contentType = "text/html; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width\"><title>" +
      std::string(title) + "</title></head><body style=\"font-family:sans-serif\">" +
      std::string(body) + "</body></html>";
  return r;
}

// The ids of a track call for `customer` ("anon:X" is the anonymous visitor X).
void appendIds(std::string& json, const std::string& customer) {
  if (customer.starts_with("anon:")) {
    json += "\"anonymousId\":";
    deliver::appendJsonString(json, std::string_view(customer).substr(5));
  } else {
    json += "\"userId\":";
    deliver::appendJsonString(json, customer);
  }
}

// The track call of a tracking event: `{"type":"track","event":NAME,"userId":...,"properties":
// {"message_id":...,"rule":...,"step":N,"variant":...[,"url":...]}}` (the prelude declares
// message_id, rule and url; step and variant are extra properties, ignored by the decoder).
std::string trackingEvent(const char* name, const TrackingTarget& t) {
  std::string json = "{\"type\":\"track\",\"event\":\"" + std::string(name) + "\",";
  appendIds(json, t.customer);
  json += ",\"properties\":{\"message_id\":";
  deliver::appendJsonString(json, t.messageId);
  if (name != std::string_view("unsubscribe")) {
    json += ",\"rule\":";
    deliver::appendJsonString(json, t.rule);
    json += ",\"step\":" + std::to_string(t.step);
    json += ",\"variant\":";
    deliver::appendJsonString(json, t.variant);
    if (t.kind == TrackingTarget::Kind::Click) {
      json += ",\"url\":";
      deliver::appendJsonString(json, t.url);
    }
  }
  return json + "}}";
}

struct Service {
  Service(const ServiceOptions& o, std::shared_ptr<const RuleSet> r, RuleLoader l, std::ostream& e)
      : opt(o), diskRules(std::move(r)), current(diskRules), loader(std::move(l)), err(e) {}

  const ServiceOptions& opt;
  std::shared_ptr<const RuleSet> diskRules;  // as compiled at start
  std::shared_ptr<const RuleSet> current;    // in force (the core says when it changes)
  std::mutex rulesMu;                        // guards `current` and the decoders
  RuleLoader loader;
  std::mutex reloadMu;  // one reload at a time
  std::mutex reloadThreadsMu;
  std::vector<std::thread> reloadThreads;  // joined at the end
  std::ostream& err;
  Keys keys;
  Metrics metrics;
  std::unique_ptr<Store> store;
  std::unique_ptr<Core> core;
  std::unique_ptr<Delivery> delivery;
  std::unique_ptr<HttpServer> http;
  std::atomic<bool> ready{false};
  std::mutex logMu;
  // Decoders of the rules in force, one per request being validated; with the rules they read.
  struct PooledDecoder {
    std::shared_ptr<const RuleSet> rules;
    std::unique_ptr<ingest::Decoder> decoder;
  };
  std::vector<PooledDecoder> decoders;

  void log(const std::string& msg) {
    std::lock_guard lock(logMu);
    if (opt.logJson) {
      std::string line = "{\"time\":\"" + formatTimestamp(wallNow()) + "\",\"msg\":";
      deliver::appendJsonString(line, msg);
      err << line << "}\n";
    } else {
      err << "trig serve: " << msg << "\n";
    }
    err.flush();
  }

  std::shared_ptr<const RuleSet> rulesInForce() {
    std::lock_guard lock(rulesMu);
    return current;
  }
  PooledDecoder takeDecoder() {
    std::lock_guard lock(rulesMu);
    if (decoders.empty())
      return {current, std::make_unique<ingest::Decoder>(current->program->ingest)};
    PooledDecoder d = std::move(decoders.back());
    decoders.pop_back();
    return d;
  }
  void giveDecoder(PooledDecoder d) {
    std::lock_guard lock(rulesMu);
    if (d.rules == current) decoders.push_back(std::move(d));
  }
  // From the core's thread: a rule set came into force.
  void rulesChanged(std::shared_ptr<const RuleSet> r) {
    std::lock_guard lock(rulesMu);
    current = std::move(r);
    decoders.clear();
  }

  // The dashboard's pages are made on a thread of their own (each replays the log), one at a
  // time, at most kDashboardQueue waiting.
  static constexpr size_t kDashboardQueue = 16;
  std::mutex dashMu;
  std::condition_variable dashCv;
  std::deque<std::function<void()>> dashJobs;
  bool dashStop = false;
  std::thread dashThread;
  void dashboard(const HttpRequest& req, Respond respond);
  void dashboardLoop();
  void stopDashboard() {
    {
      std::lock_guard lock(dashMu);
      dashStop = true;
    }
    dashCv.notify_all();
    if (dashThread.joinable()) dashThread.join();
  }

  void handle(HttpRequest&& req, Respond respond);
  void ingest(Call call, const HttpRequest& req, Respond respond);
  void pixel(const HttpRequest& req, Respond respond);
  // Submits one track call (JSON text) exactly as POST /v1/track would; answers `ok` when it is
  // durable. `always`: answer `ok` once it is queued, without waiting for the write, and also
  // when it is rejected or cannot be queued (an open pixel, a click: the reader gets the image or
  // the page whatever becomes of the event).
  // When the answer goes out: once the event is durable (its status then says whether it is),
  // always `ok` once it is durable (the open pixel), or `ok` as soon as it is queued (a click).
  enum class TrackAnswer : uint8_t { WhenDurable, AlwaysWhenDurable, AtOnce };
  void track(std::string body, Respond respond, HttpResponse ok, TrackAnswer answer);
  void tracking(const HttpRequest& req, Respond respond);
  void bounce(const std::string& payload, const std::string& detail);
  void submit(Submission s, std::vector<BodyError> errors, Respond respond, HttpResponse ok);
  void clock(const HttpRequest& req, Respond respond);
  void reload(Respond respond);
  HttpResponse rulesInfo();
  int start();
};

void Service::submit(Submission s, std::vector<BodyError> errors, Respond respond,
                     HttpResponse ok) {
  if (!errors.empty()) {
    metrics.add("trig_events_rejected_total", {}, errors.size());
    // One line per request with rejections (a flood of bad events is one line a request).
    log("dead letter: " + std::to_string(errors.size()) + " event(s) rejected, the first (index " +
        std::to_string(errors.front().index) + "): " + errors.front().reason);
  }
  s.done = [respond, errors, ok](const std::string& error) {
    if (!error.empty()) return respond(failure(500, "cannot store the events: " + error));
    respond(errors.empty() ? ok : failure(400, errors));
  };
  switch (core->submit(std::move(s))) {
    case Core::Accept::Queued: return;
    case Core::Accept::Busy: {
      HttpResponse r = failure(503, "the service is overloaded; retry later");
      r.headers.emplace_back("Retry-After", "1");
      return respond(r);
    }
    case Core::Accept::Backwards: return respond(failure(409, "the clock cannot go back"));
  }
}

void Service::ingest(Call call, const HttpRequest& req, Respond respond) {
  ParsedBody p = parseBody(call, req.body);
  if (p.status == 413) return respond(failure(413, p.errors));
  Submission s;
  std::vector<BodyError> errors = p.errors;
  const TimeMs now = wallNow();
  for (const BodyError& e : p.errors) s.dead.push_back({0, now, e.reason, e.raw});
  PooledDecoder pooled = takeDecoder();
  ingest::Decoder* decoder = pooled.decoder.get();
  Event ev;
  std::string reason;
  for (size_t i = 0; i < p.items.size(); ++i) {
    if (decoder->decode(p.items[i], ev, reason, now)) {
      s.events.push_back(std::move(p.items[i]));
      s.types.emplace_back(kindName(ev));
      continue;
    }
    errors.push_back({p.indexes[i], reason, ""});
    s.dead.push_back({0, now, reason, p.items[i]});
    // An opt-out that cannot be read still opts out (docs/language.md, "Opt-out").
    if (decoder->failedClosed()) {
      s.events.push_back(std::move(p.items[i]));
      s.types.emplace_back("identify");
    }
  }
  giveDecoder(std::move(pooled));
  std::sort(errors.begin(), errors.end(),
            [](const BodyError& a, const BodyError& b) { return a.index < b.index; });
  submit(std::move(s), std::move(errors), std::move(respond), json(200, "{\"success\":true}"));
}

void Service::pixel(const HttpRequest& req, Respond respond) {
  std::string error;
  std::string event = pixelEvent(req.query, error);
  if (event.empty()) return respond(failure(400, error));
  // The same path as /v1/track, with the GIF for an answer.
  track(std::move(event), std::move(respond), gifResponse(), TrackAnswer::WhenDurable);
}

void Service::track(std::string body, Respond respond, HttpResponse ok, TrackAnswer answer) {
  std::string error;
  ParsedBody p = parseBody(Call::Track, body);
  Submission s;
  std::vector<BodyError> errors = p.errors;
  PooledDecoder pooled = takeDecoder();
  ingest::Decoder* decoder = pooled.decoder.get();
  Event ev;
  const TimeMs now = wallNow();
  for (size_t i = 0; i < p.items.size(); ++i) {
    if (decoder->decode(p.items[i], ev, error, now)) {
      s.events.push_back(p.items[i]);
      s.types.emplace_back("track");
    } else {
      errors.push_back({0, error, ""});
      s.dead.push_back({0, now, error, p.items[i]});
    }
  }
  giveDecoder(std::move(pooled));
  if (answer == TrackAnswer::WhenDurable)
    return submit(std::move(s), std::move(errors), std::move(respond), std::move(ok));
  if (answer == TrackAnswer::AlwaysWhenDurable) {
    // The open pixel: a GIF whatever happens, once the event is durable (a 200 is durable:
    // docs/serve.md, "Durability").
    submit(
        std::move(s), std::move(errors),
        [this, respond, ok](const HttpResponse& r) {
          if (r.status != 200) log("a tracking event was not recorded: " + r.body);
          respond(ok);
        },
        ok);
    return;
  }
  // A click's redirect does not wait for the event's synced write (it answers in well under a
  // millisecond; docs/performance.md, "Click redirect"): queued first, so that anything the same
  // client sends next comes after it in the log, then answered. A 302 is not a 200: an
  // acknowledged event is never lost, a click just before a kill -9 may be. The callback gets a
  // 200 once the event is durable (not the redirect, which is no 200: every click logged a line).
  submit(
      std::move(s), std::move(errors),
      [this](const HttpResponse& r) {
        if (r.status != 200) log("a tracking event was not recorded: " + r.body);
      },
      json(200, ""));
  respond(std::move(ok));
}

// GET /o/TOKEN.gif, GET /c/TOKEN, GET and POST /u/TOKEN (docs/serve.md, "Engagement
// tracking"). No key: the token is the credential, and everything acted on comes out of it.
void Service::tracking(const HttpRequest& req, Respond respond) {
  const char k = req.path[1];
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool record = req.method == "GET";  // a HEAD answers the same and records nothing
  std::string_view token = std::string_view(req.path).substr(3);
  const std::string& secret = keys.tracking;
  auto labels = [](const TrackingTarget& t) {
    return Metrics::Labels{{"rule", t.rule}, {"variant", t.variant}};
  };
  if (k == 'o') {
    if (!get) return respond(failure(405, "use GET"));
    std::optional<TrackingTarget> t;
    if (token.ends_with(".gif"))
      t = openToken(token.substr(0, token.size() - 4), secret, TrackingTarget::Kind::Open);
    if (!t) {
      metrics.add("trig_tracking_invalid_total", {{"kind", "open"}});
      return respond(gifResponse());
    }
    if (!record) return respond(gifResponse());
    metrics.add("trig_opens_total", labels(*t));
    return track(trackingEvent("email_open", *t), std::move(respond), gifResponse(),
                 TrackAnswer::AlwaysWhenDurable);
  }
  if (k == 'c') {
    if (!get) return respond(failure(405, "use GET"));
    std::optional<TrackingTarget> t = openToken(token, secret, TrackingTarget::Kind::Click);
    if (!t) {
      metrics.add("trig_tracking_invalid_total", {{"kind", "click"}});
      return respond(page(400, "Invalid link", "<p>This link is not valid.</p>"));
    }
    HttpResponse redirect;
    redirect.status = 302;
    redirect.contentType = "text/plain; charset=utf-8";
    redirect.headers.emplace_back("Location", t->url);
    redirect.headers.emplace_back("Cache-Control", "no-store");
    if (!record) return respond(redirect);
    metrics.add("trig_clicks_total", labels(*t));
    return track(trackingEvent("email_click", *t), std::move(respond), redirect,
                 TrackAnswer::AtOnce);
  }
  // 'u'
  const bool post = req.method == "POST";
  if (!get && !post) return respond(failure(405, "use GET or POST"));
  std::optional<TrackingTarget> t = openToken(token, secret, TrackingTarget::Kind::Unsubscribe);
  if (!t) {
    metrics.add("trig_tracking_invalid_total", {{"kind", "unsubscribe"}});
    return respond(page(400, "Invalid link", "<p>This unsubscribe link is not valid.</p>"));
  }
  // GET changes nothing (link scanners prefetch GETs): a page whose button POSTs here.
  if (get)
    return respond(page(200, "Unsubscribe",
                        "<p>Unsubscribe from these emails?</p><form method=\"post\" action=\"" +
                            req.path + "\"><button type=\"submit\">Unsubscribe</button></form>"));
  HttpResponse done = page(200, "Unsubscribed", "<p>You are unsubscribed.</p>");
  Metrics::Labels l = labels(*t);
  track(
      trackingEvent("unsubscribe", *t),
      [this, respond, l](const HttpResponse& r) {
        if (r.status == 200) metrics.add("trig_unsubscribes_total", l);
        respond(r.status == 200 ? r
                                : page(r.status == 503 ? 503 : 500, "Try again",
                                       "<p>The unsubscribe could not be recorded; please try "
                                       "again.</p>"));
      },
      done, TrackAnswer::WhenDurable);
}

// From a delivery thread: the server refused a message for good. The bounce is a passive
// `email_bounce` event of the customer, submitted as an ingested one.
void Service::bounce(const std::string& payload, const std::string& detail) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object() || !j.contains("customer") || !j["customer"].is_string() ||
      !j.contains("message_id") || !j["message_id"].is_string())
    return;
  std::string customer = j["customer"].get<std::string>();
  std::string rule =
      j.contains("rule") && j["rule"].is_string() ? j["rule"].get<std::string>() : "";
  std::string variant =
      j.contains("variant") && j["variant"].is_string() ? j["variant"].get<std::string>() : "";
  metrics.add("trig_bounces_total", {{"rule", rule}, {"variant", variant}});
  std::string event = "{\"type\":\"track\",\"event\":\"email_bounce\",";
  appendIds(event, customer);
  event += ",\"properties\":{\"message_id\":";
  deliver::appendJsonString(event, j["message_id"].get<std::string>());
  event += ",\"kind\":\"hard\",\"detail\":";
  deliver::appendJsonString(event, detail.substr(0, 200));
  event += "}}";
  track(
      std::move(event),
      [this, id = j["message_id"].get<std::string>()](const HttpResponse& r) {
        if (r.status != 200) log("the bounce of " + id + " was not recorded: " + r.body);
      },
      json(200, ""), TrackAnswer::WhenDurable);
}

void Service::clock(const HttpRequest& req, Respond respond) {
  if (!opt.manualClock)
    return respond(failure(409, "the clock is the wall clock (start with --clock manual)"));
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  std::optional<TimeMs> t;
  if (body.is_object() && body.contains("now") && body["now"].is_string())
    t = parseTimestamp(body["now"].get<std::string>());
  if (!t) return respond(failure(400, "the body must be {\"now\":\"RFC 3339 time\"}"));
  Submission s;
  s.clock = t;
  std::string answer = "{\"success\":true,\"now\":\"" + formatTimestamp(*t) + "\"}";
  submit(std::move(s), {}, std::move(respond), json(200, answer));
}

HttpResponse Service::rulesInfo() {
  std::shared_ptr<const RuleSet> rules = rulesInForce();
  std::string body = "{\"version\":\"" + rules->version + "\",\"rules\":[";
  for (size_t i = 0; i < rules->program->plan.rules.size(); ++i) {
    if (i) body += ',';
    deliver::appendJsonString(body, rules->program->plan.rules[i].name);
  }
  return json(200, body + "]}");
}

// Compiles the rule files again (in a thread of its own: a compile must not hold up the I/O
// thread) and, when they check clean, puts them in force between two log entries.
void Service::reload(Respond respond) {
  std::lock_guard threads(reloadThreadsMu);
  reloadThreads.emplace_back([this, respond] {
    std::lock_guard lock(reloadMu);
    std::string diagnostics;
    std::shared_ptr<const RuleSet> next = loader(nullptr, diagnostics);
    if (!next) {
      log("reload refused, the old rules keep running:\n" + diagnostics);
      return respond(failure(400, "the rules do not check clean:\n" + diagnostics));
    }
    Submission s;
    s.rules = next;
    std::string answer = "{\"success\":true,\"version\":\"" + next->version + "\"}";
    log("reloading: rules " + next->version);
    submit(std::move(s), {}, respond, json(200, answer));
  });
}

void Service::dashboardLoop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(dashMu);
      dashCv.wait(lock, [this] { return dashStop || !dashJobs.empty(); });
      if (dashJobs.empty()) return;
      job = std::move(dashJobs.front());
      dashJobs.pop_front();
    }
    job();
  }
}

// GET / and the other dashboard pages (dashboard.h), behind the admin key: the HTTP Basic user
// name or password (a browser asks for them after the 401's WWW-Authenticate) or a Bearer token.
void Service::dashboard(const HttpRequest& req, Respond respond) {
  auto [user, password] = credentials(req);
  if (!equalKeys(user, keys.admin) && !equalKeys(password, keys.admin)) {
    HttpResponse r = page(401, "Unauthorized",
                          "<p>The dashboard takes the admin key, as the user name or the "
                          "password.</p>");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"trig dashboard\", charset=\"UTF-8\"");
    return respond(r);
  }
  if (req.method != "GET" && req.method != "HEAD") return respond(failure(405, "use GET"));
  std::lock_guard lock(dashMu);
  if (dashJobs.size() >= kDashboardQueue) {
    HttpResponse r = failure(503, "the dashboard is busy; retry later");
    r.headers.emplace_back("Retry-After", "1");
    return respond(r);
  }
  dashJobs.emplace_back([this, path = req.path, query = req.query, respond] {
    const DashboardHooks& hooks = opt.dashboard;
    DashboardPage p = dashboardPage(path, query, *rulesInForce(), *store, hooks);
    HttpResponse r;
    r.status = p.status;
    r.contentType = "text/html; charset=utf-8";
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                           "form-action 'self'");
    r.body = std::move(p.html);
    respond(std::move(r));
  });
  dashCv.notify_one();
}

void Service::handle(HttpRequest&& req, Respond respond) {
  const std::string& path = req.path;
  const bool post = req.method == "POST", get = req.method == "GET" || req.method == "HEAD";
  auto counted = [this, path, respond](HttpResponse r) {
    metrics.add("trig_http_requests_total", {{"status", std::to_string(r.status)}});
    respond(std::move(r));
  };
  if (path == "/healthz" && get) return counted(json(200, "{\"status\":\"ok\"}"));
  if (path == "/readyz" && get)
    return counted(ready ? json(200, "{\"ready\":true}") : json(503, "{\"ready\":false}"));
  if (path == "/metrics" && get) {
    metrics.set("trig_outbox_backlog", static_cast<double>(delivery->backlog()));
    metrics.set("trig_http_connections", static_cast<double>(http->connections()));
    HttpResponse r = json(200, metrics.render());
    r.contentType = "text/plain; version=0.0.4";
    return counted(r);
  }
  static const std::pair<const char*, Call> kIngest[] = {{"/v1/track", Call::Track},
                                                         {"/v1/identify", Call::Identify},
                                                         {"/v1/page", Call::Page},
                                                         {"/v1/batch", Call::Batch}};
  for (const auto& [route, call] : kIngest) {
    if (path != route) continue;
    if (!post) return counted(failure(405, "use POST"));
    if (!equalKeys(credential(req), keys.write))
      return counted(failure(401, "the write key is missing or wrong (HTTP Basic user name)"));
    return ingest(call, req, counted);
  }
  if (path == "/v1/pixel.gif") {
    if (!get) return counted(failure(405, "use GET"));
    std::string k;
    for (size_t at = 0; at < req.query.size();) {
      size_t amp = req.query.find('&', at);
      std::string_view pair(req.query.data() + at,
                            (amp == std::string::npos ? req.query.size() : amp) - at);
      // `k`, or Segment's own name for it.
      if (pair.starts_with("k=")) percentDecode(pair.substr(2), k);
      if (pair.starts_with("writeKey=")) percentDecode(pair.substr(9), k);
      at = amp == std::string::npos ? req.query.size() : amp + 1;
    }
    if (!equalKeys(k, keys.write) && !equalKeys(credential(req), keys.write))
      return counted(failure(401, "the write key is missing or wrong (k=KEY)"));
    return pixel(req, counted);
  }
  if (path.size() > 3 && path[0] == '/' && (path[1] == 'o' || path[1] == 'c' || path[1] == 'u') &&
      path[2] == '/')
    return tracking(req, counted);
  if (path.starts_with("/v1/admin/")) {
    if (!equalKeys(credential(req), keys.admin))
      return counted(failure(401, "the admin key is missing or wrong"));
    if (path == "/v1/admin/clock" && post) return clock(req, counted);
    if (path == "/v1/admin/clock" && get)
      return counted(json(200, "{\"now\":\"" + formatTimestamp(core->clock()) + "\"}"));
    if (path == "/v1/admin/rules" && get) return counted(rulesInfo());
    if (path == "/v1/admin/drain" && post) {
      bool idle = delivery->waitIdle(std::chrono::seconds(10));
      return counted(idle ? json(200, "{\"success\":true}")
                          : failure(503, "deliveries are still pending after 10 s"));
    }
    if (path == "/v1/admin/reload" && post) return reload(counted);
  }
  if (isDashboardPath(path)) return dashboard(req, counted);
  counted(failure(404, "no such endpoint: " + req.method + " " + path));
}

// Blocks SIGTERM, SIGINT and SIGHUP in every thread; one thread waits for them.
sigset_t serviceSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

int Service::start() {
  std::string error;
  store = Store::open(opt.dataDir, error);
  if (!store) return err << "trig serve: " << error << "\n", 2;
  if (!loadKeys(opt.dataDir, keys, error)) return err << "trig serve: " << error << "\n", 2;
  if (opt.printKeys) {
    std::cout << "write=" << keys.write << "\nadmin=" << keys.admin
              << "\ntracking=" << keys.tracking << "\n";
    return 0;
  }
  std::function<std::unique_ptr<Transport>()> transport;
  TransportOptions to;
  DeliveryOptions dopt;
  // Shorter delivery timings for tests and staging (docs/serve.md, "Delivery").
  if (const char* v = std::getenv("TRIG_DELIVERY_TIMEOUT_MS"); v && std::atoll(v) > 0)
    to.timeout = to.connectTimeout = std::chrono::milliseconds(std::atoll(v));
  if (const char* v = std::getenv("TRIG_DELIVERY_RETRY_BASE_MS"); v && std::atoll(v) > 0)
    dopt.retryBase = std::chrono::milliseconds(std::atoll(v));
  if (opt.deliver == "outbox") {
    std::string path = opt.dataDir + "/outbox.jsonl";
    if (!makeOutboxFileTransport(path, error)) return err << "trig serve: " << error << "\n", 2;
    transport = [path] {
      std::string e;
      return makeOutboxFileTransport(path, e);
    };
  } else {
    bool smtp = opt.deliver.starts_with("smtp://") || opt.deliver.starts_with("smtps://");
    auto make = smtp ? makeSmtpTransport : makeWebhookTransport;
    if (!make(opt.deliver, to, error))
      return err << "trig serve: " << error << "\n", 2;  // names the URL, password masked
    transport = [make, url = opt.deliver, to] {
      std::string e;
      return make(url, to, e);
    };
  }
  dopt.threads = opt.deliveryThreads;
  delivery = std::make_unique<Delivery>(*store, transport, metrics, dopt,
                                        [this](const std::string& m) { log(m); });

  HttpServerOptions hopt;
  auto colon = opt.listen.rfind(':');
  hopt.host = opt.listen.substr(0, colon);
  int port = colon == std::string::npos ? -1 : std::atoi(opt.listen.c_str() + colon + 1);
  if (port < 0 || port > 65535 || hopt.host.empty())
    return err << "trig serve: --listen '" << opt.listen << "' is not HOST:PORT\n", 2;
  hopt.port = static_cast<uint16_t>(port);
  if (hopt.host.size() > 2 && hopt.host.front() == '[')
    hopt.host = hopt.host.substr(1, hopt.host.size() - 2);
  http = std::make_unique<HttpServer>(
      hopt, [this](HttpRequest&& r, Respond respond) { handle(std::move(r), std::move(respond)); });
  if (!http->listen(error)) return err << "trig serve: " << error << "\n", 2;
  CoreOptions copt;
  copt.manualClock = opt.manualClock;
  copt.from = opt.from;
  copt.trackingSecret = keys.tracking;
  copt.publicUrl = opt.publicUrl.empty() ? "http://" + opt.listen.substr(0, colon) + ":" +
                                               std::to_string(http->port())
                                         : opt.publicUrl;
  while (copt.publicUrl.ends_with('/')) copt.publicUrl.pop_back();
  delivery->onBounce(
      [this](const std::string& payload, const std::string& detail) { bounce(payload, detail); });
  core = std::make_unique<Core>(
      *store, diskRules, loader, copt, metrics,
      [this](OutboxEntry e) { delivery->enqueue(std::move(e)); },
      [this](std::shared_ptr<const RuleSet> r) { rulesChanged(std::move(r)); },
      [this](const std::string& m) { log(m); });

  blockServiceSignals();
  sigset_t signals = serviceSignals();
  // HTTP answers from here on: /healthz while the log replays, /readyz 503 until it is done;
  // events posted meanwhile wait in the core's queue.
  std::thread httpThread([this] { http->run(); });
  dashThread = std::thread([this] { dashboardLoop(); });
  std::thread signalThread([this, signals] {
    for (;;) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (sig == SIGHUP) {
        reload([](const HttpResponse&) {});
        continue;
      }
      log(std::string("stopping (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")");
      http->stop();
      return;
    }
  });
  if (!delivery->loadPending(error) || !core->recover(error)) {
    err << "trig serve: " << error << "\n";
    // Ends the signal thread's sigwait (SIGTERM is blocked in every thread, so it is taken
    // there, not delivered): it stops HTTP and returns.
    // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread)
    pthread_kill(signalThread.native_handle(), SIGTERM);
    signalThread.join();
    httpThread.join();
    stopDashboard();
    return 2;
  }
  delivery->start();
  std::thread coreThread([this] { core->run(); });
  ready = true;
  log("listening on http://" + opt.listen.substr(0, colon) + ":" + std::to_string(http->port()) +
      " (rules " + rulesInForce()->version + ", clock " + (opt.manualClock ? "manual" : "wall") +
      ", deliver " +
      (opt.deliver.starts_with("smtp") ? "smtp"
       : opt.deliver == "outbox"       ? "outbox"
                                       : "webhook") +
      ")");
  httpThread.join();
  stopDashboard();
  {
    std::lock_guard lock(reloadThreadsMu);
    for (std::thread& t : reloadThreads) t.join();
  }
  core->stop();
  coreThread.join();
  delivery->stop();
  signalThread.join();
  log("stopped");
  return 0;
}

}  // namespace

void blockServiceSignals() {
  sigset_t signals = serviceSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int runService(const ServiceOptions& options, std::shared_ptr<const RuleSet> rules,
               RuleLoader loader, std::ostream& err) {
  Service s(options, std::move(rules), std::move(loader), err);
  return s.start();
}

}  // namespace trig::serve
