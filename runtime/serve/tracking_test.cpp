// Tracking tokens (sealed, verified, tamper-evident) and the rewriting of bodies and links.
#include "runtime/serve/tracking.h"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <string>

#include "runtime/serve/delivery.h"
#include "runtime/serve/message.h"

namespace trig::serve {
namespace {

using Kind = TrackingTarget::Kind;

TrackingTarget click() {
  TrackingTarget t;
  t.kind = Kind::Click;
  t.messageId = "m_cart_abandon_c1_1_1767607200000";
  t.customer = "c1";
  t.rule = "cart_abandon";
  t.step = 2;
  t.variant = "b";
  t.url = "https://shop.example.com/cart?x=1&utm_source=trig";
  return t;
}

constexpr std::string_view kSecret = "s3cret-s3cret-s3cret";

TEST_CASE("tracking: a token round-trips, for every kind") {
  for (Kind k : {Kind::Open, Kind::Click, Kind::Unsubscribe}) {
    TrackingTarget t = click();
    t.kind = k;
    if (k != Kind::Click) t.url.clear();
    std::string token = sealToken(t, kSecret);
    for (char c : token)
      CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'));
    auto back = openToken(token, kSecret, k);
    REQUIRE(back);
    CHECK(*back == t);
  }
  TrackingTarget empty;  // no variant, step 0, empty strings
  auto back = openToken(sealToken(empty, kSecret), kSecret, Kind::Open);
  REQUIRE(back);
  CHECK(*back == empty);
}

// A token's bytes: base64url without padding, decoded with OpenSSL's base64.
std::string unbase64url(std::string s) {
  std::replace(s.begin(), s.end(), '-', '+');
  std::replace(s.begin(), s.end(), '_', '/');
  size_t pad = (4 - s.size() % 4) % 4;
  s.append(pad, '=');
  std::string out(s.size() / 4 * 3, '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n) - pad);
  return out;
}

// The MAC a token ends with is OpenSSL's one-shot HMAC-SHA-256 of the rest under the secret
// (the sealing reuses a keyed context per thread; switching secrets must re-key it).
TEST_CASE("tracking: a token's MAC is HMAC-SHA-256 of its payload, whatever secret came before") {
  const std::string secrets[] = {std::string(kSecret), "another secret", std::string(kSecret), "",
                                 std::string(kSecret)};
  for (const std::string& secret : secrets) {
    std::string bytes = unbase64url(sealToken(click(), secret));
    REQUIRE(bytes.size() > 32);
    std::string payload = bytes.substr(0, bytes.size() - 32);
    unsigned char md[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), md, &len);
    REQUIRE(len == 32);
    CHECK(bytes.substr(bytes.size() - 32) == std::string(reinterpret_cast<char*>(md), 32));
    CHECK(openToken(sealToken(click(), secret), secret, Kind::Click));
  }
}

TEST_CASE("tracking: any single-byte change of a token is rejected") {
  for (size_t variantLen : {0u, 1u, 2u}) {  // three lengths mod 3: every base64 tail
    TrackingTarget t = click();
    t.variant = std::string(variantLen, 'v');
    std::string token = sealToken(t, kSecret);
    REQUIRE(openToken(token, kSecret, Kind::Click));
    static constexpr std::string_view kChars =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.%\x80\xff";
    size_t tried = 0;
    for (size_t i = 0; i < token.size(); ++i) {
      for (char c : kChars) {
        if (c == token[i]) continue;
        std::string altered = token;
        altered[i] = c;
        ++tried;
        CHECK_MESSAGE(!openToken(altered, kSecret, Kind::Click), "position " << i << " -> " << c);
      }
    }
    CHECK(tried > 1000);
    // Truncated, extended, empty.
    CHECK(!openToken(token.substr(0, token.size() - 1), kSecret, Kind::Click));
    CHECK(!openToken(token + "A", kSecret, Kind::Click));
    CHECK(!openToken(token + "AA", kSecret, Kind::Click));
    CHECK(!openToken("", kSecret, Kind::Click));
  }
}

TEST_CASE("tracking: a token under another secret, or of another kind, is rejected") {
  std::string token = sealToken(click(), kSecret);
  CHECK(!openToken(token, "another secret", Kind::Click));
  CHECK(!openToken(token, "", Kind::Click));
  CHECK(!openToken(token, kSecret, Kind::Open));
  CHECK(!openToken(token, kSecret, Kind::Unsubscribe));
  TrackingTarget open = click();
  open.kind = Kind::Open;
  open.url.clear();
  CHECK(!openToken(sealToken(open, kSecret), kSecret, Kind::Click));
}

TEST_CASE("tracking: no open redirect, a click token's URL cannot be swapped") {
  TrackingTarget a = click();
  TrackingTarget b = click();
  b.url = "https://evil.example.net/";
  std::string ta = sealToken(a, kSecret), tb = sealToken(b, kSecret);
  // The token does not carry the URL in the clear, and splicing two tokens fails.
  CHECK(ta.find("shop.example.com") == std::string::npos);
  for (size_t cut = 1; cut < std::min(ta.size(), tb.size()); ++cut) {
    std::string spliced = ta.substr(0, cut) + tb.substr(cut);
    if (spliced == tb) continue;
    CHECK(!openToken(spliced, kSecret, Kind::Click));
    spliced = tb.substr(0, cut) + ta.substr(cut);
    if (spliced == ta) continue;
    CHECK(!openToken(spliced, kSecret, Kind::Click));
  }
  // A token sealed by someone without the secret redirects nowhere.
  CHECK(!openToken(sealToken(b, "guess"), kSecret, Kind::Click));
  auto back = openToken(ta, kSecret, Kind::Click);
  REQUIRE(back);
  CHECK(back->url == a.url);
}

TEST_CASE("tracking: UTM parameters are added unless already there") {
  CHECK(addUtm("https://x.com/a", "cart", "b") ==
        "https://x.com/a?utm_source=trig&utm_campaign=cart&utm_content=b");
  CHECK(addUtm("https://x.com/a", "cart", "") ==
        "https://x.com/a?utm_source=trig&utm_campaign=cart");
  CHECK(addUtm("https://x.com/a?q=1#top", "cart", "") ==
        "https://x.com/a?q=1&utm_source=trig&utm_campaign=cart#top");
  CHECK(addUtm("https://x.com/a?utm_source=news&utm_campaign=x", "cart", "b b") ==
        "https://x.com/a?utm_source=news&utm_campaign=x&utm_content=b%20b");
  CHECK(addUtm("https://x.com/?", "r", "") == "https://x.com/?utm_source=trig&utm_campaign=r");
  CHECK(addUtm("https://x.com/?a=1&", "r", "") ==
        "https://x.com/?a=1&utm_source=trig&utm_campaign=r");
  // A parameter whose name only contains the UTM name is not it.
  CHECK(addUtm("https://x.com/?xutm_source=1", "r", "") ==
        "https://x.com/?xutm_source=1&utm_source=trig&utm_campaign=r");
}

TEST_CASE("tracking: HTML links are rewritten and the pixel goes before </body>") {
  auto link = [](const std::string& url) { return "T[" + url + "]"; };
  std::string html =
      "<html><body><a href=\"https://a.com/x?p=1&amp;q=2\">A</a> <a HREF='http://b.com'>B</a>"
      " <a href=\"mailto:x@y.z\">M</a> <a href=\"/relative\">R</a> <link data-href=\"http://c\">"
      " https://in.text</BODY></html>";
  std::string out = rewriteHtml(html, link, "<img>");
  CHECK(out ==
        "<html><body><a href=\"T[https://a.com/x?p=1&q=2]\">A</a> <a HREF='T[http://b.com]'>B</a>"
        " <a href=\"mailto:x@y.z\">M</a> <a href=\"/relative\">R</a> <link data-href=\"http://c\">"
        " https://in.text<img></BODY></html>");
  CHECK(rewriteHtml("<p>hi</p>", link, "<img>") == "<p>hi</p><img>");
  CHECK(rewriteHtml("<a href=\"http://x", link, "<img>") == "<a href=\"http://x<img>");
}

TEST_CASE("tracking: text URLs are rewritten, punctuation after them is not part of them") {
  auto link = [](const std::string& url) { return "T[" + url + "]"; };
  CHECK(rewriteText("See https://a.com/x?y=1. Or (http://b.com/p), or http:// alone.", link) ==
        "See T[https://a.com/x?y=1]. Or (T[http://b.com/p]), or http:// alone.");
  CHECK(rewriteText("no links here", link) == "no links here");
  CHECK(rewriteText("https://end", link) == "T[https://end]");
  CHECK(rewriteText("xhttps://not.a.link", link) == "xhttps://not.a.link");
}

TEST_CASE("tracking: the payload's List-Unsubscribe headers reach the SMTP message") {
  std::string payload =
      R"({"message_id":"m1","to":"c1@example.com","from":"a@example.com","subject":"S",)"
      R"("text":"hi","headers":{"Message-ID":"<m1@example.com>","From":"a@example.com",)"
      R"("To":"c1@example.com","Subject":"S","List-Unsubscribe":"<https://t.example/u/T>",)"
      R"("List-Unsubscribe-Post":"List-Unsubscribe=One-Click"}})";
  Message m;
  std::string error;
  REQUIRE(messageFromPayload(payload, m, error));
  CHECK(m.headers.size() == 2);
  std::string text = formatMessage(m);
  CHECK(text.find("\r\nList-Unsubscribe: <https://t.example/u/T>\r\n") != std::string::npos);
  CHECK(text.find("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n") !=
        std::string::npos);
  // The headers the message makes itself are not repeated.
  CHECK(text.find("Subject:") == text.rfind("Subject:"));
}

}  // namespace
}  // namespace trig::serve
