// Tracking tokens and body rewriting (tracking.h). The MAC is OpenSSL's HMAC-SHA-256; the
// comparison is CRYPTO_memcmp.
#include "runtime/serve/tracking.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cctype>

namespace trig::serve {
namespace {

constexpr char kVersion = 1;
constexpr size_t kMacBytes = 32;
constexpr size_t kMaxToken = 16384;  // characters; a longer path is not one of ours

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(in[k])); };
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kB64Url[(n >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = byte(i) << 16;
    out += kB64Url[(n >> 18) & 63];
    out += kB64Url[(n >> 12) & 63];
  } else if (i + 2 == in.size()) {
    uint32_t n = byte(i) << 16 | byte(i + 1) << 8;
    out += kB64Url[(n >> 18) & 63];
    out += kB64Url[(n >> 12) & 63];
    out += kB64Url[(n >> 6) & 63];
  }
  return out;
}

// Strict: only the base64url alphabet, no padding, and the canonical spelling (the unused low
// bits of the last character zero), so that two different tokens never decode to the same bytes.
std::optional<std::string> unbase64url(std::string_view in) {
  // Each character's 6 bits, or kNone outside the alphabet (a table: a click decodes ~340).
  static constexpr uint8_t kNone = 0xff;
  static constexpr auto kValue = [] {
    std::array<uint8_t, 256> t{};
    t.fill(kNone);
    for (uint8_t i = 0; i < 64; ++i) t[static_cast<uint8_t>(kB64Url[i])] = i;
    return t;
  }();
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out(in.size() * 6 / 8, '\0');
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const uint8_t v = kValue[static_cast<uint8_t>(c)];
    if (v == kNone) return std::nullopt;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

void putField(std::string& out, std::string_view s) {
  size_t n = s.size();
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    out += static_cast<char>(n ? b | 0x80 : b);
  } while (n);
  out.append(s);
}

bool getField(std::string_view& in, std::string& out) {
  size_t n = 0;
  for (int shift = 0;; shift += 7) {
    if (in.empty() || shift > 28) return false;
    auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    n |= size_t{b & 0x7fu} << shift;
    if (!(b & 0x80)) break;
  }
  if (n > in.size()) return false;
  out.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

// An HMAC-SHA-256 context keyed with one secret, kept per thread: OpenSSL's one-shot HMAC()
// fetches the digest and builds and frees a context on every call, 1.25 µs against 0.27 µs for a
// keyed context re-initialised (a 120-byte payload; docs/performance.md, "Click redirect").
class KeyedMac {
 public:
  KeyedMac() = default;
  KeyedMac(const KeyedMac&) = delete;
  KeyedMac& operator=(const KeyedMac&) = delete;
  ~KeyedMac() {
    EVP_MAC_CTX_free(ctx_);
    EVP_MAC_free(mac_);
  }
  // False when OpenSSL cannot (the caller falls back to the one-shot HMAC()).
  bool compute(std::string_view secret, std::string_view payload, unsigned char* out) {
    if (ctx_ == nullptr || key_ != secret) {
      if (!rekey(secret)) return false;
    } else if (EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1) {  // the same key again
      return false;
    }
    size_t len = 0;
    return EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(payload.data()),
                          payload.size()) == 1 &&
           EVP_MAC_final(ctx_, out, &len, kMacBytes) == 1 && len == kMacBytes;
  }

 private:
  bool rekey(std::string_view secret) {
    key_.clear();
    if (mac_ == nullptr) mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac_ == nullptr) return false;
    EVP_MAC_CTX_free(ctx_);
    ctx_ = EVP_MAC_CTX_new(mac_);
    if (ctx_ == nullptr) return false;
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     params) != 1) {
      EVP_MAC_CTX_free(ctx_);
      ctx_ = nullptr;
      return false;
    }
    key_.assign(secret);
    return true;
  }

  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;
  std::string key_;
};

std::array<unsigned char, kMacBytes> mac(std::string_view secret, std::string_view payload) {
  std::array<unsigned char, kMacBytes> md{};
  thread_local KeyedMac keyed;
  if (keyed.compute(secret, payload, md.data())) return md;
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), md.data(), &len);
  return md;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

bool isHttpUrl(std::string_view s) {
  return startsWithNoCase(s, "http://") || startsWithNoCase(s, "https://");
}

std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Whether the query `q` (without '?') has a parameter named `name`.
bool hasParam(std::string_view q, std::string_view name) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    if (pair.substr(0, pair.find('=')) == name) return true;
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return false;
}

size_t findNoCase(std::string_view s, std::string_view lowerNeedle, size_t from) {
  for (size_t i = from; i + lowerNeedle.size() <= s.size(); ++i)
    if (startsWithNoCase(s.substr(i), lowerNeedle)) return i;
  return std::string_view::npos;
}

std::string decodeAmp(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&' && startsWithNoCase(s.substr(i), "&amp;")) {
      out += '&';
      i += 4;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string sealToken(const TrackingTarget& t, std::string_view secret) {
  std::string payload;
  payload += kVersion;
  payload += static_cast<char>(t.kind);
  putField(payload, t.messageId);
  putField(payload, t.customer);
  putField(payload, t.rule);
  putField(payload, std::to_string(t.step));
  putField(payload, t.variant);
  if (t.kind == TrackingTarget::Kind::Click) putField(payload, t.url);
  auto md = mac(secret, payload);
  payload.append(reinterpret_cast<const char*>(md.data()), md.size());
  return base64url(payload);
}

std::optional<TrackingTarget> openToken(std::string_view token, std::string_view secret,
                                        TrackingTarget::Kind kind) {
  if (token.size() > kMaxToken) return std::nullopt;
  auto bytes = unbase64url(token);
  if (!bytes || bytes->size() < kMacBytes + 2) return std::nullopt;
  std::string_view payload(bytes->data(), bytes->size() - kMacBytes);
  auto md = mac(secret, payload);
  if (CRYPTO_memcmp(md.data(), bytes->data() + payload.size(), kMacBytes) != 0) return std::nullopt;
  // Authentic from here on: the fields are ours, but still parsed strictly.
  if (payload[0] != kVersion || payload[1] != static_cast<char>(kind)) return std::nullopt;
  payload.remove_prefix(2);
  TrackingTarget t;
  t.kind = kind;
  std::string step;
  if (!getField(payload, t.messageId) || !getField(payload, t.customer) ||
      !getField(payload, t.rule) || !getField(payload, step) || !getField(payload, t.variant))
    return std::nullopt;
  if (kind == TrackingTarget::Kind::Click && !getField(payload, t.url)) return std::nullopt;
  if (!payload.empty() || step.empty() || step.size() > 9) return std::nullopt;
  for (char c : step)
    if (c < '0' || c > '9') return std::nullopt;
  t.step = static_cast<uint32_t>(std::stoul(step));
  return t;
}

std::string addUtm(std::string_view url, std::string_view rule, std::string_view variant) {
  size_t hash = url.find('#');
  std::string_view base = url.substr(0, hash);
  std::string_view fragment = hash == std::string_view::npos ? "" : url.substr(hash);
  size_t q = base.find('?');
  std::string_view query = q == std::string_view::npos ? "" : base.substr(q + 1);
  std::string out(base);
  auto add = [&](std::string_view name, std::string_view value) {
    if (hasParam(query, name)) return;
    if (out.find('?') == std::string::npos) {
      out += '?';
    } else if (out.back() != '?' && out.back() != '&') {
      out += '&';
    }
    out.append(name);
    out += '=';
    out += percentEncode(value);
  };
  add("utm_source", "trig");
  add("utm_campaign", rule);
  if (!variant.empty()) add("utm_content", variant);
  out.append(fragment);
  return out;
}

std::string rewriteHtml(std::string_view html, const LinkRewriter& link, std::string_view pixel) {
  std::string out;
  out.reserve(html.size() + pixel.size());
  size_t at = 0;
  for (;;) {
    size_t h = findNoCase(html, "href", at);
    if (h == std::string_view::npos) break;
    // An attribute: `href` after white space, then optional spaces, `=`, spaces and a quote.
    size_t i = h + 4;
    bool attribute = h > 0 && std::isspace(static_cast<unsigned char>(html[h - 1]));
    while (i < html.size() && std::isspace(static_cast<unsigned char>(html[i]))) ++i;
    if (!attribute || i >= html.size() || html[i] != '=') {
      out.append(html.substr(at, h + 4 - at));
      at = h + 4;
      continue;
    }
    ++i;
    while (i < html.size() && std::isspace(static_cast<unsigned char>(html[i]))) ++i;
    if (i >= html.size() || (html[i] != '"' && html[i] != '\'')) {
      out.append(html.substr(at, i - at));
      at = i;
      continue;
    }
    char quote = html[i];
    size_t end = html.find(quote, i + 1);
    if (end == std::string_view::npos) break;
    std::string_view value = html.substr(i + 1, end - i - 1);
    out.append(html.substr(at, i + 1 - at));
    std::string_view trimmed = value;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
      trimmed.remove_prefix(1);
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back())))
      trimmed.remove_suffix(1);
    if (isHttpUrl(trimmed)) {
      out += link(decodeAmp(trimmed));
    } else {
      out.append(value);
    }
    at = end;
  }
  out.append(html.substr(at));
  size_t body = std::string_view::npos;
  for (size_t p = findNoCase(out, "</body", 0); p != std::string_view::npos;
       p = findNoCase(out, "</body", p + 1))
    body = p;
  if (body == std::string_view::npos) {
    out.append(pixel);
  } else {
    out.insert(body, pixel);
  }
  return out;
}

std::string rewriteText(std::string_view text, const LinkRewriter& link) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  for (size_t i = 0; i < text.size();) {
    size_t rest = text.size() - i;
    bool start = (text[i] == 'h' || text[i] == 'H') && rest > 7 && isHttpUrl(text.substr(i)) &&
                 (i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1])));
    if (!start) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size()) {
      auto c = static_cast<unsigned char>(text[end]);
      if (std::isspace(c) || c < 0x20 || c == '<' || c == '>' || c == '"' || c == '\'') break;
      ++end;
    }
    while (end > i) {
      char c = text[end - 1];
      if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == ')' ||
          c == ']' || c == '}')
        --end;
      else
        break;
    }
    std::string_view url = text.substr(i, end - i);
    // Just a scheme ("http://" and nothing after it) is not a link.
    if (url.size() <= (startsWithNoCase(url, "https") ? 8u : 7u)) {
      i = end > i ? end : i + 1;
      continue;
    }
    out.append(text.substr(at, i - at));
    out += link(std::string(url));
    at = i = end;
  }
  out.append(text.substr(at));
  return out;
}

}  // namespace trig::serve
