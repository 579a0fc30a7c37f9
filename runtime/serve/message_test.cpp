// formatMessage byte for byte: the headers, the encodings (RFC 2047 subjects, quoted-printable
// bodies), multipart/alternative, what becomes of CR and LF in header values, and line lengths.
#include "runtime/serve/message.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

namespace trig::serve {
namespace {

constexpr TimeMs kJan5 = 1767607200000;  // 2026-01-05T10:00:00Z, a Monday

Message sample() {
  Message m;
  m.messageId = "msg_01";
  m.domain = "example.com";
  m.from = "Shop <shop@example.com>";
  m.to = "ann@example.org";
  m.subject = "Your cart";
  m.date = kJan5;
  m.text = "Hello Ann,\nyour cart = 2 items.\n";
  return m;
}

// The message's lines, each without its CRLF; fails the test on a bare CR or LF.
std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < s.size()) {
    std::size_t end = s.find("\r\n", at);
    REQUIRE(end != std::string::npos);  // the message ends with CRLF
    std::string line = s.substr(at, end - at);
    CHECK(line.find_first_of("\r\n") == std::string::npos);
    out.push_back(line);
    at = end + 2;
  }
  return out;
}

// The header block's lines (up to the first empty line).
std::vector<std::string> headerLines(const std::string& s) {
  std::vector<std::string> out;
  for (const std::string& l : lines(s)) {
    if (l.empty()) break;
    out.push_back(l);
  }
  return out;
}

TEST_CASE("message: a text-only message, byte for byte") {
  Message m = sample();
  m.headers = {{"List-Unsubscribe", "<https://example.com/u/1>"}, {"X-Trig-Rule", "cart"}};
  CHECK(formatMessage(m) ==
        "Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n"
        "From: Shop <shop@example.com>\r\n"
        "To: ann@example.org\r\n"
        "Subject: Your cart\r\n"
        "Message-ID: <msg_01@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "List-Unsubscribe: <https://example.com/u/1>\r\n"
        "X-Trig-Rule: cart\r\n"
        "\r\n"
        "Hello Ann,\r\n"
        "your cart =3D 2 items.\r\n");
  CHECK(messageIdHeader(m) == "<msg_01@example.com>");
}

TEST_CASE("message: text and HTML make multipart/alternative, byte for byte") {
  Message m = sample();
  m.text = "Hi --=_trig_ =_ \xE2\x82\xAC";  // what the boundary starts with, and a euro sign
  m.html = "<p>Hi</p>\n";
  std::string out = formatMessage(m);
  CHECK(out ==
        "Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n"
        "From: Shop <shop@example.com>\r\n"
        "To: ann@example.org\r\n"
        "Subject: Your cart\r\n"
        "Message-ID: <msg_01@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative; boundary=\"=_trig_F87E48C46CEB080C\"\r\n"
        "\r\n"
        "--=_trig_F87E48C46CEB080C\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Hi --=3D_trig_ =3D_ =E2=82=AC\r\n"
        "--=_trig_F87E48C46CEB080C\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "<p>Hi</p>\r\n"
        "\r\n"
        "--=_trig_F87E48C46CEB080C--\r\n");
  // Another id, another boundary; the boundary is never inside a part.
  m.messageId = "msg_02";
  std::string other = formatMessage(m);
  CHECK(other.find("=_trig_F87E48C46CEB080C") == std::string::npos);
  CHECK(other.find("boundary=\"=_trig_") != std::string::npos);
}

TEST_CASE("message: HTML only is text/html") {
  Message m = sample();
  m.text = "";
  m.html = "<b>x</b>";
  std::string out = formatMessage(m);
  CHECK(out.find("Content-Type: text/html; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: quoted-printable\r\n\r\n<b>x</b>\r\n") !=
        std::string::npos);
  CHECK(out.find("multipart") == std::string::npos);
}

TEST_CASE("message: a subject that is not ASCII becomes encoded-words within 78 columns") {
  Message m = sample();
  m.subject =
      "Gr\xC3\xBC\xC3\x9F"
      "e aus K\xC3\xB6ln \xE2\x80\x94 ein sehr langer Betreff mit "
      "Umlauten \xC3\xA4\xC3\xB6\xC3\xBC und noch mehr Text hier";
  std::vector<std::string> h = headerLines(formatMessage(m));
  REQUIRE(h.size() >= 6);
  // Each word ends on a character boundary: the 42-byte cut would split "ä" (C3 A4), so the
  // second word ends one byte early.
  CHECK(h[3] == "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4g4oCUIGVpbiBzZWhyIGxhbmdlciBCZXRy?=");
  CHECK(h[4] == " =?UTF-8?B?ZWZmIG1pdCBVbWxhdXRlbiDDpMO2w7wgdW5kIG5vY2ggbWVociBUZXh0?=");
  CHECK(h[5] == " =?UTF-8?B?IGhpZXI=?=");
  for (const std::string& l : h) CHECK(l.size() <= 78);

  m.subject = "50% off =?not an encoding?=";  // "=?" would be read as one: encoded too
  CHECK(headerLines(formatMessage(m))[3] ==
        "Subject: =?UTF-8?B?NTAlIG9mZiA9P25vdCBhbiBlbmNvZGluZz89?=");

  m.subject = std::string(41, 'x') + "\xC3\xA4" + "y";  // "ä" across the 42-byte cut
  CHECK(headerLines(formatMessage(m))[3] ==
        "Subject: =?UTF-8?B?eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg=?=");
  CHECK(headerLines(formatMessage(m))[4] == " =?UTF-8?B?w6R5?=");
}

TEST_CASE("message: a display name that is not ASCII is encoded, the address is not") {
  Message m = sample();
  m.from = "Caf\xC3\xA9 <cafe@example.com>";
  m.to = "\"J\xC3\xB6rg\" <j@example.org>";
  std::vector<std::string> h = headerLines(formatMessage(m));
  CHECK(h[1] == "From: =?UTF-8?B?Q2Fmw6k=?= <cafe@example.com>");
  CHECK(h[2] == "To: =?UTF-8?B?SsO2cmc=?= <j@example.org>");
}

TEST_CASE("message: CR and LF in a header value cannot start a header") {
  Message m = sample();
  m.subject = "Hi\r\nBcc: evil@x.test";
  m.to = "ann@example.org\r\nBcc: evil@x.test";
  m.from = "Shop\n\rBcc: evil@x.test <shop@example.com>";
  m.headers = {{"X-A", "1\r\n\r\nBcc: evil@x.test"}, {"X-B\r\nBcc", "2"}, {"From", "x@y"}};
  std::vector<std::string> h = headerLines(formatMessage(m));
  CHECK(h == std::vector<std::string>{
                 "Date: Mon, 05 Jan 2026 10:00:00 +0000",
                 "From: Shop Bcc: evil@x.test <shop@example.com>",
                 "To: ann@example.org Bcc: evil@x.test", "Subject: Hi Bcc: evil@x.test",
                 "Message-ID: <msg_01@example.com>", "MIME-Version: 1.0",
                 "Content-Type: text/plain; charset=utf-8",
                 "Content-Transfer-Encoding: quoted-printable", "X-A: 1 Bcc: evil@x.test",
                 "X-BBcc: 2",  // the name loses what a name cannot hold; a second From goes
             });
}

TEST_CASE("message: long lines are folded and soft-broken") {
  Message m = sample();
  std::string words;
  for (int i = 0; i < 30; i++) words += "word" + std::to_string(i) + " ";
  m.subject = words;
  m.headers = {{"X-Long", std::string(2500, 'u')}};
  m.text = std::string(1000, 'a') + "\n" + std::string(74, 'b') + "=\n" + "end \n.\n";
  std::string out = formatMessage(m);
  std::vector<std::string> all = lines(out);
  std::vector<std::string> h = headerLines(out);
  std::size_t bodyStart = h.size() + 1;
  for (std::size_t i = 0; i < all.size(); i++) {
    CAPTURE(i);
    CHECK(all[i].size() <= (i < bodyStart ? 998u : 76u));
  }
  // The subject folds at spaces within 78 and unfolds (CRLFs out) to what it was.
  std::string unfolded = h[3];
  for (std::size_t i = 4; i < h.size() && h[i].starts_with(" "); i++) unfolded += h[i];
  CHECK(unfolded == "Subject: " + words.substr(0, words.size() - 1));
  CHECK(h[4].starts_with(" word"));
  // The header with no space to fold at is cut at 998 with folds.
  CHECK(out.find("X-Long: " + std::string(990, 'u') + "\r\n " + std::string(997, 'u') + "\r\n " +
                 std::string(513, 'u') + "\r\n") != std::string::npos);
  std::vector<std::string> body(all.begin() + static_cast<std::ptrdiff_t>(bodyStart), all.end());
  REQUIRE(body.size() == 18);
  for (int i = 0; i < 13; i++) CHECK(body[i] == std::string(75, 'a') + "=");
  CHECK(body[13] == std::string(25, 'a'));
  // "=3D" is not split by a soft break: 74 + 3 > 75, so it moves to the next line.
  CHECK(body[14] == std::string(74, 'b') + "=");
  CHECK(body[15] == "=3D");
  CHECK(body[16] == "end=20");  // white space at a line's end is encoded
  CHECK(body[17] == "=2E");     // so is a dot that starts a line
}

TEST_CASE("message: folding a plain subject") {
  Message m = sample();
  m.subject = "aaaa bbbb " + std::string(60, 'c') + " dddd";
  std::vector<std::string> h = headerLines(formatMessage(m));
  CHECK(h[3] == "Subject: aaaa bbbb");
  CHECK(h[4] == " " + std::string(60, 'c') + " dddd");
  m.subject = std::string(70, 'x');  // a word that cannot fit in 78: encoded-words instead
  CHECK(headerLines(formatMessage(m))[3].starts_with("Subject: =?UTF-8?B?"));
}

TEST_CASE("message: Date across the range of times") {
  Message m = sample();
  auto date = [&](TimeMs t) {
    m.date = t;
    return headerLines(formatMessage(m))[0];
  };
  CHECK(date(0) == "Date: Thu, 01 Jan 1970 00:00:00 +0000");
  CHECK(date(-1) == "Date: Wed, 31 Dec 1969 23:59:59 +0000");
  CHECK(date(1709164800999) == "Date: Thu, 29 Feb 2024 00:00:00 +0000");
  CHECK(date(951868799000) == "Date: Tue, 29 Feb 2000 23:59:59 +0000");
  CHECK(date(kMaxTime) == "Date: Fri, 31 Dec 9999 23:59:59 +0000");
  CHECK(date(kMinTime) == "Date: Sat, 01 Jan 0000 00:00:00 +0000");
  CHECK(date(INT64_MAX) == "Date: Fri, 31 Dec 9999 23:59:59 +0000");
}

TEST_CASE("message: Message-ID escapes what a msg-id cannot hold") {
  Message m = sample();
  m.messageId = "a b<c>@d..e.=";
  // The last dot stays: "=3D" after it is atext.
  CHECK(messageIdHeader(m) == "<a=20b=3Cc=3E=40d=2E=2Ee.=3D@example.com>");
  m.messageId = ".x.";
  CHECK(messageIdHeader(m) == "<=2Ex=2E@example.com>");
  m.messageId = "";
  m.domain = "";  // the From address's domain then
  CHECK(messageIdHeader(m) == "<=@example.com>");
  m.from = "nobody";
  CHECK(messageIdHeader(m) == "<=@trig.invalid>");
  m.messageId = "r1.f2-3_x";
  CHECK(messageIdHeader(m) == "<r1.f2-3_x@trig.invalid>");
}

TEST_CASE("message: the same message formats to the same bytes") {
  Message m = sample();
  m.html = "<p>" + std::string(300, 'h') + "</p>";
  m.subject = "\xC3\xA9t\xC3\xA9";
  std::string first = formatMessage(m);
  Message copy = m;
  CHECK(formatMessage(copy) == first);
  CHECK(formatMessage(m) == first);
}

}  // namespace
}  // namespace trig::serve
