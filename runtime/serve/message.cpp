// The outgoing email as text (message.h): RFC 5322 headers with RFC 2047 encoded subjects and
// display names, quoted-printable bodies (RFC 2045), multipart/alternative for text plus HTML.
// Everything is derived from the Message alone, so the same message formats to the same bytes.
#include "runtime/serve/message.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

namespace trig::serve {

namespace {

constexpr std::size_t kFoldWidth = 78;  // RFC 5322 2.1.1: lines SHOULD be at most 78
constexpr std::size_t kMaxLine = 998;   // ... and MUST be at most 998
constexpr std::size_t kQpWidth = 76;    // RFC 2045 6.7 (5): encoded lines at most 76
constexpr std::size_t kWordBytes = 42;  // UTF-8 bytes per encoded-word: 56 base64 characters,
                                        // so "Subject: =?UTF-8?B?...?=" stays within 78
constexpr char kHex[] = "0123456789ABCDEF";

bool isWsp(char c) {
  return c == ' ' || c == '\t';
}

// A header value on one line: every run of CR and LF (a folded value, or an attempt to start a
// header of one's own) becomes one space, other control characters a space each, and white space
// at either end goes. What is left cannot end the header it is in.
std::string oneLine(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); i++) {
    auto c = static_cast<unsigned char>(v[i]);
    if (c == '\r' || c == '\n') {
      while (i + 1 < v.size() && (v[i + 1] == '\r' || v[i + 1] == '\n')) i++;
      out += ' ';
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      out += ' ';
    } else {
      out += static_cast<char>(c);
    }
  }
  std::size_t b = 0, e = out.size();
  while (b < e && isWsp(out[b])) b++;
  while (e > b && isWsp(out[e - 1])) e--;
  return out.substr(b, e - b);
}

bool printableAscii(std::string_view v) {
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8 |
                 static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kB64[(n >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool isContinuation(char c) {
  return (static_cast<uint8_t>(c) & 0xC0) == 0x80;
}

// RFC 2047 encoded-words for `v`, separated by spaces (which a reader drops between two
// encoded-words). A word ends on a UTF-8 character boundary: section 5 forbids splitting a
// character between words (bytes that are not UTF-8 are cut anywhere).
std::string encodedWords(std::string_view v) {
  std::string out;
  while (!v.empty()) {
    std::size_t cut = v.size() < kWordBytes ? v.size() : kWordBytes;
    for (int back = 0; back < 3 && cut < v.size() && isContinuation(v[cut]); back++) cut--;
    if (cut < v.size() && isContinuation(v[cut])) cut = kWordBytes;
    if (!out.empty()) out += ' ';
    out += "=?UTF-8?B?" + base64(v.substr(0, cut)) + "?=";
    v.remove_prefix(cut);
  }
  return out;
}

// "Name: value" and CRLF, folded (CRLF before white space) so that lines stay within 78 where
// the value has white space to fold at. A run without any that would pass 998 is cut with a
// fold too: the value gains a space there, but the message stays valid.
std::string headerLine(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ": ";
  std::size_t lineStart = 0;
  bool lineHasWord = false;
  for (std::size_t i = 0; i < value.size();) {
    std::size_t j = i;  // the next piece: white space and the word after it
    while (j < value.size() && isWsp(value[j])) j++;
    while (j < value.size() && !isWsp(value[j])) j++;
    std::string_view piece = value.substr(i, j - i);
    if (lineHasWord && isWsp(piece[0]) && out.size() - lineStart + piece.size() > kFoldWidth) {
      out += "\r\n";
      lineStart = out.size();
    }
    for (char c : piece) {
      if (out.size() - lineStart >= kMaxLine) {
        out += "\r\n ";
        lineStart = out.size() - 1;
      }
      out += c;
    }
    lineHasWord = true;
    i = j;
  }
  return out + "\r\n";
}

// The Subject: as it is when printable ASCII that folds within 78, else (or when it holds "=?",
// which a reader would try to decode) as encoded-words, which fold anywhere.
std::string subjectLine(std::string_view raw) {
  std::string s = oneLine(raw);
  std::size_t word = 0, longest = 0;
  for (char c : s) {
    word = isWsp(c) ? 0 : word + 1;
    longest = std::max(longest, word);
  }
  bool plain = printableAscii(s) && s.find("=?") == std::string::npos &&
               longest + 1 + std::string_view("Subject:").size() <= kFoldWidth;
  return headerLine("Subject", plain ? s : encodedWords(s));
}

// An address header ("Name <a@b>" or "a@b"): a display name that is not ASCII becomes
// encoded-words; the address itself is left as given (an address that is not ASCII needs
// SMTPUTF8 from the server, not an encoding here).
std::string addressLine(std::string_view name, std::string_view raw) {
  std::string v = oneLine(raw);
  std::size_t lt = v.rfind('<');
  if (lt != std::string::npos && lt > 0 && !printableAscii(v.substr(0, lt))) {
    std::string_view display(v.data(), lt);
    while (!display.empty() && isWsp(display.back())) display.remove_suffix(1);
    if (display.size() > 1 && display.front() == '"' && display.back() == '"')
      display = display.substr(1, display.size() - 2);
    v = encodedWords(display) + " " + v.substr(lt);
  }
  return headerLine(name, v);
}

// RFC 5322 atext: what a dot-atom may hold besides dots.
bool isAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/?^_`{|}~").find(c) != std::string_view::npos;
}

// `v` as a dot-atom-text: characters it may not hold, '=' itself, and dots that are first,
// last or doubled become =XX (hex). Distinct ids stay distinct; an empty one is "=".
std::string dotAtom(std::string_view v) {
  if (v.empty()) return "=";
  std::string out;
  for (std::size_t i = 0; i < v.size(); i++) {
    char c = v[i];
    bool dotOk = c == '.' && i > 0 && i + 1 < v.size() && v[i - 1] != '.' && v[i + 1] != '.';
    if ((isAtext(c) && c != '=') || dotOk) {
      out += c;
    } else {
      out += '=';
      out += kHex[static_cast<uint8_t>(c) >> 4];
      out += kHex[static_cast<uint8_t>(c) & 15];
    }
  }
  return out;
}

// The domain of the From address, for a message without one.
std::string_view fromDomain(std::string_view from) {
  std::size_t lt = from.rfind('<');
  if (lt != std::string_view::npos) from = from.substr(lt + 1);
  from = from.substr(0, from.find('>'));
  std::size_t at = from.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view d = from.substr(at + 1);
  while (!d.empty() && isWsp(d.back())) d.remove_suffix(1);
  return d;
}

// Quoted-printable (RFC 2045 6.7) of a text part. Line breaks (CRLF, LF or CR) become CRLF;
// '=', bytes outside printable ASCII, white space before a line break (transports strip it) and
// a '.' that starts a line (a relay that forgets dot-stuffing would eat it) become =XX; lines
// longer than 76 get soft breaks ("=" CRLF), never inside an =XX.
std::string quotedPrintable(std::string_view text) {
  std::string out;
  std::size_t col = 0;
  for (std::size_t i = 0; i < text.size(); i++) {
    char c = text[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') i++;
      out += "\r\n";
      col = 0;
      continue;
    }
    bool lineEnd = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    bool literal = (c > ' ' && c <= '~' && c != '=') || (isWsp(c) && !lineEnd);
    if (c == '.' && col == 0) literal = false;
    std::size_t width = literal ? 1 : 3;
    if (col + width > kQpWidth - 1) {  // room for the '=' of the soft break
      out += "=\r\n";
      col = 0;
      if (c == '.') {  // now first on its line
        literal = false;
        width = 3;
      }
    }
    if (literal) {
      out += c;
    } else {
      out += '=';
      out += kHex[static_cast<uint8_t>(c) >> 4];
      out += kHex[static_cast<uint8_t>(c) & 15];
    }
    col += width;
  }
  return out;
}

// The headers and body of one text part: `type` is "plain" or "html".
std::string textPart(std::string_view type, std::string_view body) {
  std::string out = "Content-Type: text/";
  out += type;
  out += "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  return out + quotedPrintable(body);
}

// The multipart boundary: from the message id, so the same message gets the same one. It
// starts with "=_", which quoted-printable never writes ('=' is always followed by a hex digit
// or a line break there), so no part can contain it.
std::string boundaryFor(std::string_view messageId) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a
  for (char c : messageId) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  std::string out = "=_trig_";
  for (int s = 60; s >= 0; s -= 4) out += kHex[(h >> s) & 15];
  return out;
}

// "Mon, 05 Jan 2026 10:00:00 +0000" (RFC 5322 3.3), in UTC.
std::string dateHeader(TimeMs t) {
  static constexpr std::array<const char*, 7> kDays{"Thu", "Fri", "Sat", "Sun",
                                                    "Mon", "Tue", "Wed"};  // from 1970-01-01
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  t = t < kMinTime ? kMinTime : t > kMaxTime ? kMaxTime : t;
  int64_t secs = t >= 0 ? t / 1000 : -((-t + 999) / 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t sod = secs - days * 86400;
  // Days to a civil date (H. Hinnant's days_from_civil inverted), valid for the whole range.
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", kDays[((days % 7) + 7) % 7], d,
                     kMonths[m - 1], y, sod / 3600, sod / 60 % 60, sod % 60);
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); i++) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

// An extra header's name as RFC 5322 allows it (printable ASCII but ':'), or "" to leave the
// header out: also when it is one formatMessage writes itself, since a second Date, From or
// Content-Type would make the message ambiguous.
std::string extraHeaderName(std::string_view raw) {
  static constexpr std::array<std::string_view, 8> kOwn{
      "Date",       "From",         "To",           "Subject",
      "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"};
  std::string name;
  for (char c : raw)
    if (c > ' ' && c <= '~' && c != ':') name += c;
  for (std::string_view own : kOwn)
    if (equalsIgnoreCase(name, own)) return "";
  return name;
}

}  // namespace

std::string messageIdHeader(const Message& m) {
  std::string_view domain = m.domain.empty() ? fromDomain(m.from) : std::string_view(m.domain);
  return "<" + dotAtom(m.messageId) + "@" + dotAtom(domain.empty() ? "trig.invalid" : domain) + ">";
}

// Date, From, To, Subject, Message-ID, MIME-Version and the content headers, then the extra
// headers in their order; the body or bodies after a blank line; CRLF at the end.
std::string formatMessage(const Message& m) {
  std::string out = headerLine("Date", dateHeader(m.date));
  out += addressLine("From", m.from);
  out += addressLine("To", m.to);
  out += subjectLine(m.subject);
  out += headerLine("Message-ID", messageIdHeader(m));
  out += "MIME-Version: 1.0\r\n";
  std::string body;
  if (!m.text.empty() && !m.html.empty()) {
    std::string b = boundaryFor(m.messageId);
    out += "Content-Type: multipart/alternative; boundary=\"" + b + "\"\r\n";
    body = "--" + b + "\r\n" + textPart("plain", m.text) + "\r\n--" + b + "\r\n" +
           textPart("html", m.html) + "\r\n--" + b + "--\r\n";
  } else {
    body = textPart(m.html.empty() ? "plain" : "html", m.html.empty() ? m.text : m.html);
    std::size_t split = body.find("\r\n\r\n");  // the part's headers are the message's
    out += body.substr(0, split + 2);
    body.erase(0, split + 4);
  }
  for (const auto& [rawName, value] : m.headers) {
    std::string name = extraHeaderName(rawName);
    if (!name.empty()) out += headerLine(name, oneLine(value));
  }
  out += "\r\n" + body;
  if (!body.empty() && !body.ends_with("\r\n")) out += "\r\n";
  return out;
}

}  // namespace trig::serve
