#include "runtime/ingest/decoder.h"

#include <algorithm>
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

// Resets a value to Absent keeping its buffers (fields are compared whole, so every member must
// be back to its default).
[[gnu::always_inline]] inline void clearValue(Value& v) {
  v.kind = Value::Kind::Absent;
  v.b = false;
  v.i = 0;
  v.f = 0;
  v.m = Decimal{};
  v.s.clear();
  if (!v.list.empty()) v.list.clear();
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
  uint32_t subscribedTrait = core::kNone;  // position of `subscribed` in `traits`
  bool failedClosed = false;               // see Decoder::failedClosed()
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
  bool jsonError(const json::Scanner& sc) {
    return fail("malformed JSON at column " + std::to_string(sc.errorPos() + 1) + ": " +
                sc.error());
  }

  // "property 'price' of event 'cart_add'" / "trait 'email'"
  struct Subject {
    const char* what;        // "property", "trait"
    std::string_view name;   // the field or trait
    std::string_view event;  // empty for traits
    int item = -1;           // list item (0-based), or -1
  };
  static std::string describe(const Subject& s) {
    std::string d;
    if (s.item >= 0) d = "item " + std::to_string(s.item + 1) + " of ";
    d += s.what;
    d += " '";
    d += s.name;
    d += '\'';
    if (!s.event.empty()) {
      d += " of event '";
      d += s.event;
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

  // ---- typed values ----

  // Reads the value at the scanner into `out` as type `t` (not a list).
  bool readScalar(json::Scanner& sc, core::TypeKind t, std::string_view want, Value& out,
                  const Subject& subj) {
    using core::TypeKind;
    json::Kind k = json::Kind::Null;
    if (!sc.peekKind(k)) return jsonError(sc);
    switch (t) {
      case TypeKind::String:
      case TypeKind::Time:
      case TypeKind::Duration: {
        if (t == TypeKind::String && k == json::Kind::Number) {
          // A number for a string field is its text as written (spec section 8).
          std::string_view text;
          if (!sc.number(text)) return jsonError(sc);
          clearValue(out);
          out.kind = Value::Kind::String;
          out.s.append(text);
          return true;
        }
        if (t == TypeKind::Duration && k == json::Kind::Number) return readSeconds(sc, out, subj);
        if (k != json::Kind::String) return gotOther(sc, k, subj, want);
        std::string_view raw;
        bool esc;
        if (!sc.string(raw, esc)) return jsonError(sc);
        if (t == TypeKind::String) {
          clearValue(out);
          out.kind = Value::Kind::String;
          json::Scanner::decode(raw, esc, out.s);
          return true;
        }
        json::Scanner::decode(raw, esc, str);
        if (t == TypeKind::Time) {
          auto tm = parseEventTimestamp(str);
          if (!tm) return fail(describe(subj) + " must be an RFC 3339 time, got \"" + str + "\"");
          clearValue(out);
          out.kind = Value::Kind::Time;
          out.i = *tm;
          return true;
        }
        auto d = parseDuration(str);
        if (!d)
          return fail(describe(subj) + " must be a duration such as \"15m\", got \"" + str + "\"");
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
          bool esc;
          if (!sc.string(raw, esc)) return jsonError(sc);
          json::Scanner::decode(raw, esc, str);
          if (str != "true" && str != "false") return typeError(subj, want, shownString(str));
          b = str == "true";
        } else if (k != json::Kind::True && k != json::Kind::False) {
          return gotOther(sc, k, subj, want);
        } else if (!sc.literal(k)) {
          return jsonError(sc);
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
        if (quoted) {
          // A string whose whole text is a plain decimal, as collectors send them ("12.00").
          std::string_view raw;
          bool esc;
          if (!sc.string(raw, esc)) return jsonError(sc);
          json::Scanner::decode(raw, esc, str);
          if (!isPlainDecimal(str)) return typeError(subj, want, shownString(str));
          text = str;
        } else if (k != json::Kind::Number) {
          return gotOther(sc, k, subj, want);
        } else if (!sc.number(text)) {
          return jsonError(sc);
        }
        clearValue(out);
        if (t == TypeKind::Int) {
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
        if (t == TypeKind::Float) {
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
      case TypeKind::List:
      case TypeKind::Error: break;
    }
    // A field whose type sema could not resolve: accept nothing rather than guess.
    return fail(describe(subj) + " has no usable declared type");
  }

  // A duration sent as a number of seconds (spec section 9): exact to the millisecond, not
  // negative.
  bool readSeconds(json::Scanner& sc, Value& out, const Subject& subj) {
    std::string_view text;
    if (!sc.number(text)) return jsonError(sc);
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
  bool gotOther(json::Scanner& sc, json::Kind k, const Subject& subj, std::string_view want) {
    if (k != json::Kind::String) return typeError(subj, want, json::kindName(k));
    std::string_view raw;
    bool esc;
    if (!sc.string(raw, esc)) return jsonError(sc);
    json::Scanner::decode(raw, esc, str);
    return typeError(subj, want, shownString(str));
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

  bool readTyped(json::Scanner& sc, const plan::IngestField& f, Value& out, const Subject& subj) {
    if (f.kind != core::TypeKind::List) return readScalar(sc, f.kind, f.typeName, out, subj);
    json::Kind k = json::Kind::Null;
    if (!sc.peekKind(k)) return jsonError(sc);
    if (k != json::Kind::Array) return gotOther(sc, k, subj, f.typeName);
    clearValue(out);
    out.kind = Value::Kind::List;
    sc.expect('[', "'['");
    if (sc.take(']')) return true;
    Subject item = subj;
    item.item = 0;
    do {
      json::Kind ik = json::Kind::Null;
      if (!sc.peekKind(ik)) return jsonError(sc);
      if (ik == json::Kind::Null) return fail(describe(item) + " is null");
      out.list.emplace_back();
      if (!readScalar(sc, f.elem, f.elemTypeName, out.list.back(), item)) return false;
      ++item.item;
    } while (sc.take(','));
    if (!sc.expect(']', "',' or ']'")) return jsonError(sc);
    return true;
  }

  // An undeclared trait, typed by its JSON value. Returns false only on malformed JSON; sets
  // `keep` to false for values a profile cannot hold (objects, nulls inside lists).
  bool readUntyped(json::Scanner& sc, Value& out, bool& keep, int depth) {
    json::Kind k = json::Kind::Null;
    if (!sc.peekKind(k)) return jsonError(sc);
    switch (k) {
      case json::Kind::String: {
        std::string_view raw;
        bool esc;
        if (!sc.string(raw, esc)) return jsonError(sc);
        out = Value::str({});
        json::Scanner::decode(raw, esc, out.s);
        return true;
      }
      case json::Kind::Number: {
        std::string_view text;
        if (!sc.number(text)) return jsonError(sc);
        int64_t iv = 0;
        if (isIntegerText(text)) {
          auto r = std::from_chars(text.data(), text.data() + text.size(), iv);
          if (r.ec == std::errc()) {
            out = Value::integer(iv);
            return true;
          }
        }
        double d = 0;
        auto r = std::from_chars(text.data(), text.data() + text.size(), d);
        if (r.ec != std::errc() || !std::isfinite(d)) keep = false;
        out = Value::flt(d);
        return true;
      }
      case json::Kind::True:
      case json::Kind::False:
        if (!sc.literal(k)) return jsonError(sc);
        out = Value::boolean(k == json::Kind::True);
        return true;
      case json::Kind::Null:
        if (!sc.literal(k)) return jsonError(sc);
        keep = false;
        return true;
      case json::Kind::Array: {
        out = Value{};
        out.kind = Value::Kind::List;
        if (depth > 0) keep = false;  // lists of lists have no trig type
        sc.expect('[', "'['");
        if (sc.take(']')) return true;
        do {
          out.list.emplace_back();
          if (!readUntyped(sc, out.list.back(), keep, depth + 1)) return false;
        } while (sc.take(','));
        if (!sc.expect(']', "',' or ']'")) return jsonError(sc);
        // A list's items must share one type to be a trig list.
        for (const auto& v : out.list)
          if (v.kind != out.list.front().kind || v.kind == Value::Kind::List) keep = false;
        return true;
      }
      case json::Kind::Object:
        keep = false;
        if (!sc.skipValue()) return jsonError(sc);
        return true;
    }
    return true;
  }

  // Reads a property or trait name at the scanner; `name` views the decoded text.
  bool readKey(json::Scanner& sc, std::string_view& name) {
    sc.ws();
    if (sc.pos() >= sc.text().size() || sc.text()[sc.pos()] != '"') {
      sc.failUnexpected("a property name");
      return jsonError(sc);
    }
    std::string_view raw;
    bool esc;
    if (!sc.string(raw, esc)) return jsonError(sc);
    if (esc) {
      json::Scanner::decode(raw, esc, key);
      name = key;
    } else {
      name = raw;
    }
    if (!sc.expect(':', "':'")) return jsonError(sc);
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
    if (out.fields.size() == width) return;
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

  // Reads the properties object at the scanner (or none, when `sc` is null) into out.fields.
  bool readProperties(json::Scanner* sc, uint32_t eventPos, Event& out) {
    const plan::IngestEvent& info = model.events[eventPos];
    const FieldTable& table = events[eventPos];
    const size_t n = table.fields.size();
    fieldsOfWidth(out, table.width);
    seen.assign(n, 0);
    if (sc) {
      propertyKeys.clear();
      sc->expect('{', "'{'");
      if (!sc->take('}')) {
        do {
          std::string_view name;
          if (!readKey(*sc, name)) return false;
          if (!propertyKeys.add(name))
            return fail(twiceMessage(name, " in the properties of event '" + info.name + "'"));
          const uint32_t idx = lookup(table, name);
          if (idx == core::kNone) {
            if (!sc->skipValue()) return jsonError(*sc);
            continue;
          }
          const plan::IngestField& f = *table.fields[idx];
          json::Kind k = json::Kind::Null;
          if (!sc->peekKind(k)) return jsonError(*sc);
          if (k == json::Kind::Null) {
            // null is "not sent": it neither fills the field nor empties it.
            sc->literal(k);
            continue;
          }
          Subject subj{"property", f.name, info.name, -1};
          if (seen[idx]) {
            if (!readTyped(*sc, f, again, subj)) return false;
            if (!(again == out.fields[f.slot])) return fail(filledTwice(subj, name));
            continue;
          }
          if (!readTyped(*sc, f, out.fields[f.slot], subj)) return false;
          seen[idx] = 1;
        } while (sc->take(','));
        if (!sc->expect('}', "',' or '}'")) return jsonError(*sc);
      }
    }
    for (size_t k = 0; k < n; ++k) {
      if (seen[k]) continue;
      const plan::IngestField& f = *table.fields[k];
      Value& v = out.fields[f.slot];
      if (table.defaults[k]) {
        v = *table.defaults[k];
      } else if (f.optional) {
        clearValue(v);
      } else {
        return fail("missing required property '" + f.name + "' of event '" + info.name + "'");
      }
    }
    return true;
  }

  bool readProperties(std::string_view objText, uint32_t eventPos, Event& out) {
    if (objText.empty()) return readProperties(nullptr, eventPos, out);
    json::Scanner sc(objText);
    return readProperties(&sc, eventPos, out);
  }

  // ---- identify traits ----

  // Reads the traits object (already checked to be valid JSON) into out.traits. A trait of the
  // wrong type makes the identify invalid (the first one gives the reason), but reading goes on
  // to the end so that `subscribed` is always seen: `unsubscribes` is then set when the line
  // carries a `subscribed` that is not a readable `true` (opt-out fails closed, spec section 6).
  // `subscribed: null` is no change (only a true resubscribes).
  bool readTraits(std::string_view objText, Event& out, bool& unsubscribes) {
    out.traits.clear();
    unsubscribes = false;
    if (objText.empty()) return true;
    json::Scanner sc(objText);
    sc.expect('{', "'{'");
    if (sc.take('}')) return true;
    std::string firstError;
    traitKeys.clear();
    traitAt.assign(traits.fields.size(), core::kNone);
    do {
      std::string_view name;
      if (!readKey(sc, name)) return false;
      if (!traitKeys.add(name) && firstError.empty())
        firstError = twiceMessage(name, " in the traits");
      const uint32_t idx = lookup(traits, name);
      json::Kind k = json::Kind::Null;
      if (!sc.peekKind(k)) return jsonError(sc);
      if (idx != core::kNone) {
        const plan::IngestField& f = *traits.fields[idx];
        Value v;
        Subject subj{"trait", f.name, {}, -1};
        if (k == json::Kind::Null) {
          sc.literal(k);
          if (idx == subscribedTrait) continue;
        } else {
          sc.ws();
          const size_t start = sc.pos();
          if (!readTyped(sc, f, v, subj)) {
            if (!sc.error().empty()) return false;
            if (idx == subscribedTrait) unsubscribes = true;
            if (firstError.empty()) firstError = std::move(*reason);
            sc.seek(start);
            if (!sc.skipValue()) return jsonError(sc);
            continue;
          }
          if (idx == subscribedTrait && !v.b) unsubscribes = true;
        }
        // A null trait is a change too (it removes the trait): filled twice, both must agree.
        if (traitAt[idx] != core::kNone) {
          if (!(out.traits[traitAt[idx]].second == v) && firstError.empty())
            firstError = filledTwice(subj, name);
          continue;
        }
        traitAt[idx] = static_cast<uint32_t>(out.traits.size());
        out.traits.emplace_back(f.name, std::move(v));
        continue;
      }
      std::string traitName(name);
      if (k == json::Kind::Null) {
        sc.literal(k);
        out.traits.emplace_back(std::move(traitName), Value::absent());
        continue;
      }
      Value v;
      bool keep = true;
      if (!readUntyped(sc, v, keep, 0)) return false;
      if (keep) out.traits.emplace_back(std::move(traitName), std::move(v));
    } while (sc.take(','));
    if (!sc.expect('}', "',' or '}'")) return jsonError(sc);
    if (firstError.empty()) return true;
    return fail(std::move(firstError));
  }

  // ---- the fast path ----
  //
  // Lines in the shape producers send -- a track call in compact JSON (no whitespace), strings
  // without escapes, no null member, no repeated top-level key, `event` before `properties`,
  // every property of its declared scalar type -- are decoded here in one tight pass over the
  // line. On anything else, valid or not, it gives up and the general path (decode()) decides,
  // from scratch: the general path defines the behaviour, this one only has to agree with it on
  // the lines it accepts (fast_path_test compares the two on generated lines).

  struct Cursor {
    const char* p;
    const char* end;
    bool at(char c) const { return p < end && *p == c; }
    // Consumes `text` if it comes next.
    [[gnu::always_inline]] bool take(std::string_view text) {
      if (static_cast<size_t>(end - p) < text.size() || !sameBytes(p, text.data(), text.size()))
        return false;
      p += text.size();
      return true;
    }
    [[gnu::always_inline]] bool take(char c) {
      if (p < end && *p == c) {
        ++p;
        return true;
      }
      return false;
    }
  };

  // A string without escapes or control characters, valid UTF-8: the text between the quotes.
  [[gnu::always_inline]] static bool fastString(Cursor& c, std::string_view& out) {
    if (!c.take('"')) return false;
    const char* start = c.p;
    c.p = json::skipPlain(c.p, c.end);
    if (c.p < c.end && *c.p == '"') [[likely]] {
      out = std::string_view(start, static_cast<size_t>(c.p - start));
      ++c.p;
      return true;
    }
    c.p = fastStringRest(c.p, c.end);
    if (!c.p) return false;
    out = std::string_view(start, static_cast<size_t>(c.p - start));
    ++c.p;
    return true;
  }
  // From the first byte of a string that is not plain ASCII: its closing quote, or null. (The
  // cursor is passed by value to what is not inlined, so that it can stay in registers.)
  [[gnu::noinline]] static const char* fastStringRest(const char* p, const char* end) {
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

  // `name == word` for a literal word, compared in one go.
  template <size_t N>
  static bool is(std::string_view name, const char (&word)[N]) {
    return name.size() == N - 1 && sameBytes(name.data(), word, N - 1);
  }

  // A number in RFC 8259's grammar (the same as json::Scanner::number): its text.
  [[gnu::always_inline]] static bool fastNumber(Cursor& c, std::string_view& out) {
    const char* p = c.p;
    const char* const end = c.end;
    const auto digits = [&] {
      if (p == end || !isDigitChar(*p)) return false;
      do ++p;
      while (p < end && isDigitChar(*p));
      return true;
    };
    if (p < end && *p == '-') ++p;
    if (p < end && *p == '0') {
      ++p;
    } else if (!digits()) {
      return false;
    }
    if (p < end && *p == '.' && (++p, !digits())) return false;
    if (p < end && (*p == 'e' || *p == 'E')) {
      ++p;
      if (p < end && (*p == '+' || *p == '-')) ++p;
      if (!digits()) return false;
    }
    out = std::string_view(c.p, static_cast<size_t>(p - c.p));
    c.p = p;
    return true;
  }

  // A number in the usual shape of money and ints -- at most 12 integer digits, at most 6
  // decimals, no exponent -- as its digits read as one integer and the count of decimals (-1:
  // no decimal point). False for any other number, and for text that is none.
  [[gnu::always_inline]] static bool fastDecimal(Cursor& c, int64_t& digits, int& decimals) {
    const char* p = c.p;
    const char* const end = c.end;
    const bool neg = p < end && *p == '-';
    if (neg) ++p;
    const char* const start = p;
    uint64_t v = 0;  // unsigned: too many digits wrap harmlessly before they are refused
    for (; p < end && isDigitChar(*p); ++p) v = v * 10 + static_cast<unsigned>(*p - '0');
    const auto intDigits = p - start;
    if (intDigits == 0 || intDigits > 12 || (*start == '0' && intDigits > 1)) return false;
    decimals = -1;
    if (p < end && *p == '.') {
      const char* const fraction = ++p;
      for (; p < end && isDigitChar(*p); ++p) v = v * 10 + static_cast<unsigned>(*p - '0');
      decimals = static_cast<int>(p - fraction);
      if (decimals == 0 || decimals > Decimal::kScaleDigits) return false;
    }
    if (p < end && (*p == 'e' || *p == 'E')) return false;
    digits = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    c.p = p;
    return true;
  }

  [[gnu::always_inline]] static bool fastWord(Cursor& c, std::string_view word) {
    if (static_cast<size_t>(c.end - c.p) < word.size() ||
        std::memcmp(c.p, word.data(), word.size()) != 0)
      return false;
    c.p += word.size();
    return true;
  }

  // Skips any value, validated exactly as the general path validates it.
  static bool fastSkip(Cursor& c, std::string_view line) {
    c.p = skipValueAt(c.p, line);
    return c.p != nullptr;
  }
  [[gnu::noinline]] static const char* skipValueAt(const char* p, std::string_view line) {
    json::Scanner sc(line);
    sc.seek(static_cast<size_t>(p - line.data()));
    if (!sc.skipValue()) return nullptr;
    return line.data() + sc.pos();
  }

  // (clear() then append() is about half the instructions of libstdc++'s assign(), which
  // handles overlapping sources.)
  [[gnu::always_inline]] static void setString(std::string& dest, std::string_view text) {
    dest.clear();
    if (!text.empty()) dest.append(text.data(), text.size());
  }
  // The same, for strings that often repeat from one event to the next (event names).
  [[gnu::always_inline]] static void setRepeated(std::string& dest, std::string_view text) {
    if (dest.size() != text.size() || !sameBytes(dest.data(), text.data(), text.size()))
      setString(dest, text);
  }

  // A value of scalar type `t` (null is the caller's business), as readScalar reads it.
  [[gnu::always_inline]] bool fastValue(Cursor& c, core::TypeKind t, Value& v) {
    using core::TypeKind;
    switch (t) {
      case TypeKind::String: {
        std::string_view text;
        if (!fastString(c, text)) return false;
        clearValue(v);
        v.kind = Value::Kind::String;
        v.s.append(text);
        return true;
      }
      case TypeKind::Time:
      case TypeKind::Duration: {
        std::string_view text;
        if (!fastString(c, text)) return false;
        const auto parsed = t == TypeKind::Time ? timestamps.parse(text) : parseDuration(text);
        if (!parsed) return false;
        clearValue(v);
        v.kind = t == TypeKind::Time ? Value::Kind::Time : Value::Kind::Duration;
        v.i = *parsed;
        return true;
      }
      case TypeKind::Bool: {
        bool b;
        if (fastWord(c, "true"))
          b = true;
        else if (fastWord(c, "false"))
          b = false;
        else
          return false;
        clearValue(v);
        v.kind = Value::Kind::Bool;
        v.b = b;
        return true;
      }
      case TypeKind::Int: {
        // Integer text only, as readScalar: a decimal point makes it the general path's case.
        int64_t n = 0;
        int decimals = 0;
        if (!fastDecimal(c, n, decimals) || decimals >= 0) return false;
        clearValue(v);
        v.kind = Value::Kind::Int;
        v.i = n;
        return true;
      }
      case TypeKind::Float: {
        std::string_view text;
        if (!fastNumber(c, text)) return false;
        double d = 0;
        auto r = std::from_chars(text.data(), text.data() + text.size(), d);
        if (r.ec != std::errc() || !std::isfinite(d)) return false;
        clearValue(v);
        v.kind = Value::Kind::Float;
        v.f = d;
        return true;
      }
      case TypeKind::Money: {
        Decimal m;
        int decimals = 0;
        if (!fastDecimal(c, m.units, decimals)) return false;
        // Scaled to millionths in one multiplication (at most 18 digits: no overflow).
        static constexpr int64_t kScale[Decimal::kScaleDigits + 1] = {1000000, 100000, 10000, 1000,
                                                                      100,     10,     1};
        m.units *= kScale[decimals < 0 ? 0 : decimals];
        clearValue(v);
        v.kind = Value::Kind::Money;
        v.m = m;
        return true;
      }
      case TypeKind::List:
      case TypeKind::Error: break;
    }
    return false;
  }

  // The keys of one object that the fast path skipped, to find one sent twice (the general
  // path's case, as is a ninth).
  // (Plain arrays, left uninitialized: only the first `n` entries are ever read, and zeroing
  // eight views cost about 25 instructions per object on every line.)
  struct SkippedKeys {
    static constexpr size_t kMax = 8;
    const char* data[kMax];
    size_t size[kMax];
    size_t n = 0;
    [[gnu::always_inline]] bool add(std::string_view key) {
      for (size_t k = 0; k < n; ++k)
        if (size[k] == key.size() && std::memcmp(data[k], key.data(), key.size()) == 0)
          return false;
      if (n == kMax) return false;
      data[n] = key.data();
      size[n] = key.size();
      ++n;
      return true;
    }
  };

  // The properties object at the cursor (none when `c` is null), as readProperties reads it.
  bool fastProperties(Cursor* c, std::string_view line, uint32_t eventPos, Event& out) {
    FieldTable& table = events[eventPos];
    const size_t n = table.fields.size();
    if (n > 64) return false;
    fieldsOfWidth(out, table.width);
    uint64_t seenMask = 0;
    uint64_t keyMask = 0;  // fields a key named, null or not: a second one is the general path's
    SkippedKeys skipped;
    if (c) {
      if (!c->take('{')) return false;
      if (!c->take('}')) {
        auto prev = static_cast<uint32_t>(n);  // the field of the previous key (n: none yet)
        do {
          // `"name":` in place means that field, as reading the string and looking it up would
          // find. The key is most often the one that followed the previous key last time, else
          // a later one in declared order (producers tend to send that order, omitting some).
          uint32_t idx = table.nextAfter[prev];
          if (idx == core::kNone || !c->take(table.quotedNames[idx])) {
            idx = core::kNone;
            for (auto k = prev == n ? 0 : prev + 1; k < n; ++k) {
              if (c->take(table.quotedNames[k])) {
                idx = static_cast<uint32_t>(k);
                break;
              }
            }
            if (idx == core::kNone) {
              std::string_view name;
              if (!fastString(*c, name) || !c->take(':')) return false;
              idx = lookup(table, name);
              if (idx == core::kNone) {
                if (!skipped.add(name) || !fastSkip(*c, line)) return false;
                continue;
              }
            }
            table.nextAfter[prev] = idx;
          }
          prev = idx;
          const uint64_t bit = uint64_t{1} << idx;
          if (keyMask & bit) return false;
          keyMask |= bit;
          if (c->at('n')) {
            // null is "not sent".
            if (!fastWord(*c, "null")) return false;
            continue;
          }
          const plan::IngestField& f = *table.fields[idx];
          Value& v = out.fields[f.slot];
          if (f.kind == core::TypeKind::List) {
            // Items of the element type; a null item is the general path's error.
            if (!c->take('[')) return false;
            clearValue(v);
            v.kind = Value::Kind::List;
            if (!c->take(']')) {
              do {
                v.list.emplace_back();
                if (!fastValue(*c, f.elem, v.list.back())) return false;
              } while (c->take(','));
              if (!c->take(']')) return false;
            }
          } else if (!fastValue(*c, f.kind, v)) {
            return false;
          }
          seenMask |= bit;
        } while (c->take(','));
        if (!c->take('}')) return false;
      }
    }
    for (size_t k = 0; k < n; ++k) {
      if (seenMask & (uint64_t{1} << k)) continue;
      const plan::IngestField& f = *table.fields[k];
      Value& v = out.fields[f.slot];
      if (table.defaults[k])
        v = *table.defaults[k];
      else if (f.optional)
        clearValue(v);
      else
        return false;
    }
    return true;
  }

  // The traits object of an identify call at the cursor, as readTraits reads it when every key
  // names a declared trait once (an undeclared trait, a trait sent twice or filled by two keys
  // are the general path's). The entries of Event::traits are reused, keeping their buffers.
  bool fastTraits(Cursor& c, Event& out) {
    const size_t n = traits.fields.size();
    if (n > 64 || !c.take('{')) return false;
    if (out.traits.empty()) out.traits.swap(spareTraits);
    size_t count = 0;
    uint64_t keyMask = 0;
    if (!c.take('}')) {
      do {
        std::string_view name;
        if (!fastString(c, name) || !c.take(':')) return false;
        const uint32_t idx = lookup(traits, name);
        if (idx == core::kNone) return false;
        const uint64_t bit = uint64_t{1} << idx;
        if (keyMask & bit) return false;
        keyMask |= bit;
        const plan::IngestField& f = *traits.fields[idx];
        if (c.at('n')) {
          // null removes the trait (an Absent value), except `subscribed`, which it leaves.
          if (!fastWord(c, "null")) return false;
          if (idx != subscribedTrait) clearValue(traitEntry(out, count++, f.name));
          continue;
        }
        Value& v = traitEntry(out, count++, f.name);
        if (f.kind == core::TypeKind::List) {
          if (!c.take('[')) return false;
          clearValue(v);
          v.kind = Value::Kind::List;
          if (!c.take(']')) {
            do {
              v.list.emplace_back();
              if (!fastValue(c, f.elem, v.list.back())) return false;
            } while (c.take(','));
            if (!c.take(']')) return false;
          }
        } else if (!fastValue(c, f.kind, v)) {
          return false;
        }
      } while (c.take(','));
      if (!c.take('}')) return false;
    }
    if (out.traits.size() > count) out.traits.resize(count);
    return true;
  }
  // Entry `k` of Event::traits named `name` (its value as it was: the caller sets it).
  static Value& traitEntry(Event& out, size_t k, std::string_view name) {
    if (k < out.traits.size()) {
      setRepeated(out.traits[k].first, name);
      return out.traits[k].second;
    }
    out.traits.emplace_back(std::string(name), Value{});
    return out.traits.back().second;
  }

  // The top-level members the fast path reads, and the order of the last line's (the guess).
  enum TopMember : uint8_t { kType, kEvent, kUserId, kTimestamp, kMessageId, kProperties, kTraits };
  static constexpr std::string_view kQuotedMember[] = {
      "\"type\":",      "\"event\":",      "\"userId\":", "\"timestamp\":",
      "\"messageId\":", "\"properties\":", "\"traits\":"};
  static constexpr size_t kGuessedMembers = 8;
  uint8_t lastMembers[kGuessedMembers] = {kType,      kEvent,      kUserId, kTimestamp,
                                          kMessageId, kProperties, kTraits, kType};

  bool decodeFast(std::string_view line, Event& out, std::optional<TimeMs> receivedAt) {
    Cursor c{line.data(), line.data() + line.size()};
    std::string_view event, userId, timestamp, messageId;
    unsigned present = 0;  // a bit per TopMember
    uint32_t eventPos = NameIndex::kNotFound;
    size_t position = 0;
    SkippedKeys skipped;
    bool identify = false;
    if (!c.take('{')) return false;
    do {
      const size_t at = position++;
      int m = -1;
      std::string_view name;  // read when the guess missed (always for members not read)
      if (at < kGuessedMembers && c.take(kQuotedMember[lastMembers[at]])) {
        m = lastMembers[at];
      } else {
        if (!fastString(c, name) || !c.take(':')) return false;
        switch (name.size()) {
          case 4:
            if (is(name, "type")) m = kType;
            break;
          case 5:
            if (is(name, "event")) m = kEvent;
            break;
          case 6:
            if (is(name, "userId"))
              m = kUserId;
            else if (is(name, "traits"))
              m = kTraits;
            break;
          case 9:
            if (is(name, "timestamp"))
              m = kTimestamp;
            else if (is(name, "messageId"))
              m = kMessageId;
            break;
          case 10:
            if (is(name, "properties")) m = kProperties;
            break;
          case 11:
            // An anonymous visitor, or a merge: the general path reads the ids.
            if (is(name, "anonymousId")) return false;
            break;
          default: break;
        }
        if (m >= 0 && at < kGuessedMembers) lastMembers[at] = static_cast<uint8_t>(m);
      }
      if (m < 0) {
        if (!skipped.add(name) || !fastSkip(c, line)) return false;
        continue;
      }
      const unsigned bit = 1u << m;
      if (present & bit) return false;
      present |= bit;
      switch (m) {
        case kType: {
          // The whole string `"track"` or `"identify"`: the bytes say it has no escape. An
          // identify after properties or traits were read as a track's is the general path's.
          if (c.take(std::string_view("\"track\""))) break;
          if (!c.take(std::string_view("\"identify\"")) ||
              (present & ((1u << kProperties) | (1u << kTraits))))
            return false;
          identify = true;
          break;
        }
        case kEvent:
          if (!fastString(c, event)) return false;
          break;
        case kUserId:
          if (!fastString(c, userId)) return false;
          break;
        case kTimestamp:
          if (!fastString(c, timestamp)) return false;
          break;
        case kMessageId:
          if (!fastString(c, messageId)) return false;
          break;
        case kProperties:
          if (identify) {
            if (!fastSkip(c, line)) return false;  // an identify call's properties mean nothing
            break;
          }
          if (!(present & (1u << kEvent)) || !c.at('{')) return false;
          eventPos = eventIndex.find(event);
          if (eventPos == NameIndex::kNotFound) {
            if (!fastSkip(c, line)) return false;  // an undeclared event's are not checked
          } else if (!fastProperties(&c, line, eventPos, out)) {
            return false;
          }
          break;
        case kTraits:
          if (identify) {
            if (!fastTraits(c, out)) return false;
          } else if (!fastSkip(c, line)) {
            return false;  // a track call's traits are ignored
          }
          break;
      }
    } while (c.take(','));
    if (!c.take('}') || c.p != c.end) return false;

    if (!(present & (1u << kUserId)) || userId.empty()) return false;
    if (!identify && (!(present & (1u << kEvent)) || event.empty())) return false;
    if (present & (1u << kTimestamp)) {
      const auto t = timestamps.parse(timestamp);
      if (!t) return false;
      out.time = *t;
    } else if (receivedAt) {
      out.time = *receivedAt;
    } else {
      return false;
    }
    if (identify) {
      if (!(present & (1u << kTraits))) out.traits.clear();
      setString(out.customer, userId);
      out.anonymousId.clear();
      out.identified = true;
      setString(out.messageId, messageId);
      setRepeated(out.name, "identify");
      out.kind = Event::Kind::Identify;
      out.type = core::kNone;
      releaseFields(out);
      return true;
    }
    if (!(present & (1u << kProperties))) {
      eventPos = eventIndex.find(event);
      if (eventPos != NameIndex::kNotFound && !fastProperties(nullptr, line, eventPos, out))
        return false;
    }
    setString(out.customer, userId);
    out.anonymousId.clear();
    out.identified = true;
    setString(out.messageId, messageId);
    setRepeated(out.name, event);
    if (!out.traits.empty()) {
      if (spareTraits.empty()) out.traits.swap(spareTraits);
      out.traits.clear();
    }
    if (eventPos == NameIndex::kNotFound) {
      out.kind = Event::Kind::Undeclared;
      out.type = core::kNone;
      releaseFields(out);
    } else {
      out.kind = Event::Kind::Track;
      out.type = eventPos;
    }
    return true;
  }

  // ---- the time alone (replay's ordering pass) ----

  // The usual line (compact, no escapes before the stamp) with the fast path's cursor; anything
  // else by peekTimeGeneral, from the start.
  bool peekTime(std::string_view line, TimeMs& out) {
    static constexpr std::string_view kStampKey = "\"timestamp\":\"";
    Cursor c{line.data(), line.data() + line.size()};
    if (c.take('{')) {
      do {
        if (c.take(kStampKey)) {
          const char* start = c.p;
          c.p = json::skipPlain(c.p, c.end);
          if (!c.at('"')) break;
          const auto t =
              timestamps.parse(std::string_view(start, static_cast<size_t>(c.p - start)));
          if (!t) return false;
          out = *t;
          return true;
        }
        std::string_view name;
        if (!fastString(c, name) || !c.take(':') || is(name, "timestamp")) break;
        if (c.at('"')) {
          if (!fastString(c, name)) break;
        } else if (!fastSkip(c, line)) {
          return false;  // not JSON: the general look would not find a stamp either
        }
      } while (c.take(','));
    }
    return peekTimeGeneral(line, out);
  }

  bool peekTimeGeneral(std::string_view line, TimeMs& out) {
    json::Scanner sc(line);
    if (!sc.take('{')) return false;
    do {
      std::string_view name;
      bool escaped = false;
      if (!sc.string(name, escaped)) return false;
      if (escaped) {
        json::Scanner::decode(name, true, key);
        name = key;
      }
      if (!sc.take(':')) return false;
      if (name == "timestamp") {
        std::string_view text;
        if (!sc.string(text, escaped)) return false;
        if (escaped) {
          json::Scanner::decode(text, true, str);
          text = str;
        }
        const auto t = timestamps.parse(text);
        if (!t) return false;
        out = *t;
        return true;
      }
      if (!sc.skipValue()) return false;
    } while (sc.take(','));
    return false;
  }

  // ---- one line ----

  struct Member {
    bool present = false;
    json::Kind kind = json::Kind::Null;
    std::string_view raw;  // strings: the text between quotes; objects: the whole object
    bool escaped = false;
  };

  bool stringMember(const Member& m, const char* name, std::string& dest) {
    if (m.kind != json::Kind::String)
      return fail(std::string(name) + " must be a string, got " + json::kindName(m.kind));
    json::Scanner::decode(m.raw, m.escaped, dest);
    return true;
  }

  // The members that say whose event it is.
  struct Ids {
    Member userId, anonymousId, previousId;
  };

  // Sets out.customer, out.anonymousId and out.identified from the ids (spec section 8): the
  // userId when sent; else the anonymous visitor `anon:<anonymousId>`. An alias call needs a
  // userId and a previousId (the anonymous id it merges, kept in out.anonymousId; its own
  // anonymousId means nothing). An empty or null anonymousId counts as not sent.
  bool readIds(const Ids& ids, bool alias, Event& out) {
    out.anonymousId.clear();
    out.identified = ids.userId.present;
    const Member& anon = alias ? ids.previousId : ids.anonymousId;
    if (anon.present && !stringMember(anon, alias ? "previousId" : "anonymousId", out.anonymousId))
      return false;
    if (alias && out.anonymousId.empty()) return fail("an alias call needs a previousId");
    if (ids.userId.present) {
      if (!stringMember(ids.userId, "userId", out.customer)) return false;
      if (out.customer.empty()) return fail("userId is empty");
      return true;
    }
    if (alias || out.anonymousId.empty()) return fail("missing userId");
    out.customer = "anon:" + out.anonymousId;
    return true;
  }

  // Properties decoded during the first pass over the line.
  struct Inlined {
    bool done = false;
    bool ok = false;
    bool malformed = false;  // the JSON itself is broken: the reason is final
    uint32_t event = 0;
    std::string reason;
  };

  // When `event` came before `properties` (the usual order), decodes the properties in the same
  // pass that validates the line instead of scanning them twice. Type errors are kept aside: they
  // only count if the line turns out to be a track of that event (a later "type":"identify" or
  // a repeated "event" key changes that). Returns false when it did not apply.
  bool tryInline(json::Scanner& sc, const Member& type, const Member& event, Event& out,
                 Inlined& inlined) {
    if (!event.present || event.kind != json::Kind::String || event.escaped) return false;
    if (type.present && !(type.kind == json::Kind::String && type.raw == "track")) return false;
    const uint32_t found = eventIndex.find(event.raw);
    if (found == NameIndex::kNotFound) return false;
    sc.ws();
    const size_t start = sc.pos();
    std::string* finalReason = reason;
    reason = &inlined.reason;
    inlined.ok = readProperties(&sc, found, out);
    reason = finalReason;
    inlined.done = true;
    inlined.event = found;
    if (inlined.ok) return true;
    if (!sc.error().empty()) {
      inlined.malformed = true;
      *reason = std::move(inlined.reason);
      return true;
    }
    // A type error: validate the rest of the object as JSON and go on.
    sc.seek(start);
    if (!sc.skipValue()) {
      inlined.malformed = true;
      jsonError(sc);
    }
    return true;
  }

  // The rest of an identify call (type, userId and timestamp are read): its traits, or when the
  // line is invalid but says the customer is not subscribed, `failedClosed` and in `out` the
  // change that must be applied anyway. `envelopeOk` is false when messageId was invalid.
  bool readIdentify(const Member& traitsM, Event& out, bool envelopeOk) {
    out.kind = Event::Kind::Identify;
    out.type = core::kNone;
    out.name = "identify";
    releaseFields(out);
    if (traitsM.present && traitsM.kind != json::Kind::Object) {
      out.traits.clear();
      if (!envelopeOk) return false;
      return fail(std::string("traits must be an object, got ") + json::kindName(traitsM.kind));
    }
    std::string envelopeReason = envelopeOk ? std::string() : std::move(*reason);
    bool unsubscribes = false;
    const bool traitsOk =
        readTraits(traitsM.present ? traitsM.raw : std::string_view{}, out, unsubscribes);
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

  bool decode(std::string_view line, Event& out, std::optional<TimeMs> receivedAt) {
    json::Scanner sc(line);
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

    // The top-level members we use, as raw spans; the object is validated as a whole first
    // because its keys may come in any order (`properties` before `event`).
    Member type, event, userId, timestamp, messageId, properties, traitsM;
    Ids ids;
    Inlined inlined;
    // A key sent twice makes the line invalid, once the whole line is known to be JSON.
    std::string twice;
    topKeys.clear();
    sc.expect('{', "'{'");
    if (!sc.take('}')) {
      do {
        std::string_view name;
        if (!readKey(sc, name)) return false;
        if (!topKeys.add(name) && twice.empty()) twice = twiceMessage(name, "");
        Member* m = nullptr;
        switch (name.size()) {
          case 4:
            if (name == "type") m = &type;
            break;
          case 5:
            if (name == "event") m = &event;
            break;
          case 6:
            if (name == "userId")
              m = &userId;
            else if (name == "traits")
              m = &traitsM;
            break;
          case 9:
            if (name == "timestamp")
              m = &timestamp;
            else if (name == "messageId")
              m = &messageId;
            break;
          case 10:
            if (name == "properties")
              m = &properties;
            else if (name == "previousId")
              m = &ids.previousId;
            break;
          case 11:
            if (name == "anonymousId") m = &ids.anonymousId;
            break;
          default: break;
        }
        if (!m) {
          if (!sc.skipValue()) return jsonError(sc);
          continue;
        }
        if (m == &event) inlined.done = false;  // a repeated "event" invalidates it
        if (!sc.peekKind(m->kind)) return jsonError(sc);
        if (m == &properties) {
          inlined.done = false;
          sc.ws();
          const size_t start = sc.pos();
          if (m->kind == json::Kind::Object && tryInline(sc, type, event, out, inlined)) {
            if (!inlined.ok && inlined.malformed) return false;
            m->present = true;
            m->raw = line.substr(start, sc.pos() - start);
            continue;
          }
        }
        m->present = m->kind != json::Kind::Null;
        m->escaped = false;
        if (m->kind == json::Kind::String) {
          if (!sc.string(m->raw, m->escaped)) return jsonError(sc);
        } else {
          sc.ws();
          const size_t start = sc.pos();
          if (!sc.skipValue()) return jsonError(sc);
          m->raw = line.substr(start, sc.pos() - start);
        }
      } while (sc.take(','));
      if (!sc.expect('}', "',' or '}'")) return jsonError(sc);
    }
    if (!sc.atEnd()) {
      sc.failUnexpected("the end of the line after the object");
      return jsonError(sc);
    }
    if (!twice.empty()) return fail(std::move(twice));

    // type
    bool identify = false, page = false, alias = false;
    if (type.present) {
      if (!stringMember(type, "type", str)) return false;
      if (str == "identify") {
        identify = true;
      } else if (str == "page") {
        page = true;
      } else if (str == "alias") {
        alias = true;
      } else if (str != "track") {
        return fail("unsupported type '" + str +
                    "' (expected \"track\", \"identify\", \"page\" or \"alias\")");
      }
    }
    // userId, anonymousId, previousId
    ids.userId = userId;
    if (!readIds(ids, alias, out)) return false;
    // timestamp
    if (timestamp.present) {
      if (!stringMember(timestamp, "timestamp", str)) return false;
      auto t = parseEventTimestamp(str);
      if (!t)
        return fail("unparsable timestamp \"" + str +
                    "\" (expected RFC 3339, such as 2026-01-01T10:00:00Z)");
      out.time = *t;
    } else if (receivedAt) {
      out.time = *receivedAt;
    } else {
      return fail("missing timestamp");
    }
    // messageId
    out.messageId.clear();
    const bool messageIdOk =
        !messageId.present || stringMember(messageId, "messageId", out.messageId);
    if (identify) return readIdentify(traitsM, out, messageIdOk);
    if (!messageIdOk) return false;
    if (alias) {
      // Nothing but the merge (spec section 8): not activity, no properties, no traits.
      out.kind = Event::Kind::Alias;
      out.type = core::kNone;
      out.name = "alias";
      out.traits.clear();
      releaseFields(out);
      return true;
    }

    out.traits.clear();
    if (page) {
      // A Segment page call is a page_view with the fields of its properties (spec section 3);
      // its `event`, if any, means nothing, nor do properties read for it.
      out.name = kPageView;
      inlined.done = false;
    } else {
      if (!event.present) return fail("missing event name (\"event\")");
      if (!stringMember(event, "event", out.name)) return false;
      if (out.name.empty()) return fail("event name is empty");
    }
    if (properties.present && properties.kind != json::Kind::Object)
      return fail(std::string("properties must be an object, got ") +
                  json::kindName(properties.kind));
    // The inlined properties were read for the event name still in force (a later "event" key
    // would have cancelled them), which is out.name: no need to look it up again.
    const uint32_t found = inlined.done ? inlined.event : eventIndex.find(out.name);
    if (found == NameIndex::kNotFound) {
      out.kind = Event::Kind::Undeclared;
      out.type = core::kNone;
      releaseFields(out);
      return true;
    }
    out.kind = Event::Kind::Track;
    out.type = found;
    if (inlined.done) {
      if (!inlined.ok) *reason = std::move(inlined.reason);
      return inlined.ok;
    }
    return readProperties(properties.present ? properties.raw : std::string_view{}, found, out);
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
  impl_->failedClosed = false;
  if (impl_->fastPath && impl_->decodeFast(line, out, receivedAt)) {
    ++impl_->stats.fast;
    return true;
  }
  ++impl_->stats.general;
  impl_->reason = &reason;
  return impl_->decode(line, out, receivedAt);
}

}  // namespace trig::ingest
