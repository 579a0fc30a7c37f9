#pragma once
// A small validating JSON scanner for the decoder's hot path. It walks one line without building
// a document: strings come back as views of their raw text (decoded only when asked, into a
// caller's buffer), numbers as their exact text, so `49.99` can become exactly 49.99 money.
// It accepts exactly RFC 8259 JSON: strict number grammar, escapes, no control characters in
// strings, valid UTF-8 (no overlongs or surrogates; `\u` escapes must pair surrogates).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "compiler/support/utf8.h"

namespace trig::ingest::json {

enum class Kind : uint8_t { Object, Array, String, Number, True, False, Null };

// What kind of value starts at a character (for "got ..." messages); Kind::Null also when the
// character starts nothing valid.
const char* kindName(Kind k);

// The first byte in [p, end) that needs a look inside a string -- a quote, a backslash, a
// control character, anything outside ASCII -- or `end`. 16 bytes at a time with SSE2, then 8
// (SWAR): strings are most of an event line.
[[gnu::always_inline]] inline const char* skipPlain(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote16 = _mm_set1_epi8('"');
  const __m128i slash16 = _mm_set1_epi8('\\');
  const __m128i space16 = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed bytes below 0x20 are the control characters and every byte outside ASCII.
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote16), _mm_cmpeq_epi8(x, slash16)),
                     _mm_cmplt_epi8(x, space16));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
    if (mask != 0) return p + std::countr_zero(mask);
    p += 16;
  }
#endif
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  while (end - p >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
    const uint64_t quote = x ^ (kOnes * '"');
    const uint64_t slash = x ^ (kOnes * '\\');
    // A byte is zero in v exactly when (v - 1) sets its high bit while v's is clear. Bytes
    // above the first flagged one may be flagged wrongly (borrows), the first one never is.
    const uint64_t special =
        (((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash) | ((x - kOnes * 0x20) & ~x) | x) &
        kHigh;
    if (special) return p + std::countr_zero(special) / 8;
    p += 8;
  }
  for (; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return p;
  }
  return end;
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}

  size_t pos() const { return i_; }
  void seek(size_t p) { i_ = p; }
  std::string_view text() const { return s_; }
  bool atEnd() {
    ws();
    return i_ >= s_.size();
  }

  // The first error, with the byte offset it was found at.
  const std::string& error() const { return error_; }
  size_t errorPos() const { return errorPos_; }

  void ws() {
    // Compact JSON has no whitespace: one comparison decides (every whitespace byte is <= ' ').
    if (i_ < s_.size() && static_cast<unsigned char>(s_[i_]) > ' ') return;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++i_;
    }
  }

  // The kind of the value at the current position (after whitespace); false at a character
  // that starts no value.
  bool peekKind(Kind& k) {
    ws();
    if (i_ >= s_.size()) return fail("unexpected end of input, expected a value");
    switch (s_[i_]) {
      case '{': k = Kind::Object; return true;
      case '[': k = Kind::Array; return true;
      case '"': k = Kind::String; return true;
      case 't': k = Kind::True; return true;
      case 'f': k = Kind::False; return true;
      case 'n': k = Kind::Null; return true;
      default:
        if (s_[i_] == '-' || (s_[i_] >= '0' && s_[i_] <= '9')) {
          k = Kind::Number;
          return true;
        }
        return failUnexpected("a value");
    }
  }

  bool expect(char c, const char* what) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return failUnexpected(what);
  }
  // Consumes `c` if it is next (after whitespace).
  bool take(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  // A string: `raw` is the text between the quotes (escapes not decoded); `escaped` tells
  // whether it contains any backslash.
  bool string(std::string_view& raw, bool& escaped) {
    if (!expect('"', "'\"'")) return false;
    const size_t start = i_;
    // Most strings have nothing to look at before their closing quote: decide that inline.
    skipPlain();
    if (i_ < s_.size() && s_[i_] == '"') [[likely]] {
      raw = std::string_view(s_.data() + start, i_ - start);
      escaped = false;
      ++i_;
      return true;
    }
    return stringRest(start, raw, escaped);
  }

  // Decodes the raw text of a string (as returned by string()) into `out` (replacing it).
  static void decode(std::string_view raw, bool escaped, std::string& out) {
    if (!escaped) {
      // clear + append reuses the buffer like assign does, by a shorter path.
      out.clear();
      out.append(raw);
      return;
    }
    out.clear();
    Scanner sub(raw);
    while (sub.i_ < raw.size()) {
      if (raw[sub.i_] == '\\') {
        sub.escape(&out);
      } else {
        out.push_back(raw[sub.i_++]);
      }
    }
  }

  // A number: `text` is its exact text.
  bool number(std::string_view& text) {
    ws();
    const size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ >= s_.size()) return failAt(start, "malformed number");
    if (s_[i_] == '0') {
      ++i_;
    } else if (s_[i_] >= '1' && s_[i_] <= '9') {
      while (i_ < s_.size() && isDigit(s_[i_])) ++i_;
    } else {
      return failAt(start, "malformed number");
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (i_ >= s_.size() || !isDigit(s_[i_])) return failAt(start, "malformed number");
      while (i_ < s_.size() && isDigit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !isDigit(s_[i_])) return failAt(start, "malformed number");
      while (i_ < s_.size() && isDigit(s_[i_])) ++i_;
    }
    text = std::string_view(s_.data() + start, i_ - start);
    return true;
  }

  // `true`, `false` or `null` (whichever peekKind announced).
  bool literal(Kind k) {
    ws();
    std::string_view word = k == Kind::True ? "true" : k == Kind::False ? "false" : "null";
    if (s_.substr(i_, word.size()) != word) return failUnexpected("a value");
    i_ += word.size();
    return true;
  }

  // Skips (and validates) any value, however nested.
  bool skipValue() { return skip(0); }

  bool fail(const char* what) { return failAt(i_, what); }
  bool failAt(size_t pos, std::string what) {
    if (error_.empty()) {
      error_ = std::move(what);
      errorPos_ = pos;
    }
    return false;
  }
  bool failUnexpected(const char* expected);

  static constexpr int kMaxDepth = 256;

 private:
  static bool isDigit(char c) { return c >= '0' && c <= '9'; }

  // The rest of a string from the first byte that needs a look (see string()).
  bool stringRest(size_t start, std::string_view& raw, bool& escaped) {
    escaped = false;
    while (true) {
      skipPlain();
      if (i_ >= s_.size()) return failAt(start - 1, "unterminated string");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') break;
      if (c == '\\') {
        escaped = true;
        if (!escape(nullptr)) return false;
        continue;
      }
      if (c < 0x20) return failAt(i_, "control character in a string (escape it)");
      if (c < 0x80) {
        ++i_;
        continue;
      }
      size_t n = utf8::sequenceLength(s_, i_);
      if (n == 0) return failAt(i_, "invalid UTF-8 in a string");
      i_ += n;
    }
    raw = std::string_view(s_.data() + start, i_ - start);
    ++i_;
    return true;
  }

  void skipPlain() {
    i_ = static_cast<size_t>(json::skipPlain(s_.data() + i_, s_.data() + s_.size()) - s_.data());
  }
  static int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool hex4(uint32_t& v) {
    if (i_ + 4 > s_.size()) return failAt(i_, "malformed \\u escape");
    v = 0;
    for (int k = 0; k < 4; ++k) {
      int h = hexValue(s_[i_ + k]);
      if (h < 0) return failAt(i_, "malformed \\u escape");
      v = v * 16 + static_cast<uint32_t>(h);
    }
    i_ += 4;
    return true;
  }
  // At a backslash: validates one escape, appending its character to `out` when given.
  bool escape(std::string* out) {
    const size_t at = i_;
    ++i_;
    if (i_ >= s_.size()) return failAt(at, "unterminated escape");
    const char c = s_[i_++];
    char simple = 0;
    switch (c) {
      case '"': simple = '"'; break;
      case '\\': simple = '\\'; break;
      case '/': simple = '/'; break;
      case 'b': simple = '\b'; break;
      case 'f': simple = '\f'; break;
      case 'n': simple = '\n'; break;
      case 'r': simple = '\r'; break;
      case 't': simple = '\t'; break;
      case 'u': {
        uint32_t cp;
        if (!hex4(cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return failAt(at, "unpaired surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (i_ + 1 >= s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u')
            return failAt(at, "unpaired surrogate in \\u escape");
          i_ += 2;
          uint32_t lo;
          if (!hex4(lo)) return false;
          if (lo < 0xDC00 || lo > 0xDFFF) return failAt(at, "unpaired surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (out) utf8::append(*out, cp);
        return true;
      }
      default: return failAt(at, "invalid escape in a string");
    }
    if (out) out->push_back(simple);
    return true;
  }

  bool skip(int depth) {
    Kind k = Kind::Null;
    if (!peekKind(k)) return false;
    switch (k) {
      case Kind::String: {
        std::string_view raw;
        bool esc;
        return string(raw, esc);
      }
      case Kind::Number: {
        std::string_view t;
        return number(t);
      }
      case Kind::True:
      case Kind::False:
      case Kind::Null: return literal(k);
      case Kind::Object: {
        if (depth >= kMaxDepth) return fail("nesting too deep");
        ++i_;
        if (take('}')) return true;
        do {
          std::string_view key;
          bool esc;
          ws();
          if (i_ >= s_.size() || s_[i_] != '"') return failUnexpected("a property name");
          if (!string(key, esc) || !expect(':', "':'") || !skip(depth + 1)) return false;
        } while (take(','));
        return expect('}', "',' or '}'");
      }
      case Kind::Array: {
        if (depth >= kMaxDepth) return fail("nesting too deep");
        ++i_;
        if (take(']')) return true;
        do {
          if (!skip(depth + 1)) return false;
        } while (take(','));
        return expect(']', "',' or ']'");
      }
    }
    return false;
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string error_;
  size_t errorPos_ = 0;
};

}  // namespace trig::ingest::json
