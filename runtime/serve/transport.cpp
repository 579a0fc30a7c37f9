// The delivery transports (transport.h): SMTP and a webhook, each one libcurl easy handle that
// is reused between sends (so connections are too), and the jittered retry delay. A transport's
// send() takes a lock, so calls from several threads wait for each other; a delivery thread
// that wants to send in parallel uses a transport of its own.
#include "runtime/serve/transport.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <string_view>

namespace trig::serve {

namespace {

constexpr std::size_t kDetailBody = 200;  // bytes of a webhook's answer kept in the detail
constexpr std::size_t kReplyLimit = 512;  // bytes of an SMTP reply kept in the detail

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;
// `line` at the end of `list` (libcurl's append returns the head: a new one for an empty list;
// on failure the line is missing and the send fails on what it lacks).
void append(Slist& list, const std::string& line) {
  curl_slist* head = curl_slist_append(list.get(), line.c_str());
  if (!list) list.reset(head);
}
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// `url` for messages: the password, if any, replaced by "***".
std::string redacted(const std::string& url) {
  std::size_t start = url.find("://");
  if (start == std::string::npos) return url;
  start += 3;
  std::size_t end = url.find_first_of("/?#", start);
  std::size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < start) return url;
  std::size_t colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// The parts of a URL that a transport uses, as libcurl reads them (so that what is accepted
// here is what libcurl will do), user and password percent-decoded.
struct UrlParts {
  std::string scheme, host, port, path, query, fragment, user, password;
  bool hasUser = false, hasPassword = false;
};

// A part of `u` ("" when absent, and `present` false); false when libcurl cannot give it.
bool urlPart(CURLU* u, CURLUPart part, unsigned flags, std::string& out, bool* present) {
  char* v = nullptr;
  CURLUcode rc = curl_url_get(u, part, &v, flags);
  out = v != nullptr ? v : "";
  curl_free(v);
  if (present != nullptr) *present = rc == CURLUE_OK;
  return rc == CURLUE_OK || rc == CURLUE_NO_SCHEME || rc == CURLUE_NO_USER ||
         rc == CURLUE_NO_PASSWORD || rc == CURLUE_NO_HOST || rc == CURLUE_NO_PORT ||
         rc == CURLUE_NO_QUERY || rc == CURLUE_NO_FRAGMENT;
}

bool fail(std::string& error, std::string message) {
  error = std::move(message);
  return false;
}

// `url` split into its parts; false with "--deliver URL: what is wrong" in `error`.
bool parseUrl(const std::string& url, UrlParts& p, std::string& error) {
  std::string shown = "--deliver " + redacted(url) + ": ";
  // Only a URL with its scheme: libcurl would otherwise guess one from the host name.
  if (url.find("://") == std::string::npos) return fail(error, shown + "missing scheme");
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) return fail(error, shown + "out of memory");
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) return fail(error, shown + curl_url_strerror(rc));
  bool ok = urlPart(u.get(), CURLUPART_SCHEME, 0, p.scheme, nullptr) &&
            urlPart(u.get(), CURLUPART_HOST, 0, p.host, nullptr) &&
            urlPart(u.get(), CURLUPART_PORT, 0, p.port, nullptr) &&
            urlPart(u.get(), CURLUPART_PATH, 0, p.path, nullptr) &&
            urlPart(u.get(), CURLUPART_QUERY, 0, p.query, nullptr) &&
            urlPart(u.get(), CURLUPART_FRAGMENT, 0, p.fragment, nullptr) &&
            urlPart(u.get(), CURLUPART_USER, CURLU_URLDECODE, p.user, &p.hasUser) &&
            urlPart(u.get(), CURLUPART_PASSWORD, CURLU_URLDECODE, p.password, &p.hasPassword);
  if (!ok) return fail(error, shown + "cannot read the URL");
  if (p.host.empty()) return fail(error, shown + "missing host");
  return true;
}

// The address inside a mailbox, in angle brackets as MAIL FROM and RCPT TO want it:
// "Shop <shop@x>" and "shop@x" are both "<shop@x>".
std::string envelopeAddress(std::string_view mailbox) {
  std::size_t lt = mailbox.rfind('<');
  if (lt != std::string_view::npos) {
    mailbox.remove_prefix(lt + 1);
    mailbox = mailbox.substr(0, mailbox.find('>'));
  }
  while (!mailbox.empty() && (mailbox.front() == ' ' || mailbox.front() == '\t'))
    mailbox.remove_prefix(1);
  while (!mailbox.empty() && (mailbox.back() == ' ' || mailbox.back() == '\t'))
    mailbox.remove_suffix(1);
  return "<" + std::string(mailbox) + ">";
}

// Whether a mailbox's address can go on an SMTP command line as it is: a CR or LF anywhere in
// the mailbox (not only in the address, which "a@b\r\nX <evil@c>" would hide) could add
// commands of its own, or make another recipient.
bool usableMailbox(std::string_view mailbox, std::string_view envelope) {
  auto control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; };
  if (std::any_of(mailbox.begin(), mailbox.end(), control) || envelope.size() <= 2) return false;
  return std::none_of(envelope.begin() + 1, envelope.end() - 1,
                      [](char c) { return c == '<' || c == '>'; });
}

// The options both transports set once on their handle.
void commonOptions(CURL* c, const TransportOptions& o, char* errorBuffer) {
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM from threads other than main
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connectTimeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout.count()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errorBuffer);
}

// What libcurl said went wrong: its error buffer, or the code's text.
std::string curlError(CURLcode rc, const char* errorBuffer) {
  return errorBuffer[0] != '\0' ? std::string(errorBuffer) : curl_easy_strerror(rc);
}

// The formatted message as libcurl reads it for DATA (libcurl does the dot-stuffing).
struct Upload {
  const std::string* data;
  std::size_t at = 0;
};

std::size_t readUpload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* u = static_cast<Upload*>(user);
  std::size_t n = std::min(size * count, u->data->size() - u->at);
  std::copy_n(u->data->data() + u->at, n, buffer);
  u->at += n;
  return n;
}

// What the server said, which libcurl only shows in its debug output: its last reply line, and
// its last refusal (4xx or 5xx: libcurl sends QUIT after one, so "221 Bye" comes last).
struct Replies {
  std::string last, refusal;
};

int keepReply(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  std::string_view line(data, std::min(size, kReplyLimit));
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.empty()) return 0;
  auto* r = static_cast<Replies*>(user);
  r->last.assign(line);
  if (line[0] == '4' || line[0] == '5') r->refusal.assign(line);
  return 0;
}

// SMTP: the reply code decides (4xx for now, 5xx for good); without one, a failure to connect,
// a timeout or a refused login may pass, so it is for now too. The detail is the server's own
// words where there are some ("451 4.3.0 Try again later (RCPT failed: 451)").
SendResult classifySmtp(CURLcode rc, long code, const Replies& replies, std::string error) {
  if (rc == CURLE_OK) return {SendResult::Kind::Sent, replies.last};
  std::string detail = replies.refusal.empty() ? error : replies.refusal + " (" + error + ")";
  if (rc != CURLE_LOGIN_DENIED && code >= 500 && code <= 599)
    return {SendResult::Kind::Permanent, detail};
  return {SendResult::Kind::Transient, detail};
}

class SmtpTransport final : public Transport {
 public:
  SmtpTransport(Easy curl, const UrlParts& url, const TransportOptions& o)
      : curl_(std::move(curl)) {
    CURL* c = curl_.get();
    commonOptions(c, o, errorBuffer_.data());
    std::string target = url.scheme + "://" + url.host + ":" + url.port + url.path;
    curl_easy_setopt(c, CURLOPT_URL, target.c_str());  // libcurl copies strings it is given
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, readUpload);
    // STARTTLS when offered; required before a password goes over the wire.
    curl_easy_setopt(
        c, CURLOPT_USE_SSL,
        url.hasPassword ? static_cast<long>(CURLUSESSL_ALL) : static_cast<long>(CURLUSESSL_TRY));
    if (url.hasUser) curl_easy_setopt(c, CURLOPT_USERNAME, url.user.c_str());
    if (url.hasPassword) curl_easy_setopt(c, CURLOPT_PASSWORD, url.password.c_str());
    // Every wait for a reply, the QUIT's included (which CURLOPT_TIMEOUT does not bound: libcurl
    // waits up to 120 s for "221" when it closes a connection, in a later send or at cleanup).
    curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                     std::max(1L, static_cast<long>((o.timeout.count() + 999) / 1000)));
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);  // for keepReply, which prints nothing
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, keepReply);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &replies_);
  }
  SendResult send(const Message& m, const std::string& json) override;

 private:
  // After a failure: the connection libcurl kept, if any, shut down. A failure while waiting for
  // the answer to DATA (a timeout, say) happens in libcurl's "done" phase, which does not close
  // the connection: it stays cached mid-transaction, and closing it later (when the cache is
  // pruned, or at curl_easy_cleanup when the service stops) sends QUIT and waits for a reply
  // that a hung server never gives. Shut down, it is seen dead and closed without a word.
  void dropConnection() {
    curl_socket_t s = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(curl_.get(), CURLINFO_ACTIVESOCKET, &s) == CURLE_OK &&
        s != CURL_SOCKET_BAD)
      ::shutdown(s, SHUT_RDWR);
  }

  std::mutex mutex_;  // one send at a time on the handle
  Easy curl_;
  std::array<char, CURL_ERROR_SIZE> errorBuffer_{};
  Replies replies_;
  bool freshConnection_ = false;  // after a failure: the old connection may be mid-transaction
};

SendResult SmtpTransport::send(const Message& m, const std::string& /*json*/) {
  std::string from = envelopeAddress(m.from), to = envelopeAddress(m.to);
  if (!usableMailbox(m.from, from)) return {SendResult::Kind::Permanent, "unusable From address"};
  if (!usableMailbox(m.to, to)) return {SendResult::Kind::Permanent, "unusable To address"};
  std::string data = formatMessage(m);
  std::lock_guard lock(mutex_);
  CURL* c = curl_.get();
  Upload upload{&data};
  Slist rcpt;
  append(rcpt, to);
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
  curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, freshConnection_ ? 1L : 0L);
  errorBuffer_[0] = '\0';
  replies_ = {};
  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  // The list and the upload die here; the handle must not point at them.
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, nullptr);
  curl_easy_setopt(c, CURLOPT_READDATA, nullptr);
  SendResult r = classifySmtp(rc, code, replies_, curlError(rc, errorBuffer_.data()));
  freshConnection_ = r.kind != SendResult::Kind::Sent;
  if (freshConnection_) dropConnection();
  return r;
}

// The first bytes of a webhook's answer, for the detail.
std::size_t keepBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  std::size_t n = size * count;
  body->append(data, std::min(n, kDetailBody - std::min(kDetailBody, body->size())));
  return n;
}

// A webhook: the HTTP status decides. 408 and 429 ask for a retry, 5xx is the server's trouble;
// any other status (a 4xx, or a redirect, which is not followed) will not change by retrying.
SendResult classifyWebhook(CURLcode rc, long code, std::string body, std::string error) {
  if (rc != CURLE_OK) return {SendResult::Kind::Transient, error};
  for (char& ch : body)
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';  // one line in logs
  std::string detail =
      body.empty() ? fmt::format("HTTP {}", code) : fmt::format("HTTP {}: {}", code, body);
  if (code >= 200 && code <= 299) return {SendResult::Kind::Sent, detail};
  if (code == 408 || code == 429 || (code >= 500 && code <= 599))
    return {SendResult::Kind::Transient, detail};
  return {SendResult::Kind::Permanent, detail};
}

class WebhookTransport final : public Transport {
 public:
  WebhookTransport(Easy curl, const std::string& url, const TransportOptions& o)
      : curl_(std::move(curl)) {
    CURL* c = curl_.get();
    commonOptions(c, o, errorBuffer_.data());
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "trig");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keepBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body_);
  }

  SendResult send(const Message& m, const std::string& json) override;

 private:
  std::mutex mutex_;  // one send at a time on the handle
  Easy curl_;
  std::array<char, CURL_ERROR_SIZE> errorBuffer_{};
  std::string body_;
};

SendResult WebhookTransport::send(const Message& m, const std::string& json) {
  // The key goes on a header line: a control character in it must not end that line.
  std::string key = m.messageId;
  for (char& ch : key)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '_';
  Slist headers;
  append(headers, "Content-Type: application/json");
  append(headers, "Idempotency-Key: " + key);
  append(headers, "Expect:");  // no wait for a 100 Continue before a large body
  std::lock_guard lock(mutex_);
  CURL* c = curl_.get();
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json.size()));
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, json.data());
  errorBuffer_[0] = '\0';
  body_.clear();
  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, nullptr);
  return classifyWebhook(rc, code, body_, curlError(rc, errorBuffer_.data()));
}

}  // namespace

std::unique_ptr<Transport> makeSmtpTransport(const std::string& url, TransportOptions options,
                                             std::string& error) {
  globalInit();
  UrlParts p;
  if (!parseUrl(url, p, error)) return nullptr;
  std::string shown = "--deliver " + redacted(url) + ": ";
  if (p.scheme != "smtp" && p.scheme != "smtps") {
    error = shown + "expected smtp://[user:password@]host:port";
    return nullptr;
  }
  if (p.port.empty() || p.port == "0") {
    error = shown + (p.port.empty() ? "missing port" : "port 0 is no port to connect to");
    return nullptr;
  }
  if (!p.query.empty() || !p.fragment.empty()) {
    error = shown + "a query or fragment means nothing to SMTP";
    return nullptr;
  }
  Easy curl(curl_easy_init());
  if (!curl) {
    error = shown + "libcurl could not make a handle";
    return nullptr;
  }
  return std::make_unique<SmtpTransport>(std::move(curl), p, options);
}

std::unique_ptr<Transport> makeWebhookTransport(const std::string& url, TransportOptions options,
                                                std::string& error) {
  globalInit();
  UrlParts p;
  if (!parseUrl(url, p, error)) return nullptr;
  std::string shown = "--deliver " + redacted(url) + ": ";
  if (p.scheme != "http" && p.scheme != "https") {
    error = shown + "expected http:// or https://";
    return nullptr;
  }
  Easy curl(curl_easy_init());
  if (!curl) {
    error = shown + "libcurl could not make a handle";
    return nullptr;
  }
  return std::make_unique<WebhookTransport>(std::move(curl), url, options);
}

// Full jitter (a uniform draw in [0, min(cap, base * 2^(attempt-1))]), so that senders that
// failed together do not retry together. The draw is done here rather than with
// std::uniform_int_distribution, whose algorithm differs between standard libraries: the same
// seed gives the same delays everywhere.
std::chrono::milliseconds retryDelay(uint32_t attempt, std::mt19937_64& rng,
                                     std::chrono::milliseconds base,
                                     std::chrono::milliseconds cap) {
  int64_t b = std::max<int64_t>(base.count(), 0), c = std::max<int64_t>(cap.count(), 0);
  int64_t limit = std::min(b, c);
  // Double while below the cap (and above 0): at most 63 doublings, never an overflow.
  for (uint32_t i = 1; i < attempt && limit > 0 && limit < c; i++)
    limit = limit > c / 2 ? c : limit * 2;
  uint64_t range = static_cast<uint64_t>(limit) + 1;
  uint64_t reject = (0 - range) % range;  // 2^64 mod range: the draws that would bias low
  uint64_t x = rng();
  while (x < reject) x = rng();
  return std::chrono::milliseconds(static_cast<int64_t>(x % range));
}

}  // namespace trig::serve
