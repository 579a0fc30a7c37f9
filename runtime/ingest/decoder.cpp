#include "runtime/ingest/decoder.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "runtime/ingest/json_scan.h"
#include "runtime/ingest/name_index.h"
#include "runtime/ingest/timestamp.h"

namespace trig::ingest {

// ---- JSON scanner helpers -----------------------------------------------------------------------

namespace json {

const char* kindName(Kind k) {
  switch (k) {
    case Kind::Object: return "object";
    case Kind::Array: return "list";
    case Kind::String: return "string";
    case Kind::Number: return "number";
    case Kind::True:
    case Kind::False: return "bool";
    case Kind::Null: return "null";
  }
  return "?";
}

bool Scanner::failUnexpected(const char* expected) {
  if (i_ >= s_.size())
    return failAt(i_, std::string("unexpected end of input, expected ") + expected);
  const auto c = static_cast<unsigned char>(s_[i_]);
  std::string what = "unexpected ";
  if (c >= 0x21 && c < 0x7f) {
    what += '\'';
    what += static_cast<char>(c);
    what += '\'';
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    what += "byte 0x";
    what += kHex[c >> 4];
    what += kHex[c & 0xF];
  }
  what += ", expected ";
  what += expected;
  return failAt(i_, std::move(what));
}

}  // namespace json

// ---- Names and literals -------------------------------------------------------------------------

namespace {

bool isUpper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool isLower(char c) {
  return c >= 'a' && c <= 'z';
}
bool isDigitChar(char c) {
  return c >= '0' && c <= '9';
}

void snakeCaseInto(std::string_view key, std::string& out) {
  out.clear();
  for (size_t k = 0; k < key.size(); ++k) {
    const char c = key[k];
    if (isUpper(c)) {
      // A word starts at an upper-case letter after a lower-case letter or digit (`productId`),
      // or at the last capital of an acronym followed by lower case (`HTMLParser`).
      const bool afterLower = k > 0 && (isLower(key[k - 1]) || isDigitChar(key[k - 1]));
      const bool acronymEnd =
          k > 0 && isUpper(key[k - 1]) && k + 1 < key.size() && isLower(key[k + 1]);
      if ((afterLower || acronymEnd) && !out.empty() && out.back() != '_') out.push_back('_');
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back(c);
    }
  }
}

bool hasUpper(std::string_view key) {
  for (char c : key)
    if (isUpper(c)) return true;
  return false;
}

}  // namespace

std::string snakeCase(std::string_view key) {
  std::string out;
  snakeCaseInto(key, out);
  return out;
}

// ---- The decoder --------------------------------------------------------------------------------

namespace {

// The declared fields of one event (or the customer traits), ready for lookups by wire name.
struct FieldTable {
  NameIndex byName;   // declared name -> position in `fields`
  NameIndex byAlias;  // `from` name -> position in `fields`
  std::vector<const plan::IngestField*> fields;
  std::vector<std::optional<Value>> defaults;
  size_t width = 0;  // slots in the flat layout
  // The fast path's guess of the keys: `"name":` of each field, to match a key in place, and the
  // field that followed each field (at fields.size(): that came first) the last time it was
  // read. Optional fields come and go between events of a type, so a guess by position would
  // miss on every key after an omitted one; a guess by predecessor misses once.
  std::vector<std::string> quotedNames;
  std::vector<uint32_t> nextAfter;

  void build(const std::vector<plan::IngestField>& infos) {
    for (const auto& f : infos) {
      width = std::max<size_t>(width, size_t{f.slot} + 1);
      quotedNames.push_back('"' + f.name + "\":");
      byName.add(f.name, static_cast<uint32_t>(fields.size()));
      for (const auto& alias : f.aliases) byAlias.add(alias, static_cast<uint32_t>(fields.size()));
      fields.push_back(&f);
      defaults.push_back(f.defaultValue);
    }
    nextAfter.assign(fields.size() + 1, core::kNone);
  }
};

// Every member of a value but its string back to its default, keeping the buffers (see
// clearValue).
[[gnu::always_inline]] inline void clearScalars(Value& v) {
  v.kind = Value::Kind::Absent;
  v.b = false;
  v.i = 0;
  v.f = 0;
  v.m = Decimal{};
  if (!v.list.empty()) v.list.clear();
}

// Resets a value to Absent keeping its buffers (fields are compared whole, so every member must
// be back to its default).
[[gnu::always_inline]] inline void clearValue(Value& v) {
  clearScalars(v);
  v.s.clear();
}

// `n` bytes from `src` to `dst` (which do not overlap), without a library call for the short
// lengths of names and values: overlapping loads from both ends, all loaded before any store.
[[gnu::always_inline]] inline void copyBytes(char* dst, const char* src, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n > 16 && n <= 32) {
    uint64_t a, b, c, d;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + 8, 8);
    std::memcpy(&c, src + n - 16, 8);
    std::memcpy(&d, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + 8, &b, 8);
    std::memcpy(dst + n - 16, &c, 8);
    std::memcpy(dst + n - 8, &d, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n > 0 && n < 4) {
    const char a = src[0], b = src[n / 2], c = src[n - 1];
    dst[0] = a;
    dst[n / 2] = b;
    dst[n - 1] = c;
  } else if (n > 32) {
    std::memcpy(dst, src, n);
  }
}

// `dest` cut to its first `n` bytes. (GCC leaves erase() out of line, about 12 instructions a
// call; flattened here, about 7 with the call. Inlining this too brings the out-of-line erase()
// back.)
[[gnu::flatten]] inline void cutTo(std::string& dest, size_t n) {
  dest.erase(n);
}
// `dest` = `text` (which must not point into `dest`), keeping dest's buffer. libstdc++'s
// append() is out of line (about 45 instructions with its memcpy); when `text` is no longer than
// what `dest` holds, it is copied over it and cut (cutTo). A longer `text` goes by append: the
// only member that lengthens a string without a library call is push_back, and pushing the
// extra bytes back one by one (flattened, so that push_back is inline) measured worse.
[[gnu::always_inline]] inline void copyInto(std::string& dest, std::string_view text) {
  const size_t n = text.size();
  if (n <= dest.size()) {
    copyBytes(dest.data(), text.data(), n);
    cutTo(dest, n);
    return;
  }
  dest.clear();
  dest.append(text.data(), n);
}

// -Wpedantic rejects __int128 unless marked as an extension.
__extension__ typedef unsigned __int128 U128;

// Exact money from JSON number text (which may have a fraction and an exponent).
enum class MoneyParse { Ok, TooPrecise, OutOfRange };
MoneyParse parseMoney(std::string_view text, Decimal& out) {
  size_t i = 0;
  bool neg = false;
  if (i < text.size() && text[i] == '-') {
    neg = true;
    ++i;
  }
  // Significant digits, without leading zeros; `exp10` scales them.
  U128 mant = 0;
  int digits = 0;
  int64_t exp10 = 0;
  int64_t droppedZeros = 0;  // trailing zeros not yet multiplied in
  auto addDigit = [&](char c, bool fraction) {
    if (fraction) --exp10;
    if (c == '0') {
      if (digits > 0) ++droppedZeros;
      return true;
    }
    // Multiply in the zeros seen since the last non-zero digit, then this digit.
    for (; droppedZeros > 0; --droppedZeros) {
      mant *= 10;
      if (++digits > 30) return false;
    }
    mant = mant * 10 + static_cast<unsigned>(c - '0');
    return ++digits <= 30;
  };
  for (; i < text.size() && isDigitChar(text[i]); ++i)
    if (!addDigit(text[i], false)) return MoneyParse::OutOfRange;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && isDigitChar(text[i]); ++i)
      if (!addDigit(text[i], true)) return MoneyParse::OutOfRange;
  }
  // Trailing zeros that were never multiplied in raise the exponent instead.
  exp10 += droppedZeros;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) eneg = text[i++] == '-';
    int64_t e = 0;
    for (; i < text.size() && isDigitChar(text[i]); ++i) {
      e = e * 10 + (text[i] - '0');
      if (e > 100000) {
        // Absurd exponents: zero stays zero, anything else is out of range or too precise.
        if (mant == 0) {
          out = Decimal{};
          return MoneyParse::Ok;
        }
        return eneg ? MoneyParse::TooPrecise : MoneyParse::OutOfRange;
      }
    }
    exp10 += eneg ? -e : e;
  }
  if (mant == 0) {
    out = Decimal{};
    return MoneyParse::Ok;
  }
  int64_t scale = exp10 + Decimal::kScaleDigits;
  if (scale < 0) return MoneyParse::TooPrecise;
  constexpr U128 kMax = static_cast<U128>(INT64_MAX);
  for (; scale > 0; --scale) {
    mant *= 10;
    if (mant > kMax) return MoneyParse::OutOfRange;
  }
  if (mant > kMax) return MoneyParse::OutOfRange;
  out.units = neg ? -static_cast<int64_t>(mant) : static_cast<int64_t>(mant);
  return MoneyParse::Ok;
}

// The keys of one JSON object, to find one sent twice (an invalid object, spec section 8).
class KeySet {
 public:
  void clear() {
    // clear() costs the bucket count: after a very wide object, start afresh instead.
    if (keys_.bucket_count() > 1024)
      keys_ = {};
    else
      keys_.clear();
  }
  // False when `key` was added before.
  bool add(std::string_view key) { return keys_.emplace(key).second; }

 private:
  std::unordered_set<std::string> keys_;
};

// "key 'K' is sent twice" + `where`.
std::string twiceMessage(std::string_view key, std::string_view where) {
  std::string m = "key '";
  m += key;
  m += "' is sent twice";
  m += where;
  return m;
}

bool isIntegerText(std::string_view text) {
  for (char c : text)
    if (c == '.' || c == 'e' || c == 'E') return false;
  return true;
}

// A string that may stand for a number (spec section 8): its whole text a plain decimal,
// `-?DIGITS[.DIGITS]` ("12.00", "-3"); not "1e3", " 3", "+3", ".5" or "5.".
bool isPlainDecimal(std::string_view text) {
  size_t i = text.starts_with('-') ? 1 : 0;
  const auto digits = [&] {
    const size_t start = i;
    while (i < text.size() && isDigitChar(text[i])) ++i;
    return i > start;
  };
  if (!digits()) return false;
  if (i < text.size() && text[i] == '.' && (++i, !digits())) return false;
  return i == text.size();
}

// The integer part of number text whose fraction is only zeros ("2.0" -> "2", "7" -> "7");
// nullopt for any other fraction, and for an exponent.
std::optional<std::string_view> integralPart(std::string_view text) {
  if (text.find_first_of("eE") != std::string_view::npos) return std::nullopt;
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return text;
  if (text.find_first_not_of('0', dot + 1) != std::string_view::npos) return std::nullopt;
  return text.substr(0, dot);
}

// ---- The two readers: shapes, never meaning -----------------------------------------------------
//
// The decoder (Decoder::Impl below) is written once, as templates over a reader, and every line
// is read by one of two readers with the same interface. Readers know JSON's shapes -- where a
// string, a number, an object ends, whether the text is valid -- and nothing of what a member
// means:
//
// - CompactReader reads the line as producers send it: no whitespace between tokens, strings
//   without escapes. It gives up (fails) at any byte it does not expect -- whitespace, an escape,
//   malformed JSON -- without saying why; the decoder then reads the line again from the start
//   with the general reader. A line the compact reader reads to its end (accepted or rejected)
//   gets the same outcome from the general reader (fast_path_test checks it on generated lines).
// - GeneralReader (json::Scanner) reads any RFC 8259 text and fails with the column-exact
//   message of the first thing that is not JSON ("malformed JSON at column N: ...").

// The number at `p` when it has the short form of money and ints -- at most 12 integer digits,
// at most 6 decimals, no exponent -- as its digits read as one integer and the count of decimals
// (-1: no decimal point); returns the end of the number, or null for any other number or text
// (nothing is consumed then). On success [p, end) is the whole JSON number.
[[gnu::always_inline]] inline const char* shortDecimal(const char* p, const char* end,
                                                       int64_t& digits, int& decimals) {
  const bool neg = p < end && *p == '-';
  if (neg) ++p;
  const char* const start = p;
  uint64_t v = 0;  // unsigned: too many digits wrap harmlessly before they are refused
  for (; p < end && isDigitChar(*p); ++p) v = v * 10 + static_cast<unsigned>(*p - '0');
  const auto intDigits = p - start;
  if (intDigits == 0 || intDigits > 12 || (*start == '0' && intDigits > 1)) return nullptr;
  decimals = -1;
  if (p < end && *p == '.') {
    const char* const fraction = ++p;
    for (; p < end && isDigitChar(*p); ++p) v = v * 10 + static_cast<unsigned>(*p - '0');
    decimals = static_cast<int>(p - fraction);
    if (decimals == 0 || decimals > Decimal::kScaleDigits) return nullptr;
  }
  if (p < end && (*p == 'e' || *p == 'E')) return nullptr;
  digits = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return p;
}

// `name == word` for a literal word, compared in one go.
template <size_t N>
bool is(std::string_view name, const char (&word)[N]) {
  return name.size() == N - 1 && sameBytes(name.data(), word, N - 1);
}

class CompactReader {
 public:
  static constexpr bool kGeneral = false;

  explicit CompactReader(std::string_view text)
      : p_(text.data()), end_(text.data() + text.size()) {}
  // A reader of a part of the text (a member's value read before).
  CompactReader over(std::string_view span) const { return CompactReader(span); }

  // A position in the text (two pointers only, so that they stay in registers).
  using Pos = const char*;
  Pos pos() const { return p_; }
  void seek(Pos at) { p_ = at; }
  std::string_view since(Pos start) const { return {start, static_cast<size_t>(p_ - start)}; }
  void ws() {}
  bool at(char c) const { return p_ < end_ && *p_ == c; }
  [[gnu::always_inline]] bool take(char c) {
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  // Consumes `text` if it comes next (a key in place: `"name":`).
  [[gnu::always_inline]] bool take(std::string_view text) {
    if (static_cast<size_t>(end_ - p_) < text.size() || !sameBytes(p_, text.data(), text.size()))
      return false;
    p_ += text.size();
    return true;
  }
  bool expect(char c, const char* /*what*/) { return take(c); }
  bool finished() const { return p_ == end_; }
  // A string of `n` bytes at the reader, its opening quote consumed before, when `accept` takes
  // them: its closing quote consumed. `accept` must take only bytes a plain string may hold (no
  // quote, backslash, control character or non-ASCII byte: then this is stringBody()'s reading).
  template <class Accept>
  [[gnu::always_inline]] bool stringOfSize(size_t n, Accept&& accept) {
    if (static_cast<size_t>(end_ - p_) <= n || p_[n] != '"' || !accept(std::string_view(p_, n)))
      return false;
    p_ += n + 1;
    return true;
  }

  [[gnu::always_inline]] bool peekKind(json::Kind& k) const {
    if (p_ == end_) return false;
    switch (*p_) {
      case '"': k = json::Kind::String; return true;
      case '{': k = json::Kind::Object; return true;
      case '[': k = json::Kind::Array; return true;
      case 't': k = json::Kind::True; return true;
      case 'f': k = json::Kind::False; return true;
      case 'n': k = json::Kind::Null; return true;
      default:
        if (*p_ == '-' || isDigitChar(*p_)) {
          k = json::Kind::Number;
          return true;
        }
        return false;
    }
  }

  // A string without escapes or control characters, valid UTF-8: the text between the quotes.
  [[gnu::always_inline]] bool string(std::string_view& raw, bool& escaped) {
    return take('"') && stringBody(raw, escaped);
  }
  // A string comes next: its opening quote consumed (the general reader leaves it), for
  // stringBody.
  [[gnu::always_inline]] bool stringStarts() { return take('"'); }
  [[gnu::always_inline]] bool stringBody(std::string_view& raw, bool& escaped) {
    escaped = false;
    const char* start = p_;
    p_ = json::skipPlain(p_, end_);
    if (p_ < end_ && *p_ == '"') [[likely]] {
      raw = std::string_view(start, static_cast<size_t>(p_ - start));
      ++p_;
      return true;
    }
    p_ = stringRest(p_, end_);
    if (!p_) return false;
    raw = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
  }
  [[gnu::always_inline]] bool key(std::string_view& name, bool& escaped) {
    return string(name, escaped) && take(':');
  }

  // A number in RFC 8259's grammar (the same as json::Scanner::number): its text.
  [[gnu::always_inline]] bool number(std::string_view& text) {
    const char* p = p_;
    const auto digits = [&] {
      if (p == end_ || !isDigitChar(*p)) return false;
      do ++p;
      while (p < end_ && isDigitChar(*p));
      return true;
    };
    if (p < end_ && *p == '-') ++p;
    if (p < end_ && *p == '0') {
      ++p;
    } else if (!digits()) {
      return false;
    }
    if (p < end_ && *p == '.' && (++p, !digits())) return false;
    if (p < end_ && (*p == 'e' || *p == 'E')) {
      ++p;
      if (p < end_ && (*p == '+' || *p == '-')) ++p;
      if (!digits()) return false;
    }
    text = std::string_view(p_, static_cast<size_t>(p - p_));
    p_ = p;
    return true;
  }
  // A number in the short form (shortDecimal); false, consuming nothing, for any other.
  [[gnu::always_inline]] bool decimal(std::string_view& text, int64_t& digits, int& decimals) {
    const char* after = shortDecimal(p_, end_, digits, decimals);
    if (!after) return false;
    text = std::string_view(p_, static_cast<size_t>(after - p_));
    p_ = after;
    return true;
  }
  [[gnu::always_inline]] bool literal(json::Kind k) {
    const std::string_view word = k == json::Kind::True    ? std::string_view("true")
                                  : k == json::Kind::False ? std::string_view("false")
                                                           : std::string_view("null");
    return take(word);
  }
  // Skips any value, validated exactly as the general reader validates it.
  [[gnu::always_inline]] bool skipValue() {
    if (at('"')) {
      const char* const start = p_;
      std::string_view raw;
      bool escaped = false;
      if (string(raw, escaped)) [[likely]]
        return true;
      p_ = start;  // an escape, or not JSON: the scanner decides
    }
    p_ = skipValueAt(p_, end_);
    return p_ != nullptr;
  }

 private:
  // From the first byte of a string that is not plain ASCII: its closing quote, or null. (The
  // pointers are passed by value to what is not inlined, so that they can stay in registers.)
  [[gnu::noinline]] static const char* stringRest(const char* p, const char* end) {
    while (true) {
      if (p == end) return nullptr;
      const auto b = static_cast<unsigned char>(*p);
      if (b == '"') return p;
      if (b < 0x80) return nullptr;  // a backslash or a control character
      const size_t n = utf8::sequenceLength(std::string_view(p, static_cast<size_t>(end - p)), 0);
      if (n == 0) return nullptr;
      p = json::skipPlain(p + n, end);
    }
  }
  [[gnu::noinline]] static const char* skipValueAt(const char* p, const char* end) {
    json::Scanner sc(std::string_view(p, static_cast<size_t>(end - p)));
    if (!sc.skipValue()) return nullptr;
    return p + sc.pos();
  }

  const char* p_;
  const char* end_;
};

class GeneralReader {
 public:
  static constexpr bool kGeneral = true;

  explicit GeneralReader(std::string_view text) : sc_(text) {}
  GeneralReader over(std::string_view span) const { return GeneralReader(span); }
  json::Scanner& scanner() { return sc_; }

  using Pos = size_t;
  Pos pos() const { return sc_.pos(); }
  void seek(Pos at) { sc_.seek(at); }
  std::string_view since(size_t start) const { return sc_.text().substr(start, sc_.pos() - start); }
  void ws() { sc_.ws(); }
  bool at(char c) {
    sc_.ws();
    return sc_.pos() < sc_.text().size() && sc_.text()[sc_.pos()] == c;
  }
  bool take(char c) { return sc_.take(c); }
  bool take(std::string_view text) {
    sc_.ws();
    if (sc_.text().substr(sc_.pos(), text.size()) != text) return false;
    sc_.seek(sc_.pos() + text.size());
    return true;
  }
  bool expect(char c, const char* what) { return sc_.expect(c, what); }
  bool finished() {
    if (sc_.atEnd()) return true;
    return sc_.failUnexpected("the end of the line after the object");
  }
  bool peekKind(json::Kind& k) { return sc_.peekKind(k); }
  bool string(std::string_view& raw, bool& escaped) { return sc_.string(raw, escaped); }
  bool stringStarts() { return at('"'); }
  bool stringBody(std::string_view& raw, bool& escaped) { return sc_.string(raw, escaped); }
  bool key(std::string_view& name, bool& escaped) {
    if (!at('"')) return sc_.failUnexpected("a property name");
    return sc_.string(name, escaped) && sc_.expect(':', "':'");
  }
  bool number(std::string_view& text) { return sc_.number(text); }
  bool decimal(std::string_view& text, int64_t& digits, int& decimals) {
    sc_.ws();
    const std::string_view all = sc_.text();
    const char* p = all.data() + sc_.pos();
    const char* after = shortDecimal(p, all.data() + all.size(), digits, decimals);
    if (!after) return false;
    text = std::string_view(p, static_cast<size_t>(after - p));
    sc_.seek(static_cast<size_t>(after - all.data()));
    return true;
  }
  bool literal(json::Kind k) { return sc_.literal(k); }
  bool skipValue() { return sc_.skipValue(); }

 private:
  json::Scanner sc_;
};

// The keys of one object that the decoder did not recognise, to find one sent twice; past kMax
// (or for a key spelled with escapes, whose decoded text is not in the line) the caller switches
// to a KeySet.
// (Plain arrays, left uninitialized: only the first `n` entries are ever read, and zeroing
// eight views cost about 25 instructions per object on every line.)
struct SkippedKeys {
  static constexpr size_t kMax = 8;
  const char* data[kMax];
  size_t size[kMax];
  size_t n = 0;
  enum Added : uint8_t { kNew, kAgain, kFull };
  [[gnu::always_inline]] Added add(std::string_view key) {
    for (size_t k = 0; k < n; ++k)
      if (size[k] == key.size() && std::memcmp(data[k], key.data(), key.size()) == 0) return kAgain;
    if (n == kMax) return kFull;
    data[n] = key.data();
    size[n] = key.size();
    ++n;
    return kNew;
  }
};

}  // namespace

struct Decoder::Impl {
  static constexpr const char* kPageView = "page_view";  // what a `page` call is
  const plan::IngestPlan model;
  std::vector<FieldTable> events;
  FieldTable traits;
  NameIndex eventIndex;  // declared names, then `from` aliases (a name wins over an alias)

  std::string key;    // decoded property name
  std::string snake;  // its snake_case spelling
  std::string str;    // decoded string value
  std::vector<uint8_t> seen;
  std::vector<uint32_t> traitAt;  // per declared trait: its entry in Event::traits, or kNone
  KeySet topKeys, propertyKeys, traitKeys;
  Value again;  // a field's second value, compared with its first
  // Field rows put aside, by width. A stream mixes event types; resizing Event::fields from one
  // type's width to another's destroys Values and re-creates them, string buffers included, on
  // nearly every event. Rows are swapped in and out instead, keeping their buffers.
  std::vector<std::vector<Value>> spareRows;
  // The same for Event::traits: a track call puts the identify's traits aside (a track has none),
  // and the next identify takes them back, so that its traits' strings keep their buffers.
  std::vector<std::pair<std::string, Value>> spareTraits;
  std::string* reason = nullptr;
  std::string propertiesReason;            // the properties' error, read before the line's end
  std::string traitsReason;                // the traits' first error
  std::string traitsLater;                 // ... when they were read before the line's end
  uint32_t subscribedTrait = core::kNone;  // position of `subscribed` in `traits`
  bool failedClosed = false;               // see Decoder::failedClosed()
  bool broken = false;  // the reader failed: not JSON, or (compact reader) not its shape
  bool fastPath = true;
  Stats stats;
  TimestampParser timestamps;

  explicit Impl(plan::IngestPlan m) : model(std::move(m)) {
    events.resize(model.events.size());
    for (size_t k = 0; k < model.events.size(); ++k) events[k].build(model.events[k].fields);
    traits.build(model.traits);
    subscribedTrait = traits.byName.find("subscribed");
    if (subscribedTrait == NameIndex::kNotFound ||
        traits.fields[subscribedTrait]->kind != core::TypeKind::Bool)
      subscribedTrait = core::kNone;
    // Positions in model.events (the event types' indices). FieldTable keeps pointers into
    // `model`, the decoder's own copy.
    const auto count = static_cast<uint32_t>(model.events.size());
    for (uint32_t k = 0; k < count; ++k) eventIndex.add(model.events[k].name, k);
    for (uint32_t k = 0; k < count; ++k)
      for (const auto& alias : model.events[k].aliases) eventIndex.add(alias, k);
    for (const auto& [alias, index] : model.eventAliases) eventIndex.add(alias, index);
    size_t widest = 0;
    for (const auto& t : events) widest = std::max(widest, t.width);
    spareRows.resize(widest + 1);
  }

  // ---- messages ----

  bool fail(std::string text) {
    *reason = std::move(text);
    return false;
  }
  // The reader failed: the general reader's message is its error (jsonError), the compact
  // reader's means only "read it again with the general reader".
  bool fromReader() {
    broken = true;
    return false;
  }
  bool jsonError(const json::Scanner& sc) {
    return fail("malformed JSON at column " + std::to_string(sc.errorPos() + 1) + ": " +
                sc.error());
  }

  // "property 'price' of event 'cart_add'" / "trait 'email'"
  // (Pointers, built on every value read: words only when a message needs them.)
  struct Subject {
    const char* what;                // "property", "trait"
    const plan::IngestField* field;  // the field or trait
    const std::string* event;        // null for traits
    int item = -1;                   // list item (0-based), or -1
  };
  static std::string describe(const Subject& s) {
    std::string d;
    if (s.item >= 0) d = "item " + std::to_string(s.item + 1) + " of ";
    d += s.what;
    d += " '";
    d += s.field->name;
    d += '\'';
    if (s.event) {
      d += " of event '";
      d += *s.event;
      d += '\'';
    }
    return d;
  }
  bool typeError(const Subject& s, std::string_view want, std::string got) {
    std::string m = describe(s);
    m += " must be ";
    m += want;
    m += ", got ";
    m += got;
    return fail(std::move(m));
  }
  // A field filled by two keys (its name, its camelCase form) with different values.
  static std::string filledTwice(const Subject& s, std::string_view key) {
    return describe(s) + " is filled twice with different values (the second time from '" +
           std::string(key) + "')";
  }
  // `string "TEXT"` for a message, TEXT shortened.
  static std::string shownString(std::string_view text) {
    constexpr size_t kShown = 40;
    std::string got = "string \"";
    if (text.size() > kShown) {
      size_t cut = kShown;
      // Do not cut a UTF-8 sequence in half.
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
      got.append(text.substr(0, cut));
      got += "...";
    } else {
      got += text;
    }
    got += '"';
    return got;
  }

  // (copyInto: libstdc++'s assign() handles overlapping sources, at about four times the
  // instructions.)
  [[gnu::always_inline]] static void setString(std::string& dest, std::string_view text) {
    copyInto(dest, text);
  }
  // The same, for strings that often repeat from one event to the next (event names).
  [[gnu::always_inline]] static void setRepeated(std::string& dest, std::string_view text) {
    if (dest.size() != text.size() || !sameBytes(dest.data(), text.data(), text.size()))
      setString(dest, text);
  }
  // `dest` = the text of a string read as `raw` (escapes decoded).
  [[gnu::always_inline]] static void setText(std::string& dest, std::string_view raw,
                                             bool escaped) {
    if (escaped) [[unlikely]]
      json::Scanner::decode(raw, true, dest);
    else
      setString(dest, raw);
  }
  // The text of a string read as `raw`: itself, or decoded into `scratch` when it has escapes.
  [[gnu::always_inline]] static std::string_view textOf(std::string_view raw, bool escaped,
                                                        std::string& scratch) {
    if (!escaped) return raw;
    json::Scanner::decode(raw, true, scratch);
    return scratch;
  }

  // Calls `f` with a copy of the reader and takes its position back. A reader whose address is
  // passed to a function that is not inlined must live in memory; the hot loops keep the compact
  // reader's two pointers in registers, and copy them only for such calls. (The general reader,
  // which holds its error, is passed as it is.)
  template <class R, class F>
  [[gnu::always_inline]] static bool onCopy(R& r, F&& f) {
    if constexpr (R::kGeneral) {
      return f(r);
    } else {
      R copy = r;
      const bool ok = f(copy);
      r = copy;
      return ok;
    }
  }

  // ---- typed values ----

  // Reads the value at the reader into `out` as type `t` (not a list). The usual forms -- a
  // string without escapes for a string, a short decimal (shortDecimal) for money or an int --
  // are converted here, inline; everything else by readScalarAny, where each type's conversion
  // and its errors are. (The short decimal's money and int are the values parseMoney and
  // from_chars give its text: fast_path_test holds the two readers, and so both routes, equal.)
  template <class R>
  [[gnu::always_inline]] bool readScalar(R& r, core::TypeKind t, std::string_view want, Value& out,
                                         const Subject& subj) {
    using core::TypeKind;
    switch (t) {
      case TypeKind::String:
        if (r.at('"')) {
          const auto start = r.pos();
          std::string_view raw;
          bool esc = false;
          if (r.string(raw, esc) && !esc) [[likely]] {
            clearScalars(out);
            out.kind = Value::Kind::String;
            copyInto(out.s, raw);
            return true;
          }
          r.seek(start);
        }
        break;
      case TypeKind::Money:
      case TypeKind::Int: {
        std::string_view text;
        int64_t digits = 0;
        int decimals = 0;
        if (!r.decimal(text, digits, decimals)) break;
        // Money scaled to millionths in one multiplication (at most 18 digits: no overflow).
        static constexpr int64_t kScale[Decimal::kScaleDigits + 1] = {1000000, 100000, 10000, 1000,
                                                                      100,     10,     1};
        if (t == TypeKind::Money) {
          clearValue(out);
          out.kind = Value::Kind::Money;
          out.m.units = digits * kScale[decimals < 0 ? 0 : decimals];
          return true;
        }
        if (decimals >= 0) return numberFromText(t, text, false, want, out, subj);  // 2.0
        clearValue(out);
        out.kind = Value::Kind::Int;
        out.i = digits;
        return true;
      }
      default: break;
    }
    return onCopy(r, [&](R& c) { return readScalarAny(c, t, want, out, subj); });
  }

  // readScalar for any value, of any form.
  template <class R>
  [[gnu::noinline]] bool readScalarAny(R& r, core::TypeKind t, std::string_view want, Value& out,
                                       const Subject& subj) {
    using core::TypeKind;
    json::Kind k = json::Kind::Null;
    if (!r.peekKind(k)) return fromReader();
    switch (t) {
      case TypeKind::String: {
        if (k == json::Kind::String) [[likely]] {
          std::string_view raw;
          bool esc = false;
          if (!r.string(raw, esc)) return fromReader();
          clearValue(out);
          out.kind = Value::Kind::String;
          if (esc) [[unlikely]]
            json::Scanner::decode(raw, true, out.s);
          else
            out.s.append(raw);
          return true;
        }
        if (k != json::Kind::Number) return gotOther(r, k, subj, want);
        // A number for a string field is its text as written (spec section 8).
        std::string_view text;
        if (!r.number(text)) return fromReader();
        clearValue(out);
        out.kind = Value::Kind::String;
        out.s.append(text);
        return true;
      }
      case TypeKind::Time:
      case TypeKind::Duration: {
        if (t == TypeKind::Duration && k == json::Kind::Number) return readSeconds(r, out, subj);
        if (k != json::Kind::String) return gotOther(r, k, subj, want);
        std::string_view raw;
        bool esc = false;
        if (!r.string(raw, esc)) return fromReader();
        const std::string_view text = textOf(raw, esc, str);
        if (t == TypeKind::Time) {
          const auto tm = timestamps.parse(text);
          if (!tm)
            return fail(describe(subj) + " must be an RFC 3339 time, got \"" + std::string(text) +
                        "\"");
          clearValue(out);
          out.kind = Value::Kind::Time;
          out.i = *tm;
          return true;
        }
        const auto d = parseDuration(text);
        if (!d)
          return fail(describe(subj) + " must be a duration such as \"15m\", got \"" +
                      std::string(text) + "\"");
        clearValue(out);
        out.kind = Value::Kind::Duration;
        out.i = *d;
        return true;
      }
      case TypeKind::Bool: {
        bool b = k == json::Kind::True;
        if (k == json::Kind::String) {
          // "true" and "false" as collectors send them (spec section 8), nothing else.
          std::string_view raw;
          bool esc = false;
          if (!r.string(raw, esc)) return fromReader();
          const std::string_view text = textOf(raw, esc, str);
          if (text != "true" && text != "false") return typeError(subj, want, shownString(text));
          b = text == "true";
        } else if (k != json::Kind::True && k != json::Kind::False) {
          return gotOther(r, k, subj, want);
        } else if (!r.literal(k)) {
          return fromReader();
        }
        clearValue(out);
        out.kind = Value::Kind::Bool;
        out.b = b;
        return true;
      }
      case TypeKind::Int:
      case TypeKind::Float:
      case TypeKind::Money: {
        std::string_view text;
        const bool quoted = k == json::Kind::String;
        if (k == json::Kind::Number) {
          if (!r.number(text)) return fromReader();
        } else if (quoted) {
          // A string whose whole text is a plain decimal, as collectors send them ("12.00").
          std::string_view raw;
          bool esc = false;
          if (!r.string(raw, esc)) return fromReader();
          text = textOf(raw, esc, str);
          if (!isPlainDecimal(text)) return typeError(subj, want, shownString(text));
        } else {
          return gotOther(r, k, subj, want);
        }
        return numberFromText(t, text, quoted, want, out, subj);
      }
      case TypeKind::List:
      case TypeKind::Error: break;
    }
    // A field whose type sema could not resolve: accept nothing rather than guess.
    return fail(describe(subj) + " has no usable declared type");
  }

  // A number of type `t` from its exact text (the JSON number, or a quoted plain decimal).
  bool numberFromText(core::TypeKind t, std::string_view text, bool quoted, std::string_view want,
                      Value& out, const Subject& subj) {
    clearValue(out);
    if (t == core::TypeKind::Int) {
      // Integral values only: 2 and 2.0 (or "2.0"), never 2.5 or 1e2.
      const auto whole = integralPart(text);
      if (!whole) return typeError(subj, want, quoted ? shownString(text) : std::string(text));
      int64_t v = 0;
      auto r = std::from_chars(whole->data(), whole->data() + whole->size(), v);
      if (r.ec != std::errc() || r.ptr != whole->data() + whole->size())
        return fail(describe(subj) + " is out of the range of int: " + std::string(text));
      out.kind = Value::Kind::Int;
      out.i = v;
      return true;
    }
    if (t == core::TypeKind::Float) {
      double v = 0;
      auto r = std::from_chars(text.data(), text.data() + text.size(), v);
      if (r.ec != std::errc() || !std::isfinite(v))
        return fail(describe(subj) + " is out of the range of float: " + std::string(text));
      out.kind = Value::Kind::Float;
      out.f = v;
      return true;
    }
    Decimal m;
    switch (parseMoney(text, m)) {
      case MoneyParse::Ok: break;
      case MoneyParse::TooPrecise:
        return fail(describe(subj) + " must be money with at most 6 decimal places, got " +
                    std::string(text));
      case MoneyParse::OutOfRange:
        return fail(describe(subj) + " is out of the range of money: " + std::string(text));
    }
    out.kind = Value::Kind::Money;
    out.m = m;
    return true;
  }

  // A duration sent as a number of seconds (spec section 9): exact to the millisecond, not
  // negative.
  template <class R>
  bool readSeconds(R& r, Value& out, const Subject& subj) {
    std::string_view text;
    if (!r.number(text)) return fromReader();
    Decimal seconds;
    constexpr int64_t kPerMs = 1000;  // millionths of a second in a millisecond
    if (parseMoney(text, seconds) != MoneyParse::Ok || seconds.units < 0 ||
        seconds.units % kPerMs != 0)
      return fail(describe(subj) +
                  " must be a duration such as \"15m\" or a number of seconds "
                  "(at most 3 decimals, not negative), got " +
                  std::string(text));
    clearValue(out);
    out.kind = Value::Kind::Duration;
    out.i = seconds.units / kPerMs;
    return true;
  }

  // A value of the wrong JSON kind; strings are quoted in the message (shortened) because
  // `"150"` for a number is the usual mistake.
  template <class R>
  [[gnu::noinline]] bool gotOther(R& r, json::Kind k, const Subject& subj, std::string_view want) {
    if (k != json::Kind::String) return typeError(subj, want, json::kindName(k));
    std::string_view raw;
    bool esc = false;
    if (!r.string(raw, esc)) return fromReader();
    return typeError(subj, want, shownString(textOf(raw, esc, str)));
  }

  template <class R>
  [[gnu::always_inline]] bool readTyped(R& r, const plan::IngestField& f, Value& out,
                                        const Subject& subj) {
    if (f.kind != core::TypeKind::List) return readScalar(r, f.kind, f.typeName, out, subj);
    return onCopy(r, [&](R& c) { return readList(c, f, out, subj); });
  }
  template <class R>
  bool readList(R& r, const plan::IngestField& f, Value& out, const Subject& subj) {
    json::Kind k = json::Kind::Null;
    if (!r.peekKind(k)) return fromReader();
    if (k != json::Kind::Array) return gotOther(r, k, subj, f.typeName);
    clearValue(out);
    out.kind = Value::Kind::List;
    r.expect('[', "'['");
    if (r.take(']')) return true;
    Subject item = subj;
    item.item = 0;
    do {
      json::Kind ik = json::Kind::Null;
      if (!r.peekKind(ik)) return fromReader();
      if (ik == json::Kind::Null) return fail(describe(item) + " is null");
      out.list.emplace_back();
      if (!readScalar(r, f.elem, f.elemTypeName, out.list.back(), item)) return false;
      ++item.item;
    } while (r.take(','));
    if (!r.expect(']', "',' or ']'")) return fromReader();
    return true;
  }

  // An undeclared trait, typed by its JSON value. Returns false only when the reader fails; sets
  // `keep` to false for values a profile cannot hold (objects, nulls inside lists). The compact
  // reader leaves objects and nested lists to the general one, whose text was validated whole
  // before (so that nesting is bounded as there).
  template <class R>
  bool readUntyped(R& r, Value& out, bool& keep, int depth) {
    json::Kind k = json::Kind::Null;
    if (!r.peekKind(k)) return fromReader();
    switch (k) {
      case json::Kind::String: {
        std::string_view raw;
        bool esc = false;
        if (!r.string(raw, esc)) return fromReader();
        out = Value::str({});
        json::Scanner::decode(raw, esc, out.s);
        return true;
      }
      case json::Kind::Number: {
        std::string_view text;
        if (!r.number(text)) return fromReader();
        int64_t iv = 0;
        if (isIntegerText(text)) {
          auto res = std::from_chars(text.data(), text.data() + text.size(), iv);
          if (res.ec == std::errc()) {
            out = Value::integer(iv);
            return true;
          }
        }
        double d = 0;
        auto res = std::from_chars(text.data(), text.data() + text.size(), d);
        if (res.ec != std::errc() || !std::isfinite(d)) keep = false;
        out = Value::flt(d);
        return true;
      }
      case json::Kind::True:
      case json::Kind::False:
        if (!r.literal(k)) return fromReader();
        out = Value::boolean(k == json::Kind::True);
        return true;
      case json::Kind::Null:
        if (!r.literal(k)) return fromReader();
        keep = false;
        return true;
      case json::Kind::Array: {
        if (!R::kGeneral && depth > 0) return fromReader();
        out = Value{};
        out.kind = Value::Kind::List;
        if (depth > 0) keep = false;  // lists of lists have no trig type
        r.expect('[', "'['");
        if (r.take(']')) return true;
        do {
          out.list.emplace_back();
          if (!readUntyped(r, out.list.back(), keep, depth + 1)) return false;
        } while (r.take(','));
        if (!r.expect(']', "',' or ']'")) return fromReader();
        // A list's items must share one type to be a trig list.
        for (const auto& v : out.list)
          if (v.kind != out.list.front().kind || v.kind == Value::Kind::List) keep = false;
        return true;
      }
      case json::Kind::Object:
        if (!R::kGeneral) return fromReader();
        keep = false;
        if (!r.skipValue()) return fromReader();
        return true;
    }
    return true;
  }

  // The position of a wire name in a table: exact name first, then its snake_case spelling,
  // then the `from` names (matched exactly).
  uint32_t lookup(const FieldTable& table, std::string_view name) {
    if (uint32_t k = table.byName.find(name); k != NameIndex::kNotFound) return k;
    if (hasUpper(name)) {
      snakeCaseInto(name, snake);
      if (uint32_t k = table.byName.find(snake); k != NameIndex::kNotFound) return k;
    }
    if (uint32_t k = table.byAlias.find(name); k != NameIndex::kNotFound) return k;
    return core::kNone;
  }

  // ---- track properties ----

  // Event::fields as a row of `width` values, whatever they hold (every slot is then written).
  [[gnu::always_inline]] void fieldsOfWidth(Event& out, size_t width) {
    const size_t old = out.fields.size();
    if (old == width) return;
    // The usual change of type, both rows at hand: resizeFields' two swaps, inline (a call of it
    // cost about 78 instructions). (From an empty row, the first swap trades two empty rows.)
    if (old < spareRows.size() && width < spareRows.size() && spareRows[old].empty() &&
        spareRows[width].size() == width) {
      out.fields.swap(spareRows[old]);
      out.fields.swap(spareRows[width]);
      return;
    }
    resizeFields(out, width);
  }
  [[gnu::noinline]] void resizeFields(Event& out, size_t width) {
    releaseFields(out);
    if (width < spareRows.size() && spareRows[width].size() == width)
      out.fields.swap(spareRows[width]);
    else
      out.fields.resize(width);
  }
  // Empties Event::fields, keeping the row for a later event of its width when there is room.
  void releaseFields(Event& out) {
    const size_t width = out.fields.size();
    if (width == 0) return;
    if (width < spareRows.size() && spareRows[width].empty()) out.fields.swap(spareRows[width]);
    out.fields.clear();
  }

  // Reads the properties object at the reader (none when `r` is null) into out.fields: each key
  // matched to its field (in place when it is the field's own name: the key that followed the
  // previous key last time, else a later one in declared order), null not sent, each value
  // converted, then defaults and required fields. A key sent twice, or a field filled twice, is
  // looked for with a bit per field and the unrecognised keys' list; when either says "maybe",
  // the object is read again from its start keeping every key (`careful`), which decides.
  template <class R>
  bool readProperties(R* r, uint32_t eventPos, Event& out) {
    const plan::IngestEvent& info = model.events[eventPos];
    FieldTable& table = events[eventPos];
    const size_t n = table.fields.size();
    fieldsOfWidth(out, table.width);
    if (n > 64) [[unlikely]]
      return readPropertiesCarefully(r, info, table, out);
    uint64_t seenMask = 0;
    if (r) {
      R local = *r;  // (in registers: see onCopy)
      if (!readMembers<false>(local, info, table, out, seenMask)) {
        if (broken || !reason->empty()) {
          *r = local;
          return false;
        }
        // Maybe a key sent twice: again from the start, keeping every key.
        return readPropertiesCarefully(r, info, table, out);
      }
      *r = local;
    }
    // (Only the fields no key filled are visited: a bit each.)
    uint64_t missing = ~seenMask & (n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1);
    while (missing != 0) {
      const auto k = static_cast<size_t>(std::countr_zero(missing));
      missing &= missing - 1;
      if (!defaultOf(info, table, out, k)) return false;
    }
    return true;
  }
  template <class R>
  [[gnu::noinline]] bool readPropertiesCarefully(R* r, const plan::IngestEvent& info,
                                                 FieldTable& table, Event& out) {
    seen.assign(table.fields.size(), 0);
    if (r) {
      R local = *r;
      uint64_t unused = 0;
      const bool ok = readMembers<true>(local, info, table, out, unused);
      *r = local;
      if (!ok) return false;
    }
    return defaults(info, table, out, [&](size_t k) { return seen[k] != 0; });
  }
  // The fields no key filled (`filled(k)` false): their default, absent when optional, else the
  // event is invalid.
  template <class Filled>
  [[gnu::always_inline]] bool defaults(const plan::IngestEvent& info, const FieldTable& table,
                                       Event& out, Filled filled) {
    const size_t n = table.fields.size();
    for (size_t k = 0; k < n; ++k)
      if (!filled(k) && !defaultOf(info, table, out, k)) return false;
    return true;
  }
  // Field `k`, which no key filled: its default, absent when optional, else the event is invalid.
  [[gnu::always_inline]] bool defaultOf(const plan::IngestEvent& info, const FieldTable& table,
                                        Event& out, size_t k) {
    const plan::IngestField& f = *table.fields[k];
    Value& v = out.fields[f.slot];
    if (table.defaults[k]) {
      v = *table.defaults[k];
    } else if (f.optional) {
      clearValue(v);
    } else {
      return fail("missing required property '" + f.name + "' of event '" + info.name + "'");
    }
    return true;
  }
  // The members of a properties object (readProperties): with a bit per field and the
  // unrecognised keys' list, or `careful`, keeping every key (and `seen`). False with `reason`
  // empty: not careful, and a key may be sent twice.
  template <bool careful, class R>
  [[gnu::always_inline]] bool readMembers(R& r, const plan::IngestEvent& info, FieldTable& table,
                                          Event& out, uint64_t& seenMask) {
    const size_t n = table.fields.size();
    reason->clear();
    if (!r.expect('{', "'{'")) return fromReader();
    if (r.take('}')) return true;
    if constexpr (careful) propertyKeys.clear();
    uint64_t keyMask = 0;  // fields a key named, null or not
    SkippedKeys skipped;
    Subject subj{"property", nullptr, &info.name, -1};  // (its field set per key)
    auto prev = static_cast<uint32_t>(n);  // the field of the previous key (n: none yet)
    do {
      std::string_view name;
      uint32_t idx = table.nextAfter[prev];
      if (idx == core::kNone || !r.take(table.quotedNames[idx])) {
        idx = core::kNone;
        for (auto k = prev == n ? 0 : prev + 1; k < n; ++k) {
          if (r.take(table.quotedNames[k])) {
            idx = static_cast<uint32_t>(k);
            break;
          }
        }
        if (idx == core::kNone) {
          bool esc = false;
          if (!r.key(name, esc)) return fromReader();
          name = textOf(name, esc, key);
          idx = lookup(table, name);
          if (idx == core::kNone) {
            if constexpr (careful) {
              if (!propertyKeys.add(name))
                return fail(twiceMessage(name, " in the properties of event '" + info.name + "'"));
            } else if (esc || skipped.add(name) != SkippedKeys::kNew) {
              return false;
            }
            if (!r.skipValue()) return fromReader();
            continue;
          }
        }
        table.nextAfter[prev] = idx;
      }
      prev = idx;
      const plan::IngestField& f = *table.fields[idx];
      uint64_t bit = 0;
      if constexpr (!careful) {
        bit = uint64_t{1} << idx;
        if (keyMask & bit) return false;
        keyMask |= bit;
      } else {
        if (name.empty()) name = f.name;  // matched in place
        if (!propertyKeys.add(name))
          return fail(twiceMessage(name, " in the properties of event '" + info.name + "'"));
      }
      if (r.at('n')) {
        // null is "not sent": it neither fills the field nor empties it.
        if (!r.literal(json::Kind::Null)) return fromReader();
        continue;
      }
      subj.field = &f;
      if (careful && seen[idx]) {
        if (!readTyped(r, f, again, subj)) return false;
        if (!(again == out.fields[f.slot])) return fail(filledTwice(subj, name));
        continue;
      }
      if (!readTyped(r, f, out.fields[f.slot], subj)) return false;
      if constexpr (careful)
        seen[idx] = 1;
      else
        seenMask |= bit;
    } while (r.take(','));
    if (!r.expect('}', "',' or '}'")) return fromReader();
    return true;
  }

  // ---- identify traits ----

  // Entry `k` of Event::traits named `name` (its value as it was: the caller sets it). The
  // entries of Event::traits are reused, keeping their buffers.
  static Value& traitEntry(Event& out, size_t k, std::string_view name) {
    if (k < out.traits.size()) {
      setRepeated(out.traits[k].first, name);
      return out.traits[k].second;
    }
    out.traits.emplace_back(std::string(name), Value{});
    return out.traits.back().second;
  }

  // Reads the traits object at the reader (none when `r` is null) into out.traits. A trait of
  // the wrong type makes the identify invalid (the first one gives the reason), but reading goes
  // on to the end so that `subscribed` is always seen: `unsubscribes` is then set when the line
  // carries a `subscribed` that is not a readable `true` (opt-out fails closed, spec section 6).
  // `subscribed: null` is no change (only a true resubscribes). A key sent twice is looked for as
  // in readProperties (`careful`). The compact reader leaves every error to the general one.
  template <class R>
  bool readTraits(R* r, Event& out, bool& unsubscribes) {
    unsubscribes = false;
    if (out.traits.empty()) out.traits.swap(spareTraits);
    if (!r) {
      out.traits.clear();
      return true;
    }
    const auto start = r->pos();
    bool careful = false;
    size_t count = 0;
    while (!readTraitMembers(*r, out, careful, count, unsubscribes)) {
      if (broken || careful || !reason->empty()) return false;
      careful = true;
      r->seek(start);
    }
    if (out.traits.size() > count) out.traits.resize(count);
    if (traitsReason.empty()) return true;
    return fail(std::move(traitsReason));
  }
  template <class R>
  bool readTraitMembers(R& r, Event& out, bool careful, size_t& count, bool& unsubscribes) {
    const size_t n = traits.fields.size();
    reason->clear();
    traitsReason.clear();
    count = 0;
    unsubscribes = false;
    if (!r.expect('{', "'{'")) return fromReader();
    if (r.take('}')) return true;
    if (careful) {
      traitKeys.clear();
      traitAt.assign(n, core::kNone);
    }
    uint64_t keyMask = 0;
    SkippedKeys skipped;
    // The trait that followed the previous one last time, matched in place (`"name":`, its exact
    // name: what lookup() would find first), as readMembers does for properties.
    auto prev = static_cast<uint32_t>(n);
    do {
      std::string_view name;
      bool esc = false;
      uint32_t idx = traits.nextAfter[prev];
      if (idx != core::kNone && r.take(traits.quotedNames[idx])) {
        name = traits.fields[idx]->name;
      } else {
        if (!r.key(name, esc)) return fromReader();
        name = textOf(name, esc, key);
        idx = lookup(traits, name);
        if (idx != core::kNone) traits.nextAfter[prev] = idx;
      }
      if (idx != core::kNone) prev = idx;
      if (careful) {
        if (!traitKeys.add(name) && traitsReason.empty())
          traitsReason = twiceMessage(name, " in the traits");
      } else if (idx == core::kNone || idx >= 64) {
        if (esc || skipped.add(name) != SkippedKeys::kNew) return false;
      } else {
        const uint64_t bit = uint64_t{1} << idx;
        if (keyMask & bit) return false;
        keyMask |= bit;
      }
      json::Kind k = json::Kind::Null;
      if (!r.peekKind(k)) return fromReader();
      if (idx != core::kNone) {
        const plan::IngestField& f = *traits.fields[idx];
        const bool twice = careful && traitAt[idx] != core::kNone;
        Value& v = twice ? again : traitEntry(out, count, f.name);
        const Subject subj{"trait", &f, nullptr, -1};
        if (k == json::Kind::Null) {
          if (!r.literal(k)) return fromReader();
          if (idx == subscribedTrait) continue;
          clearValue(v);
        } else {
          r.ws();
          const auto valueStart = r.pos();
          if (!readTyped(r, f, v, subj)) {
            // The compact reader skips a scalar only: a list or object is skipped by the general
            // reader, after the whole traits object was checked (and its nesting bounded).
            if (broken || (!R::kGeneral && (k == json::Kind::Array || k == json::Kind::Object)))
              return fromReader();
            if (idx == subscribedTrait) unsubscribes = true;
            if (traitsReason.empty()) traitsReason = std::move(*reason);
            reason->clear();
            r.seek(valueStart);
            if (!r.skipValue()) return fromReader();
            continue;
          }
          if (idx == subscribedTrait && !v.b) unsubscribes = true;
        }
        // A null trait is a change too (it removes the trait): filled twice, both must agree.
        if (twice) {
          if (!(out.traits[traitAt[idx]].second == v) && traitsReason.empty())
            traitsReason = filledTwice(subj, name);
          continue;
        }
        if (careful) traitAt[idx] = static_cast<uint32_t>(count);
        ++count;
        continue;
      }
      Value& v = traitEntry(out, count, name);
      if (k == json::Kind::Null) {
        if (!r.literal(k)) return fromReader();
        clearValue(v);
        ++count;
        continue;
      }
      bool keep = true;
      if (!readUntyped(r, v, keep, 0)) return false;
      if (keep) ++count;
    } while (r.take(','));
    if (!r.expect('}', "',' or '}'")) return fromReader();
    return true;
  }

  // ---- one line ----

  // The top-level members the decoder reads, and the order of the last line's (the guess).
  enum TopMember : uint8_t {
    kType,
    kEvent,
    kUserId,
    kTimestamp,
    kMessageId,
    kProperties,
    kTraits,
    kAnonymousId,
    kPreviousId,
    kMembers
  };
  static constexpr std::string_view kMemberName[kMembers] = {
      "type",       "event",  "userId",      "timestamp", "messageId",
      "properties", "traits", "anonymousId", "previousId"};
  static constexpr std::string_view kQuotedMember[kMembers] = {
      "\"type\":",       "\"event\":",  "\"userId\":",      "\"timestamp\":", "\"messageId\":",
      "\"properties\":", "\"traits\":", "\"anonymousId\":", "\"previousId\":"};
  static constexpr size_t kGuessedMembers = 8;
  uint8_t lastMembers[kGuessedMembers] = {kType,      kEvent,      kUserId, kTimestamp,
                                          kMessageId, kProperties, kTraits, kType};

  static int memberOf(std::string_view name) {
    switch (name.size()) {
      case 4:
        if (is(name, "type")) return kType;
        break;
      case 5:
        if (is(name, "event")) return kEvent;
        break;
      case 6:
        if (is(name, "userId")) return kUserId;
        if (is(name, "traits")) return kTraits;
        break;
      case 9:
        if (is(name, "timestamp")) return kTimestamp;
        if (is(name, "messageId")) return kMessageId;
        break;
      case 10:
        if (is(name, "properties")) return kProperties;
        if (is(name, "previousId")) return kPreviousId;
        break;
      case 11:
        if (is(name, "anonymousId")) return kAnonymousId;
        break;
      default: break;
    }
    return -1;
  }

  // One member's value as read, kept for what is decided at the line's end: strings as the text
  // between the quotes, other values as their whole text (an object is read again from it).
  // (Trivial, left uninitialized in Line: only the members sent are read, and zeroing nine views
  // would cost on every line.)
  struct Member {
    const char* data;
    size_t size;
    json::Kind kind;
    bool escaped;
    std::string_view raw() const { return {data, size}; }
    void set(std::string_view text, json::Kind k, bool esc) {
      data = text.data();
      size = text.size();
      kind = k;
      escaped = esc;
    }
  };
  // What a call is (`type`).
  enum Call : uint8_t { kTrackCall, kIdentifyCall, kPageCall, kAliasCall, kUnsupportedCall };

  // A line's members, each interpreted as it is read: the ids, the stamp and the messageId
  // converted straight into the Event, the type classified, the properties (and, with the compact
  // reader, an identify's traits) read in place. What is wrong with a member is only noted
  // (`wrong`, with the member kept in `m`): the end of the line decides, in the order the spec
  // ranks errors, which one a line with several gets (a line that is not JSON, or has a key sent
  // twice, gets that one whatever else is wrong).
  // (Set member by member as the line is read: decodeWith sets keys, sent, wrong, call,
  // propertiesRead and traitsRead first, the rest only when these say so.)
  struct Line {
    Member m[kMembers];  // kept: event, anonymousId, previousId, properties, traits, and the wrong
    unsigned keys;       // a bit per TopMember whose key was sent
    unsigned sent;       // ... with a value other than null (null counts as not sent)
    unsigned wrong;      // ... with a value that is not what the member takes (kept in `m`)
    Call call;           // `type` (track when not sent; only meaningful when not wrong)
    bool has(int member) const { return (sent & (1u << member)) != 0; }
    bool isWrong(int member) const { return (wrong & (1u << member)) != 0; }
    // isWrong, known false on a usual line (see meaning: the checks then compile away).
    template <bool unusual>
    bool wrongAt(int member) const {
      return unusual && isWrong(member);
    }
    // Properties read in the pass over the line, for `event` (their error in propertiesReason).
    bool propertiesRead;
    bool propertiesOk;
    uint32_t propertiesEvent;
    // Traits read in the pass over the line (the compact reader, after `"type":"identify"`; their
    // error in traitsLater).
    bool traitsRead;
    bool traitsOk;
    bool unsubscribes;
  };

  [[gnu::noinline]] bool notAString(const Member& m, const char* name) {
    return fail(std::string(name) + " must be a string, got " + json::kindName(m.kind));
  }

  // A top-level member's string value (the text between the quotes, `escaped` when it has
  // escapes), interpreted: false when the member does not take it (the caller keeps it).
  [[gnu::always_inline]] bool stringMember(int mi, std::string_view raw, bool escaped, Call& call,
                                           Line& l, Event& out) {
    switch (mi) {
      case kType: {
        const std::string_view t = textOf(raw, escaped, str);
        if (is(t, "track")) {
          call = kTrackCall;
        } else if (is(t, "identify")) {
          call = kIdentifyCall;
        } else if (is(t, "page")) {
          call = kPageCall;
        } else if (is(t, "alias")) {
          call = kAliasCall;
        } else {
          call = kUnsupportedCall;
          return false;
        }
        return true;
      }
      case kEvent: l.m[kEvent].set(raw, json::Kind::String, escaped); return true;
      case kUserId: setText(out.customer, raw, escaped); return true;
      case kTimestamp: {
        const auto t = timestamps.parse(textOf(raw, escaped, str));
        if (!t) return false;
        out.time = *t;
        return true;
      }
      case kMessageId: setText(out.messageId, raw, escaped); return true;
      case kAnonymousId:
      case kPreviousId: l.m[mi].set(raw, json::Kind::String, escaped); return true;
      default: return false;  // properties, traits
    }
  }

  // Sets out.customer (the userId was converted as it was read), out.anonymousId and
  // out.identified from the ids (spec section 8): the userId when sent; else the anonymous visitor
  // `anon:<anonymousId>`. An alias call needs a userId and a previousId (the anonymous id it
  // merges, kept in out.anonymousId; its own anonymousId means nothing). An empty or null
  // anonymousId counts as not sent.
  template <bool unusual>
  [[gnu::always_inline]] bool readIds(const Line& l, bool alias, Event& out) {
    out.anonymousId.clear();
    out.identified = l.has(kUserId);
    const int anon = alias ? kPreviousId : kAnonymousId;
    if (unusual && l.has(anon)) [[unlikely]] {
      const Member& m = l.m[anon];
      if (m.kind != json::Kind::String) return notAString(m, alias ? "previousId" : "anonymousId");
      setText(out.anonymousId, m.raw(), m.escaped);
    }
    if (alias && out.anonymousId.empty()) return fail("an alias call needs a previousId");
    if (l.has(kUserId)) [[likely]] {
      if (l.wrongAt<unusual>(kUserId)) return notAString(l.m[kUserId], "userId");
      if (out.customer.empty()) return fail("userId is empty");
      return true;
    }
    if (alias || out.anonymousId.empty()) return fail("missing userId");
    out.customer = "anon:" + out.anonymousId;
    return true;
  }

  // The rest of an identify call (type, ids and timestamp are read): its traits, or when the line
  // is invalid but says the customer is not subscribed, `failedClosed` and in `out` the change
  // that must be applied anyway. `envelopeOk` is false when messageId was invalid.
  template <class R>
  bool readIdentify(R& r, Line& l, Event& out, bool envelopeOk) {
    out.kind = Event::Kind::Identify;
    out.type = core::kNone;
    setRepeated(out.name, "identify");
    releaseFields(out);
    const Member& traitsM = l.m[kTraits];
    if (l.has(kTraits) && traitsM.kind != json::Kind::Object) {
      out.traits.clear();
      if (!envelopeOk) return false;
      return fail(std::string("traits must be an object, got ") + json::kindName(traitsM.kind));
    }
    std::string envelopeReason = envelopeOk ? std::string() : std::move(*reason);
    bool unsubscribes = l.unsubscribes;
    bool traitsOk = l.traitsOk;
    if (l.traitsRead) {
      if (!traitsOk) *reason = std::move(traitsLater);
    } else {
      if (l.has(kTraits)) {
        R sub = r.over(traitsM.raw());
        traitsOk = readTraits(&sub, out, unsubscribes);
      } else {
        traitsOk = readTraits(static_cast<R*>(nullptr), out, unsubscribes);
      }
      if (broken) return false;
    }
    if (envelopeOk && traitsOk) return true;
    if (!envelopeOk) *reason = std::move(envelopeReason);
    if (unsubscribes) {
      failedClosed = true;
      out.messageId.clear();
      out.traits.clear();
      out.traits.emplace_back(traits.fields[subscribedTrait]->name, Value::boolean(false));
    }
    return false;
  }

  // The usual start of a line, as producers send it (Segment's libraries): usualStart and
  // usualStamp match these bytes in place.
  static constexpr std::string_view kTrackStart = "{\"type\":\"track\",\"event\":\"",
                                    kIdentifyStart = "{\"type\":\"identify\",\"userId\":\"",
                                    kNextUserId = ",\"userId\":\"",
                                    kNextStamp = ",\"timestamp\":\"";

  // The whole line, read by `r`: its members in one pass, each interpreted as it is read (see
  // Line), then the checks that need the whole line, in the order that decides which error a line
  // with several gets.
  //
  // The reader is taken by value, so that the compact reader's pointers can stay in registers
  // (see onCopy); when the general reader fails, its message is the reason.
  template <class R>
  bool decodeWith(R r, Event& out, std::optional<TimeMs> receivedAt) {
    const bool ok = decodeLine(r, out, receivedAt);
    if constexpr (R::kGeneral) {
      if (!ok && broken) return jsonError(r.scanner());
    }
    return ok;
  }
  // The usual start of a line, read with the compact reader: `{"type":"track","event":"...",
  // "userId":"...","timestamp":"...","properties":{...}` or `{"type":"identify","userId":"...",
  // "timestamp":"...","traits":{...}`, each key matched with what comes before and after it, as
  // far as the line goes that way. False when the line does not start so (nothing read);
  // otherwise the members read are in the bits, `position` is the next member's and `more` says
  // whether one follows (the line's member loop goes on from there); `broken` when the reader
  // failed. Each member means what it means in the loop (stringMember, propertiesAt, traitsAt).
  template <class R>
  [[gnu::always_inline]] bool usualStart(R& r, Event& out, Line& l, unsigned& keys, unsigned& sent,
                                         unsigned& wrong, Call& call, size_t& position,
                                         bool& more) {
    if (r.take(kTrackStart))
      return usualRest<true>(r, out, l, keys, sent, wrong, call, position, more);
    if (r.take(kIdentifyStart))
      return usualRest<false>(r, out, l, keys, sent, wrong, call, position, more);
    return false;
  }
  // usualStart after `{"type":"track",` (a track call's event name first) or
  // `{"type":"identify",`: what both shapes share is userId, timestamp, then the object
  // (properties or traits). One body, made twice by the template: each shape's keys compared as
  // constants, with no test of which shape it is on the way.
  template <bool track, class R>
  [[gnu::always_inline]] bool usualRest(R& r, Event& out, Line& l, unsigned& keys, unsigned& sent,
                                        unsigned& wrong, Call& call, size_t& position, bool& more) {
    static constexpr std::string_view kNextObject =
        track ? std::string_view(",\"properties\":{") : std::string_view(",\"traits\":{");
    constexpr int kObject = track ? kProperties : kTraits;
    keys = sent = 1u << kType;
    call = track ? kTrackCall : kIdentifyCall;
    position = 1;
    if constexpr (track) {
      if (!usualString(r, kEvent, out, l, keys, sent, wrong, call, position))
        return fromReader(), true;
      if (!r.take(kNextUserId)) {
        more = r.take(',');
        return true;
      }
    }
    if (!usualString(r, kUserId, out, l, keys, sent, wrong, call, position))
      return fromReader(), true;
    if (r.take(kNextStamp)) {
      if (!usualStampValue(r, out, l, keys, sent, wrong, call, position)) return fromReader(), true;
      if (r.take(kNextObject) &&
          !usualObject(r, kObject, out, l, keys, sent, wrong, call, position))
        return true;
    }
    more = r.take(',');
    return true;
  }
  // usualStart's members: a string value after its key and opening quote, an object after its
  // key and opening brace (taken back here). False when the reader failed.
  // (Functions rather than lambdas, which GCC does not inline here: the reader would then live
  // in memory for the whole line, which cost about 225 instructions per line.)
  template <class R>
  [[gnu::always_inline]] bool usualString(R& r, int mi, Event& out, Line& l, unsigned& keys,
                                          unsigned& sent, unsigned& wrong, Call& call,
                                          size_t& position) {
    keys |= 1u << mi;
    sent |= 1u << mi;
    ++position;
    return stringValue(r, mi, call, l, out, wrong);
  }
  // The timestamp's value (usualString for kTimestamp): the usual stamp read in place, with no
  // scan for its closing quote.
  template <class R>
  [[gnu::always_inline]] bool usualStampValue(R& r, Event& out, Line& l, unsigned& keys,
                                              unsigned& sent, unsigned& wrong, Call& call,
                                              size_t& position) {
    if constexpr (!R::kGeneral) {
      if (r.stringOfSize(24,
                         [&](std::string_view s) { return timestamps.parseUsual(s, out.time); })) {
        keys |= 1u << kTimestamp;
        sent |= 1u << kTimestamp;
        ++position;
        return true;
      }
    }
    return usualString(r, kTimestamp, out, l, keys, sent, wrong, call, position);
  }
  template <class R>
  [[gnu::always_inline]] bool usualObject(R& r, int mi, Event& out, Line& l, unsigned& keys,
                                          unsigned& sent, unsigned& wrong, Call& call,
                                          size_t& position) {
    keys |= 1u << mi;
    sent |= 1u << mi;
    ++position;
    r.seek(r.pos() - 1);
    return mi == kProperties ? propertiesAt(r, l, out, sent, wrong, call)
                             : traitsAt(r, l, out, sent, call);
  }
  // A member's string value, after its opening quote: what stringMember makes of it (noted wrong
  // and kept when the member does not take it). False when the reader failed.
  template <class R>
  [[gnu::always_inline]] bool stringValue(R& r, int mi, Call& call, Line& l, Event& out,
                                          unsigned& wrong) {
    std::string_view raw;
    bool esc = false;
    if (!r.stringBody(raw, esc)) return false;
    if (!stringMember(mi, raw, esc, call, l, out)) [[unlikely]] {
      wrong |= 1u << mi;
      l.m[mi].set(raw, json::Kind::String, esc);
    }
    return true;
  }
  // The properties object at the reader: read in place when the members before say how
  // (readPropertiesInPlace), else only checked to be JSON and kept. False when the reader failed
  // (`broken`).
  template <class R>
  [[gnu::always_inline]] bool propertiesAt(R& r, Line& l, Event& out, unsigned sent, unsigned wrong,
                                           Call call) {
    const auto start = r.pos();
    if (readPropertiesInPlace(r, l, out, (sent & ~wrong) & (1u << kEvent), call)) {
      if (broken) return false;
    } else if (!r.skipValue()) {
      return fromReader();
    }
    // (Read again only if the properties were not read in place, or a later `"type":"page"`
    // says they are a page's.)
    l.m[kProperties].set(r.since(start), json::Kind::Object, false);
    return true;
  }
  // The traits object at the reader: with the compact reader, after `"type":"identify"`, read in
  // place (the general reader reads them from the checked text afterwards); else only checked to
  // be JSON and kept. False when the reader failed (`broken`).
  template <class R>
  [[gnu::always_inline]] bool traitsAt(R& r, Line& l, Event& out, unsigned sent, Call call) {
    const auto start = r.pos();
    if (!R::kGeneral && (sent & (1u << kType)) && call == kIdentifyCall) {
      std::string* finalReason = reason;
      reason = &traitsLater;
      l.traitsRead = true;
      l.traitsOk = onCopy(r, [&](R& c) { return readTraits(&c, out, l.unsubscribes); });
      reason = finalReason;
      if (broken) return false;
    } else if (!r.skipValue()) {
      return fromReader();
    }
    l.m[kTraits].set(r.since(start), json::Kind::Object, false);
    return true;
  }

  template <class R>
  [[gnu::always_inline]] bool decodeLine(R& r, Event& out, std::optional<TimeMs> receivedAt) {
    static constexpr std::string_view kTrack = "\"track\"", kIdentify = "\"identify\"";
    Line l;
    // (The bits and the call in locals while the line is read, so that they stay in registers;
    // into `l` at the end.)
    unsigned keys = 0, sent = 0, wrong = 0;
    Call call = kTrackCall;
    l.propertiesRead = false;
    l.traitsRead = false;
    l.traitsOk = true;
    l.unsubscribes = false;
    SkippedKeys skipped;
    bool manyKeys = false;  // unrecognised keys are in topKeys
    std::string_view twice;
    size_t position = 0;  // of the next member
    bool more = true;     // a member comes next (else the closing brace)
    bool closed = false;  // the closing brace was read (`{}`)
    if (R::kGeneral || !usualStart(r, out, l, keys, sent, wrong, call, position, more)) {
      if (!r.expect('{', "'{'")) return fromReader();
      // (`{}` is the general reader's: the compact one gives up at its missing key.)
      if (R::kGeneral && r.take('}')) more = false, closed = true;
    }
    if (broken) return false;
    if (more) {
      do {
        const size_t at = position++;
        int mi = -1;
        if (at < kGuessedMembers && r.take(kQuotedMember[lastMembers[at]])) {
          mi = lastMembers[at];
        } else {
          std::string_view name;
          bool esc = false;
          if (!r.key(name, esc)) return fromReader();
          name = textOf(name, esc, key);
          mi = memberOf(name);
          if (mi < 0) {
            // An unrecognised member: only checked to be JSON, and not sent twice.
            if (!noteUnrecognised(skipped, manyKeys, name, esc) && twice.empty())
              twice = keepKey(name);
            if (!r.skipValue()) return fromReader();
            continue;
          }
          if (at < kGuessedMembers) lastMembers[at] = static_cast<uint8_t>(mi);
        }
        const unsigned bit = 1u << mi;
        if ((keys & bit) && twice.empty()) [[unlikely]]
          twice = kMemberName[mi];
        keys |= bit;
        sent |= bit;  // (taken back below for a null)
        // The usual types, matched in place (the bytes say there is no escape).
        if (mi == kType) {
          if (r.take(kTrack)) {
            call = kTrackCall;
            continue;
          }
          if (r.take(kIdentify)) {
            call = kIdentifyCall;
            continue;
          }
        }
        if (r.stringStarts()) [[likely]] {
          if (!stringValue(r, mi, call, l, out, wrong)) return fromReader();
          continue;
        }
        json::Kind kind = json::Kind::Null;
        if (!r.peekKind(kind)) return fromReader();
        if (kind == json::Kind::Null) {
          sent &= ~bit;
          if (!r.literal(kind)) return fromReader();
          continue;
        }
        r.ws();
        if (kind == json::Kind::Object && (mi == kProperties || mi == kTraits)) {
          if (!(mi == kProperties ? propertiesAt(r, l, out, sent, wrong, call)
                                  : traitsAt(r, l, out, sent, call)))
            return false;
          continue;
        }
        // A value the member does not take.
        const auto start = r.pos();
        if (!r.skipValue()) return fromReader();
        l.m[mi].set(r.since(start), kind, false);
        wrong |= bit;
        if (mi == kType) call = kUnsupportedCall;
      } while (r.take(','));
    }
    if (!closed && !r.expect('}', "',' or '}'")) return fromReader();
    if (!r.finished()) return fromReader();
    if (!twice.empty()) return fail(twiceMessage(twice, ""));
    l.sent = sent;
    l.wrong = wrong;
    l.call = call;
    constexpr unsigned kAnonymous = (1u << kAnonymousId) | (1u << kPreviousId);
    if ((wrong | (sent & kAnonymous)) == 0 && call <= kIdentifyCall) [[likely]]
      return onCopy(r, [&](R& c) { return meaning<false>(c, l, out, receivedAt); });
    return onCopy(r, [&](R& c) { return meaning<true>(c, l, out, receivedAt); });
  }
  // Notes an unrecognised top-level key; false when it was sent before. The first eight keys
  // are compared in place, any more (or a key spelled with escapes) in topKeys (`manyKeys`).
  [[gnu::noinline]] bool noteUnrecognised(SkippedKeys& skipped, bool& manyKeys,
                                          std::string_view name, bool escaped) {
    if (!manyKeys && !escaped) {
      const auto added = skipped.add(name);
      if (added != SkippedKeys::kFull) return added == SkippedKeys::kNew;
    }
    if (!manyKeys) {
      manyKeys = true;
      topKeys.clear();
      for (size_t k = 0; k < skipped.n; ++k)
        topKeys.add(std::string_view(skipped.data[k], skipped.size[k]));
    }
    return topKeys.add(name);
  }
  // An unrecognised key sent twice, kept past the line's scratch buffers.
  std::string_view keepKey(std::string_view name) {
    twiceKey.assign(name);
    return twiceKey;
  }
  std::string twiceKey;

  // When `event` came before `properties` (the usual order) and names a declared event, and the
  // type said so far is a track, reads the properties in the pass over the line instead of
  // reading them twice. Their error is kept aside (propertiesReason): it counts only if the line
  // turns out to be a track of that event (a later "type":"identify" changes that), and the rest
  // of the object is then still read as JSON. False when it does not apply.
  template <class R>
  [[gnu::always_inline]] bool readPropertiesInPlace(R& r, Line& l, Event& out, bool eventSent,
                                                    Call call) {
    const Member& event = l.m[kEvent];
    if (!eventSent || event.escaped || call != kTrackCall) return false;
    const uint32_t found = eventIndex.find(event.raw());
    if (found == NameIndex::kNotFound) return false;
    const auto start = r.pos();
    std::string* finalReason = reason;
    reason = &propertiesReason;
    l.propertiesOk = onCopy(r, [&](R& c) { return readProperties(&c, found, out); });
    reason = finalReason;
    l.propertiesRead = true;
    l.propertiesEvent = found;
    if (l.propertiesOk || broken) return true;
    // A type error: validate the rest of the object as JSON and go on.
    r.seek(start);
    if (!r.skipValue()) fromReader();
    return true;
  }

  // The checks that need the whole line (spec section 8), in the order that decides which error a
  // line with several gets: each member's value was interpreted as it was read.
  //
  // (`unusual`: a member is wrong, or an anonymousId or previousId was sent, or the call is not a
  // track or an identify. On a usual line, the checks for these compile away.)
  template <bool unusual, class R>
  bool meaning(R& r, Line& l, Event& out, std::optional<TimeMs> receivedAt) {
    // type
    const Call call = l.call;  // (track when not sent)
    if (l.wrongAt<unusual>(kType)) [[unlikely]] {
      const Member& type = l.m[kType];
      if (type.kind != json::Kind::String)
        return fail(std::string("type must be a string, got ") + json::kindName(type.kind));
      return fail("unsupported type '" + std::string(textOf(type.raw(), type.escaped, str)) +
                  "' (expected \"track\", \"identify\", \"page\" or \"alias\")");
    }
    // userId, anonymousId, previousId
    if (!readIds<unusual>(l, unusual && call == kAliasCall, out)) return false;
    // timestamp
    if (l.has(kTimestamp)) {
      if (l.wrongAt<unusual>(kTimestamp)) [[unlikely]] {
        const Member& stamp = l.m[kTimestamp];
        if (stamp.kind != json::Kind::String)
          return fail(std::string("timestamp must be a string, got ") + json::kindName(stamp.kind));
        return fail("unparsable timestamp \"" +
                    std::string(textOf(stamp.raw(), stamp.escaped, str)) +
                    "\" (expected RFC 3339, such as 2026-01-01T10:00:00Z)");
      }
    } else if (receivedAt) {
      out.time = *receivedAt;
    } else {
      return fail("missing timestamp");
    }
    // messageId
    bool messageIdOk = true;
    if (!l.has(kMessageId))
      out.messageId.clear();
    else if (l.wrongAt<unusual>(kMessageId)) [[unlikely]]
      messageIdOk = notAString(l.m[kMessageId], "messageId");
    if (call == kIdentifyCall) return readIdentify(r, l, out, messageIdOk);
    if (!messageIdOk) return false;
    if (!out.traits.empty()) {
      if (spareTraits.empty()) out.traits.swap(spareTraits);
      out.traits.clear();
    }
    if (unusual && call == kAliasCall) {
      // Nothing but the merge (spec section 8): not activity, no properties, no traits.
      out.kind = Event::Kind::Alias;
      out.type = core::kNone;
      setRepeated(out.name, "alias");
      releaseFields(out);
      return true;
    }
    if (unusual && call == kPageCall) {
      // A Segment page call is a page_view with the fields of its properties (spec section 3);
      // its `event`, if any, means nothing, nor do properties read for it.
      setRepeated(out.name, kPageView);
      l.propertiesRead = false;
    } else {
      if (!l.has(kEvent)) return fail("missing event name (\"event\")");
      const Member& event = l.m[kEvent];
      if (l.wrongAt<unusual>(kEvent))
        return fail(std::string("event must be a string, got ") + json::kindName(event.kind));
      setRepeated(out.name, textOf(event.raw(), event.escaped, str));
      if (out.name.empty()) return fail("event name is empty");
    }
    const Member& properties = l.m[kProperties];
    if (l.has(kProperties) && l.wrongAt<unusual>(kProperties))
      return fail(std::string("properties must be an object, got ") +
                  json::kindName(properties.kind));
    // The properties read in the pass were read for the event name in force (a second "event"
    // key makes the line invalid), which is out.name: no need to look it up again.
    const uint32_t found = l.propertiesRead ? l.propertiesEvent : eventIndex.find(out.name);
    if (found == NameIndex::kNotFound) {
      out.kind = Event::Kind::Undeclared;
      out.type = core::kNone;
      releaseFields(out);
      return true;
    }
    out.kind = Event::Kind::Track;
    out.type = found;
    if (l.propertiesRead) {
      if (!l.propertiesOk) *reason = std::move(propertiesReason);
      return l.propertiesOk;
    }
    if (!l.has(kProperties)) return readProperties(static_cast<R*>(nullptr), found, out);
    R sub = r.over(properties.raw());
    return readProperties(&sub, found, out);
  }

  // ---- the entry points ----

  bool decode(std::string_view line, Event& out, std::optional<TimeMs> receivedAt) {
    failedClosed = false;
    broken = false;
    if (fastPath) {
      if (decodeWith(CompactReader(line), out, receivedAt)) {
        ++stats.fast;
        return true;
      }
      if (!broken) {
        // Read to its end: the general reader would reject it with the same reason.
        ++stats.fast;
        return false;
      }
      failedClosed = false;
      broken = false;
      reason->clear();
    }
    ++stats.general;
    GeneralReader r(line);
    json::Scanner& sc = r.scanner();
    json::Kind k = json::Kind::Null;
    if (!sc.peekKind(k)) {
      if (sc.pos() >= line.size()) return fail("empty line");
      return jsonError(sc);
    }
    if (k != json::Kind::Object) {
      // Malformed input is reported as such, whatever its first character.
      if (!sc.skipValue()) return jsonError(sc);
      if (!sc.atEnd()) {
        sc.failUnexpected("the end of the line");
        return jsonError(sc);
      }
      return fail(std::string("expected a JSON object, got ") + json::kindName(k));
    }
    return decodeWith(GeneralReader(line), out, receivedAt);
  }

  // ---- the time alone (replay's ordering pass) ----

  // The line's members up to the top-level `timestamp`, read by `r`: 1 with the time, 0 when
  // there is none to read (decode() rejects the line), -1 when the compact reader gave up.
  template <class R>
  int peekWith(R& r, TimeMs& out) {
    static constexpr std::string_view kStampKey = "\"timestamp\":";
    if (!r.take('{')) return R::kGeneral ? 0 : -1;
    do {
      bool stamp = r.take(kStampKey);
      if (!stamp) {
        std::string_view name;
        bool esc = false;
        if (!r.key(name, esc)) return R::kGeneral ? 0 : -1;
        stamp = is(textOf(name, esc, key), "timestamp");
      }
      if (stamp) {
        std::string_view text;
        bool esc = false;
        if (!r.string(text, esc)) return R::kGeneral ? 0 : -1;
        const auto t = timestamps.parse(textOf(text, esc, str));
        if (!t) return 0;
        out = *t;
        return 1;
      }
      if (!r.skipValue()) return 0;  // not JSON: no reader finds a stamp after this
    } while (r.take(','));
    return R::kGeneral ? 0 : -1;  // (whitespace before a comma stops the compact reader too)
  }

  // The stamp's time of a line with the usual start, its strings plain (no escape): found by
  // the start's fixed bytes and the ends of the strings between them. False for any other line
  // (peekWith reads its members).
  [[gnu::always_inline]] bool usualStamp(std::string_view line, TimeMs& out) {
    CompactReader r(line);
    std::string_view text;
    bool escaped = false;
    if (r.take(kTrackStart)) {
      if (!r.stringBody(text, escaped) || escaped || !r.take(kNextUserId)) return false;
    } else if (!r.take(kIdentifyStart)) {
      return false;
    }
    if (!r.stringBody(text, escaped) || escaped || !r.take(kNextStamp)) return false;
    // The usual stamp in place (as in usualStampValue), else its text as any string's.
    if (r.stringOfSize(24, [&](std::string_view s) { return timestamps.parseUsual(s, out); }))
      return true;
    if (!r.stringBody(text, escaped) || escaped) return false;
    const auto t = timestamps.parse(text);
    if (!t) return false;
    out = *t;
    return true;
  }

  bool peekTime(std::string_view line, TimeMs& out) {
    if (usualStamp(line, out)) return true;
    CompactReader compact(line);
    const int found = peekWith(compact, out);
    if (found >= 0) return found == 1;
    GeneralReader general(line);
    return peekWith(general, out) == 1;
  }
};

Decoder::Decoder(plan::IngestPlan plan) : impl_(std::make_unique<Impl>(std::move(plan))) {}
Decoder::~Decoder() = default;

void Decoder::setFastPath(bool on) {
  impl_->fastPath = on;
}

bool Decoder::failedClosed() const {
  return impl_->failedClosed;
}

bool Decoder::peekTime(std::string_view line, TimeMs& out) {
  return impl_->peekTime(line, out);
}

const Decoder::Stats& Decoder::stats() const {
  return impl_->stats;
}

bool Decoder::decode(std::string_view line, Event& out, std::string& reason,
                     std::optional<TimeMs> receivedAt) {
  impl_->reason = &reason;
  return impl_->decode(line, out, receivedAt);
}

}  // namespace trig::ingest
