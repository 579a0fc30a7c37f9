#pragma once
// Engagement tracking of `trig serve` (docs/serve.md, "Engagement tracking"): the signed tokens
// of the open pixel, the click redirect and the one-click unsubscribe, and the rewriting of a
// message's body and links at send time. Pure functions, no I/O.
//
// A token is base64url (no padding) of `payload || HMAC-SHA-256(secret, payload)`, where the
// payload holds the token's kind, the message id and the target (customer, rule, step, variant,
// and for a click the URL). Everything a handler acts on comes out of a verified token: a click
// redirects only to the URL sealed in it, so the links cannot be forged or used as an open
// redirect. Verification is constant-time in the MAC and rejects any altered byte (including a
// non-canonical base64 spelling of the same bytes).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace trig::serve {

struct TrackingTarget {
  enum class Kind : char { Open = 'o', Click = 'c', Unsubscribe = 'u' };
  Kind kind = Kind::Open;
  std::string messageId;
  std::string customer;
  std::string rule;
  uint32_t step = 0;
  std::string variant;  // "" when the send is not in a split
  std::string url;      // clicks only: where the redirect goes (with its UTM parameters)
  bool operator==(const TrackingTarget&) const = default;
};

// The token for `t` under `secret`.
std::string sealToken(const TrackingTarget& t, std::string_view secret);

// The target sealed in `token` when it verifies under `secret` and is of kind `kind`; nullopt
// for anything else (altered, truncated, another secret, another kind, not base64url).
std::optional<TrackingTarget> openToken(std::string_view token, std::string_view secret,
                                        TrackingTarget::Kind kind);

// `url` with `utm_source=trig`, `utm_campaign=<rule>` and, when `variant` is not empty,
// `utm_content=<variant>` added to its query (before any #fragment), each unless the URL
// already has that parameter. Values are percent-encoded.
std::string addUtm(std::string_view url, std::string_view rule, std::string_view variant);

// Maps a link's target URL to the URL that replaces it.
using LinkRewriter = std::function<std::string(const std::string& url)>;

// An HTML body with every `href="http(s)://..."` (or single-quoted, any case of `href`) rewritten
// through `link` (the URL given to it has `&amp;` decoded; the replacement is written as is, so
// it must need no escaping: a tracking URL is base64url) and `pixel` (an <img> element) put
// before `</body>`, or appended when there is none.
std::string rewriteHtml(std::string_view html, const LinkRewriter& link, std::string_view pixel);

// A text body with every http(s) URL rewritten through `link`. A URL runs to white space or one
// of `<>"'`; trailing punctuation (`.,;:!?)]}`) is left outside it.
std::string rewriteText(std::string_view text, const LinkRewriter& link);

}  // namespace trig::serve
