// The ingest fast paths against the slow paths they stand in for: the decoder reading lines
// with its compact reader against the same decoder reading them with its general reader, on
// generated lines, the plain timestamp parsers against
// parseTimestamp, the SIMD string scan against a byte loop, NameIndex against a map.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "runtime/ingest/decoder.h"
#include "runtime/ingest/json_scan.h"
#include "runtime/ingest/name_index.h"
#include "runtime/ingest/test_model.h"
#include "runtime/ingest/timestamp.h"

using namespace trig;

namespace {

// ---- timestamps ---------------------------------------------------------------------------------

std::string twoDigits(int v) {
  std::string s = std::to_string(v);
  return s.size() < 2 ? "0" + s : s;
}

// A timestamp from parts, each drawn from valid values and values just outside them.
std::string randomStamp(std::mt19937& rng) {
  static const int kYears[] = {0,    1,    4,    100,  400,  1600, 1700, 1900, 1969,
                               1970, 1999, 2000, 2023, 2024, 2026, 2100, 2400, 9999};
  static const int kDays[] = {0, 1, 9, 10, 15, 28, 29, 30, 31, 32};
  static const char* kFractions[] = {
      "",          "",           "",      ".",           ".1",      ".12",
      ".123",      ".184",       ".1234", ".12345",      ".123456", ".1234567",
      ".12345678", ".123456789", ".999",  ".0000000001", ".1a3",    ".000"};
  static const char* kEnds[] = {"Z",      "Z",      "Z",      "Z", "Z",  "Z", "z",
                                "+00:00", "-01:30", "+14:00", "",  "ZZ", " "};
  static const char kSeparators[] = {'T', 'T', 'T', 'T', 'T', 'T', 't', ' ', '_'};
  auto pick = [&](auto& options) { return options[rng() % std::size(options)]; };
  // Each part is mostly in range, sometimes at or past its limits.
  auto part = [&](int inRange, int all, int offset) {
    return twoDigits(offset + static_cast<int>(rng() % (rng() % 8 != 0 ? inRange : all)));
  };
  std::string year = std::to_string(pick(kYears));
  while (year.size() < 4) year = "0" + year;
  const std::string day = rng() % 8 != 0 ? part(28, 28, 1) : twoDigits(pick(kDays));
  std::string s = year + "-" + part(12, 14, rng() % 8 != 0 ? 1 : 0) + "-" + day +
                  pick(kSeparators) + part(24, 25, 0) + ":" + part(60, 61, 0) + ":" +
                  part(60, 62, 0) + pick(kFractions) + pick(kEnds);
  if (rng() % 8 == 0) {
    // Any byte anywhere.
    static const std::string kBytes = "0123456789-:TtZz.+ /a\xc3";
    s[rng() % s.size()] = kBytes[rng() % kBytes.size()];
  }
  if (rng() % 16 == 0) s.resize(rng() % s.size());
  return s;
}

// Whether a stamp has the shape parsePlainTimestamp takes (it must then accept every valid one).
bool plainShape(const std::string& s) {
  if (s.size() < 20 || s[10] != 'T' || s.back() != 'Z') return false;
  if (s.size() == 20) return true;
  if (s[19] != '.' || s.size() < 22 || s.size() > 30) return false;
  for (size_t k = 20; k + 1 < s.size(); ++k)
    if (s[k] < '0' || s[k] > '9') return false;
  return true;
}

}  // namespace

TEST_CASE("plain timestamps: the same results as parseTimestamp") {
  std::mt19937 rng(20260101);
  ingest::TimestampParser stream;
  int plainAccepted = 0, valid = 0, invalid = 0;
  for (int round = 0; round < 200000; ++round) {
    const std::string s = randomStamp(rng);
    const std::optional<TimeMs> want = parseTimestamp(s);
    want ? ++valid : ++invalid;
    TimeMs t = 0;
    if (ingest::parsePlainTimestamp(s, t)) {
      ++plainAccepted;
      if (!want || *want != t) FAIL_CHECK("plain parser disagrees on " << s);
    } else if (want && plainShape(s)) {
      FAIL_CHECK("plain parser refused the plain stamp " << s);
    }
    if (ingest::parseEventTimestamp(s) != want) FAIL_CHECK("parseEventTimestamp: " << s);
    // The stream parser keeps state between calls: every call must still agree.
    if (stream.parse(s) != want) FAIL_CHECK("TimestampParser: " << s);
  }
  // The generator must reach all three outcomes often.
  CHECK(plainAccepted > 30000);
  CHECK(valid > 40000);
  CHECK(invalid > 40000);
}

TEST_CASE("plain timestamps: calendar edges") {
  auto plain = [](std::string_view s) -> std::optional<TimeMs> {
    TimeMs t = 0;
    if (ingest::parsePlainTimestamp(s, t)) return t;
    return std::nullopt;
  };
  const char* stamps[] = {
      "2024-02-29T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "1900-02-29T00:00:00Z",
      "2000-02-29T12:00:00Z",
      "2100-02-29T00:00:00Z",
      "2400-02-29T00:00:00Z",
      "0000-02-29T00:00:00Z",
      "0000-01-01T00:00:00Z",
      "0001-03-01T00:00:00Z",
      "1969-12-31T23:59:59.999Z",
      "1970-01-01T00:00:00Z",
      "2026-12-31T23:59:60Z",
      "2026-06-30T23:59:60.5Z",
      "9999-12-31T23:59:59.999999999Z",
      "2026-04-31T00:00:00Z",
      "2026-11-31T00:00:00Z",
      "2026-01-31T00:00:00Z",
      "2026-00-10T00:00:00Z",
      "2026-13-10T00:00:00Z",
      "2026-01-01T24:00:00Z",
      "2026-01-01T23:60:00Z",
      "2026-01-01T23:59:61Z",
      "2026-01-01T10:00:00.Z",
      "2026-01-01T10:00:00.1Z",
      "2026-01-01T10:00:00.12Z",
      "2026-01-01T10:00:00.1234Z",
      "2026-01-01T10:00:00.0000000001Z",
  };
  for (const char* s : stamps) {
    const auto want = parseTimestamp(s);
    const auto got = plain(s);
    CHECK_MESSAGE((!got || got == want), s);
    CHECK_MESSAGE(ingest::parseEventTimestamp(s) == want, s);
  }
  CHECK(plain("2024-02-29T00:00:00Z"));
  CHECK_FALSE(plain("2023-02-29T00:00:00Z"));
  CHECK_FALSE(plain("1900-02-29T00:00:00Z"));
  CHECK(plain("2000-02-29T12:00:00Z"));
  CHECK(plain("1969-12-31T23:59:59.999Z") == TimeMs{-1});
  CHECK(plain("2026-12-31T23:59:60Z") == parseTimestamp("2027-01-01T00:00:00Z"));
  CHECK(plain("2026-01-01T10:00:00.1Z") == *parseTimestamp("2026-01-01T10:00:00Z") + 100);
  CHECK(plain("2026-01-01T10:00:00.12Z") == *parseTimestamp("2026-01-01T10:00:00Z") + 120);
  CHECK(plain("9999-12-31T23:59:59.999999999Z") == parseTimestamp("9999-12-31T23:59:59.999Z"));
  // More than 9 fraction digits is not the plain shape, but still a time.
  CHECK_FALSE(plain("2026-01-01T10:00:00.0000000001Z"));
  CHECK(ingest::parseEventTimestamp("2026-01-01T10:00:00.0000000001Z") ==
        parseTimestamp("2026-01-01T10:00:00Z"));
}

TEST_CASE("plain timestamps: the stream parser's remembered day") {
  ingest::TimestampParser p;
  // Same minute, then stamps that share its first 16 bytes but not its shape or validity.
  const char* stamps[] = {
      "2026-01-01T10:00:05Z",
      "2026-01-01T10:00:07.5Z",
      "2026-01-01T10:00:59.999Z",
      "2026-01-01T10:00:60Z",
      "2026-01-01T10:00:61Z",
      "2026-01-01T10:00:xxZ",
      "2026-01-01T10:00:00+01:00",
      "2026-01-01T10:00:00.Z",
      "2026-01-01T10:00:00z",
      "2026-01-01T10:00",
      "2026-01-01T10:00:1Z",
      "2026-01-01T10:01:00Z",
      "2026-02-30T10:01:00Z",
      "2026-01-01T10:01:30.25Z",
      "2026-02-30T10:01:30Z",
      "2026-01-01T10:01:31Z",
      "2026-01-01T10:00:05.123456789Z",
      // The same day with another clock, valid or not; then other days.
      "2026-01-01T23:59:59.999Z",
      "2026-01-01T24:00:00Z",
      "2026-01-01T23:60:00Z",
      "2026-01-01Tx3:00:00Z",
      "2026-01-01T00:00:00.000Z",
      "2026-01-02T00:00:00Z",
      "2026-01-02t00:00:00Z",
      "2024-02-29T12:34:56.789Z",
      "2023-02-29T12:34:56.789Z",
      "2024-02-29T12:34:57Z",
  };
  for (const char* s : stamps) CHECK_MESSAGE(p.parse(s) == parseTimestamp(s), s);
}

// ---- the SIMD string scan -----------------------------------------------------------------------

TEST_CASE("json::skipPlain stops exactly at the first byte that needs a look") {
  auto naive = [](const std::string& s) {
    for (size_t k = 0; k < s.size(); ++k) {
      const auto c = static_cast<unsigned char>(s[k]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return k;
    }
    return s.size();
  };
  std::mt19937 rng(5);
  const std::string specials = std::string("\"\\\x01\x1f\x80\xff\xc3\x7f ") + '\0';
  int checked = 0;
  for (size_t len = 0; len <= 48; ++len) {
    for (size_t at = 0; at <= len; ++at) {
      for (char special : specials) {
        std::string s;
        for (size_t k = 0; k < len; ++k) {
          char c;
          do c = static_cast<char>(0x20 + rng() % 0x5f);
          while (c == '"' || c == '\\');
          s.push_back(c);
        }
        if (at < len) s[at] = special;
        // Later special bytes must not hide the first one.
        if (at + 3 < len) s[at + 3] = '"';
        const char* got = ingest::json::skipPlain(s.data(), s.data() + s.size());
        if (static_cast<size_t>(got - s.data()) != naive(s))
          FAIL_CHECK("len " << len << " special at " << at);
        ++checked;
      }
    }
  }
  CHECK(checked > 10000);
}

// ---- NameIndex ----------------------------------------------------------------------------------

TEST_CASE("NameIndex finds exactly the names added, the first value of each") {
  ingest::NameIndex index;
  std::map<std::string, uint32_t> want;
  auto add = [&](const std::string& name, uint32_t value) {
    index.add(name, value);
    want.emplace(name, value);
  };
  uint32_t next = 0;
  add("", next++);
  for (const char* n : {"a", "ab", "abc", "abcd", "product_id", "productId", "product_name",
                        "cart_value", "Order Completed", "Checkout Done"})
    add(n, next++);
  // Same length, same first and last 8 bytes: one hash, told apart by the bytes.
  for (char c = 'a'; c <= 'z'; ++c) add(std::string("aaaaaaaa_") + c + "_bbbbbbbb", next++);
  for (int k = 0; k < 500; ++k) add("f" + std::to_string(k), next++);
  add("product_id", 999);  // a repeat keeps its first value
  add(std::string(100, 'x'), next++);
  REQUIRE(index.size() == want.size());
  for (const auto& [name, value] : want) CHECK_MESSAGE(index.find(name) == value, name);
  for (const char* absent : {"b", "abcde", "product", "f500", "aaaaaaaa_A_bbbbbbbb", "Product_id"})
    CHECK_MESSAGE(index.find(absent) == ingest::NameIndex::kNotFound, absent);
  CHECK(index.find(std::string(99, 'x')) == ingest::NameIndex::kNotFound);
}

// ---- the decoder's two readers
// -------------------------------------------------------------------

namespace {

std::string quoted(const std::string& s) {
  return '"' + s + '"';
}

std::string camel(const std::string& snake) {
  std::string out;
  bool up = false;
  for (char c : snake) {
    if (c == '_') {
      up = true;
    } else {
      out.push_back(up && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
      up = false;
    }
  }
  return out;
}

// Lines of every shape the decoder meets: mostly the canonical one, with every kind of
// departure from it (escapes, whitespace, nulls, repeated keys, other orders, wrong types,
// malformed JSON) mixed in.
struct LineGen {
  const sema::Model& model;
  std::mt19937 rng{424242};

  bool chance(int percent) { return static_cast<int>(rng() % 100) < percent; }
  // Mostly the usual shape, valid; sometimes anything.
  std::string stamp() {
    if (chance(15)) return randomStamp(rng);
    return "2026-0" + std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10) + "T" +
           twoDigits(static_cast<int>(rng() % 24)) + ":" + twoDigits(static_cast<int>(rng() % 60)) +
           ":" + twoDigits(static_cast<int>(rng() % 60)) +
           (chance(50) ? "." + std::to_string(100 + rng() % 900) : "") + "Z";
  }
  template <typename T>
  const T& pick(const std::vector<T>& options) {
    return options[rng() % options.size()];
  }

  std::string value(sema::TypeKind t) {
    using sema::TypeKind;
    switch (t) {
      case TypeKind::String:
        return chance(90) ? pick<std::string>({R"("p1")", R"("Blue Table 1165")", R"("/p/p1096")",
                                               R"("")", R"("a longer product name of forty ch")",
                                               "\"caf\xc3\xa9 \xe2\x82\xac\""})
                          : pick<std::string>({R"("a\"b")", R"("\u00e9")", "\"x\x01\"", "\"\xff\"",
                                               "5", "null", "true", R"(["a"])", R"("unterminated)",
                                               "\"\xed\xa0\x80\""});
      case TypeKind::Money:
        return chance(85) ? pick<std::string>({"49.99", "150", "0", "126.89", "0.5", "-12.25",
                                               "123456789012.123456", "-0.000001"})
                          : pick<std::string>({"-0", "0.1234567", "1e2", "4.999e1", "01", "1.", "-",
                                               "9223372036855", "1234567890123", "\"49.99\"",
                                               "null", "1.50000000000", "0e999999999", "1E-2"});
      case TypeKind::Int:
        return chance(85)
                   ? pick<std::string>({"1", "3", "-42", "0", "123456789012"})
                   : pick<std::string>({"2.0", "1e2", "9223372036854775807", "9223372036854775808",
                                        "1234567890123", "\"3\"", "null", "-0", "00", "-", "1.5"});
      case TypeKind::Float:
        return pick<std::string>({"0.1", "3", "-2.5E-3", "1e999", "\"0.1\"", "null", "1e-400"});
      case TypeKind::Bool:
        return pick<std::string>({"true", "false", "true", "null", "1", "\"true\"", "tru"});
      case TypeKind::Time: return quoted(stamp());
      case TypeKind::Duration:
        return pick<std::string>({R"("15m")", R"("1h30m")", R"("soon")", R"("")", "null", "15"});
      default: return "null";
    }
  }

  std::string typed(sema::Type t) {
    if (t.kind != sema::TypeKind::List) return value(t.kind);
    if (chance(10)) return pick<std::string>({"null", R"("a")", "[1,]", "[null]", "[", "{}"});
    std::string s = "[";
    const int n = static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) s += (k ? "," : "") + value(t.elem);
    return s + "]";
  }

  std::string properties(const sema::EventInfo* info) {
    if (chance(3)) return pick<std::string>({"null", R"("p")", "[]", "{", R"({"a":})"});
    std::vector<std::string> members;
    if (info) {
      for (const auto& f : info->fields) {
        // Required fields are nearly always there.
        if (!chance(f.optional || f.defaultValue ? 55 : 97)) continue;
        std::string key = f.name;
        if (chance(10)) key = camel(f.name);
        if (!f.aliases.empty() && chance(20)) key = pick(f.aliases);
        if (chance(3) && !key.empty())
          key = "\\u00" + std::string(key[0] == 'p' ? "70" : "61") + key.substr(1);
        members.push_back(quoted(key) + ":" + (chance(3) ? "null" : typed(f.type)));
        if (chance(3)) members.push_back(quoted(key) + ":" + typed(f.type));  // repeated
      }
    }
    if (chance(15))
      members.push_back(pick<std::string>({R"("extra":[1,2,{"y":null}])",
                                           R"("unknownThing":{"x":1})", R"("HTMLUrl":"x")",
                                           R"("note":"hi")", R"("n":12)", R"("bad":{"a":})"}));
    if (chance(30)) std::shuffle(members.begin(), members.end(), rng);
    std::string s = "{";
    for (size_t k = 0; k < members.size(); ++k) s += (k ? "," : "") + members[k];
    return s + "}";
  }

  // An identify call's traits: declared ones (some camelCase, null, repeated, of the wrong type),
  // sometimes undeclared ones or no object at all.
  std::string traitsObject() {
    if (chance(3)) return pick<std::string>({"null", "[1]", "{", R"({"a":})", R"("x")"});
    std::vector<std::string> members;
    for (const auto& f : model.traits) {
      if (!chance(50)) continue;
      const std::string key = chance(15) ? camel(f.name) : f.name;
      members.push_back(quoted(key) + ":" + (chance(5) ? "null" : typed(f.type)));
      if (chance(3)) members.push_back(quoted(key) + ":" + typed(f.type));  // repeated
    }
    if (chance(10))
      members.push_back(
          pick<std::string>({R"("plan":"gold")", R"("age":41)", R"("address":{"city":"x"})",
                             R"("tags2":["a","b"])", R"("gone":null)", R"("firstName":"Ann")"}));
    if (chance(20)) std::shuffle(members.begin(), members.end(), rng);
    std::string s = "{";
    for (size_t k = 0; k < members.size(); ++k) s += (k ? "," : "") + members[k];
    return s + "}";
  }

  std::string line() {
    // Identify calls now and then, in the shape producers send them.
    const bool identify = chance(15);
    // The event first, as its properties depend on it.
    static const std::vector<std::string> kUndeclared = {"Video Played", "", "cart\\u005fadd",
                                                         "order completed"};
    std::string eventName;
    const sema::EventInfo* info = nullptr;
    if (chance(85)) {
      info = &model.events[rng() % model.events.size()];
      eventName = info->name;
      if (!info->aliases.empty() && chance(30)) eventName = pick(info->aliases);
      if (eventName.find('\\') != std::string::npos) info = nullptr;
    } else {
      eventName = pick(kUndeclared);
    }
    std::vector<std::pair<std::string, std::string>> members;  // key, value text
    if (identify)
      members.emplace_back("type", R"("identify")");
    else if (chance(60))
      members.emplace_back("type", chance(85)
                                       ? R"("track")"
                                       : pick<std::string>({R"("identify")", R"("Track")", "null",
                                                            R"("tr\u0061ck")", "5"}));
    if (identify ? chance(10) : chance(97))
      members.emplace_back(
          "event", chance(95) ? quoted(eventName) : pick<std::string>({"null", "7", R"("")"}));
    if (chance(97))
      members.emplace_back(
          "userId", chance(95) ? pick<std::string>({R"("c1")", R"("c53")"})
                               : pick<std::string>({R"("")", "null", "5", R"("user-\u00e9")"}));
    if (chance(95))
      members.emplace_back(
          "timestamp", chance(95) ? quoted(stamp()) : pick<std::string>({"null", "1767261540000"}));
    if (chance(40))
      members.emplace_back("messageId",
                           chance(90) ? R"("m-1")" : pick<std::string>({"null", "3", R"("m\n")"}));
    if (identify ? chance(5) : chance(90)) members.emplace_back("properties", properties(info));
    if (identify ? chance(95) : chance(5))
      members.emplace_back("traits", identify ? traitsObject()
                                              : pick<std::string>({R"({"email":"a@b"})", "[1]",
                                                                   R"({"vip":true,"x":{"y":1}})"}));
    if (chance(10))
      members.emplace_back(pick<std::string>({"context", "anonymousId", "sentAt", "us\\u0065rId"}),
                           pick<std::string>({R"({"ip":"1.2.3.4","library":{"name":"x"}})",
                                              R"("a1")", "null", R"("c9")"}));
    if (chance(4) && !members.empty()) members.push_back(members[rng() % members.size()]);
    if (chance(10)) std::shuffle(members.begin(), members.end(), rng);

    std::string s = "{";
    for (size_t k = 0; k < members.size(); ++k) {
      if (k) s += chance(2) ? ", " : ",";
      s += quoted(members[k].first) + (chance(2) ? ": " : ":") + members[k].second;
    }
    s += "}";
    if (chance(2)) s = " " + s;
    if (chance(2)) s += "\t";
    if (chance(3)) {
      // A stray byte anywhere.
      static const std::string kBytes = "{}[]\",:\\ -.eE019tfnul\x01\xc3\xa9\xff";
      const size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[pos] = kBytes[rng() % kBytes.size()]; break;
        case 1: s.erase(pos, 1); break;
        case 2: s.insert(pos, 1, kBytes[rng() % kBytes.size()]); break;
      }
    }
    return s;
  }
};

bool sameEvent(const Event& a, const Event& b) {
  return a.kind == b.kind && a.type == b.type && a.name == b.name && a.customer == b.customer &&
         a.time == b.time && a.messageId == b.messageId && a.fields == b.fields &&
         a.traits == b.traits && a.identified == b.identified && a.anonymousId == b.anonymousId;
}

}  // namespace

TEST_CASE("decoder: the compact reader and the general reader give the same outcome") {
  // One decoder, two readers: the compact one gives up on anything but the usual shape and the
  // general one reads the line again. A line the compact reader reads to its end must come out
  // as the general reader alone would have it, accepted or rejected, message included.
  testing::TestModel tm;
  ingest::Decoder fast(plan::buildIngestPlan(tm.model));
  ingest::Decoder general(plan::buildIngestPlan(tm.model));
  general.setFastPath(false);
  LineGen gen{tm.model};
  // One Event reused across every line, failed ones included (the way the reader uses it),
  // against a fresh Event for the general path: a value left over from an earlier line of
  // another shape would show as a difference.
  Event reused;
  std::string fastReason, generalReason;
  int accepted = 0, rejected = 0, mismatches = 0, fastIdentifies = 0;
  for (int round = 0; round < 40000 && mismatches < 20; ++round) {
    const std::string line = gen.line();
    std::optional<TimeMs> receivedAt;
    if (round % 7 == 0) receivedAt = 1'767'261'540'000;
    Event fresh;
    fastReason.clear();
    generalReason.clear();
    const uint64_t fastBefore = fast.stats().fast;
    const bool fastOk = fast.decode(line, reused, fastReason, receivedAt);
    const bool generalOk = general.decode(line, fresh, generalReason, receivedAt);
    fastOk ? ++accepted : ++rejected;
    if (fast.stats().fast > fastBefore && reused.kind == Event::Kind::Identify) ++fastIdentifies;
    bool same = fastOk == generalOk;
    if (same && fastOk) same = sameEvent(reused, fresh);
    if (same && !fastOk)
      same = fastReason == generalReason && fast.failedClosed() == general.failedClosed() &&
             (!fast.failedClosed() || sameEvent(reused, fresh));
    if (!same) {
      ++mismatches;
      FAIL_CHECK("readers disagree on " << line << "\n  fast: " << fastOk << " " << fastReason
                                        << "\n  general: " << generalOk << " " << generalReason);
    }
  }
  CHECK(mismatches == 0);
  // Both outcomes, and both readers, must be well exercised.
  CHECK(accepted > 8000);
  CHECK(rejected > 8000);
  CHECK(fast.stats().fast > 8000);
  CHECK(fast.stats().general > 8000);
  CHECK(general.stats().fast == 0);
  CHECK(fastIdentifies > 500);  // identify calls are read by the compact reader too
}

TEST_CASE("decoder: a reused Event keeps nothing from a line of another shape") {
  testing::TestModel tm;
  ingest::Decoder decoder(plan::buildIngestPlan(tm.model));
  Event e;
  std::string reason;
  const std::string head = R"({"type":"track","event":"cart_add","userId":"c1",)"
                           R"("timestamp":"2026-01-01T10:00:00.250Z",)";
  REQUIRE(decoder.decode(head + R"("messageId":"m-1","properties":{"product_id":"p1",)"
                                R"("product_name":"Blue Table 1165","price":49.99,"quantity":2}})",
                         e, reason));
  const uint32_t quantity = tm.slot("cart_add", "quantity");
  const uint32_t name = tm.slot("cart_add", "product_name");
  CHECK(e.fields[quantity] == Value::integer(2));
  CHECK(e.fields[name] == Value::str("Blue Table 1165"));
  CHECK(e.messageId == "m-1");
  CHECK(e.time == *parseTimestamp("2026-01-01T10:00:00.250Z"));
  // The same event without those properties, nor a messageId: absent, not left over.
  REQUIRE(decoder.decode(head + R"("properties":{"product_id":"p2"}})", e, reason));
  CHECK(e.fields[quantity].isAbsent());
  CHECK(e.fields[name].isAbsent());
  CHECK(e.fields[name] == Value::absent());
  CHECK(e.messageId.empty());
  // Keys in another order, then a null: still exactly what was sent.
  REQUIRE(decoder.decode(head + R"("properties":{"quantity":5,"product_id":"p3"}})", e, reason));
  CHECK(e.fields[quantity] == Value::integer(5));
  REQUIRE(decoder.decode(head + R"("properties":{"product_id":"p3","quantity":null}})", e, reason));
  CHECK(e.fields[quantity].isAbsent());
  // An undeclared event, then a declared one: no fields, then all of them.
  REQUIRE(decoder.decode(
      R"({"event":"Video Played","userId":"c2","timestamp":"2026-01-01T10:00:01Z"})", e, reason));
  CHECK(e.kind == Event::Kind::Undeclared);
  CHECK(e.fields.empty());
  REQUIRE(decoder.decode(head + R"("properties":{"product_id":"p4","price":1}})", e, reason));
  CHECK(e.kind == Event::Kind::Track);
  CHECK(e.fields.size() == 6);
  CHECK(e.fields[tm.slot("cart_add", "price")] == Value::money(Decimal::whole(1)));
  CHECK(e.fields[quantity].isAbsent());
  // A failed line in between leaves `e` unspecified; the next line must not care.
  CHECK_FALSE(decoder.decode(head + R"("properties":{"product_id":"p5","price":"x"}})", e, reason));
  REQUIRE(decoder.decode(head + R"("properties":{"product_id":"p6"}})", e, reason));
  CHECK(e.fields[tm.slot("cart_add", "price")].isAbsent());
  CHECK(e.fields[tm.slot("cart_add", "product_id")] == Value::str("p6"));
  // All of them were read by the compact reader, the rejected one included.
  CHECK(decoder.stats().fast == 8);
  CHECK(decoder.stats().general == 0);
}

TEST_CASE("decoder: escapes in strings and keys go to the general reader, with the same result") {
  testing::TestModel tm;
  ingest::Decoder decoder(plan::buildIngestPlan(tm.model));
  Event e;
  std::string reason;
  REQUIRE(
      decoder.decode(R"({"event":"cart_add","userId":"c\u0031","timestamp":"2026-01-01T10:00:00Z",)"
                     R"("properties":{"product\u005fid":"a\"b\\c\u00e9\ud83d\ude00"}})",
                     e, reason));
  CHECK(e.customer == "c1");
  CHECK(e.fields[tm.slot("cart_add", "product_id")] ==
        Value::str("a\"b\\c\xc3\xa9\xf0\x9f\x98\x80"));
  CHECK(decoder.stats().general == 1);
  // Non-ASCII without escapes stays with the compact reader.
  REQUIRE(
      decoder.decode("{\"event\":\"cart_add\",\"userId\":\"\xc3\xa9\",\"timestamp\":"
                     "\"2026-01-01T10:00:00Z\",\"properties\":{\"product_id\":\"caf\xc3\xa9\"}}",
                     e, reason));
  CHECK(e.customer == "\xc3\xa9");
  CHECK(e.fields[tm.slot("cart_add", "product_id")] == Value::str("caf\xc3\xa9"));
  CHECK(decoder.stats().fast == 1);
}

TEST_CASE(
    "decoder: events of alternating types and key orders decode exactly, row reuse included") {
  // The decoder parks Event::fields rows by width between types, and guesses each key from the
  // one before it: alternate types, omit keys, reorder them, and compare with a fresh decode.
  testing::TestModel tm;
  ingest::Decoder fast(plan::buildIngestPlan(tm.model));
  ingest::Decoder general(plan::buildIngestPlan(tm.model));
  general.setFastPath(false);
  const std::string head = R"({"userId":"c1","timestamp":"2026-01-01T10:00:00Z",)";
  const std::vector<std::string> lines = {
      R"("event":"cart_add","properties":{"product_id":"p1","product_name":"Blue","category":"x","price":2,"quantity":3,"cart_value":9}})",
      R"("event":"page_view","properties":{"url":"/a","title":"T","category":"c"}})",
      R"("event":"cart_add","properties":{"product_id":"p2","category":"y"}})",
      R"("event":"email_open","properties":{"message_id":"m","rule":"r"}})",
      R"("event":"page_view","properties":{"url":"/b"}})",
      R"("event":"cart_add","properties":{"cart_value":1,"product_id":"p3","quantity":4}})",
      R"("event":"Video Played","properties":{"x":1}})",
      R"("event":"cart_add","properties":{"product_id":"p4","product_name":"Red","price":5}})",
      R"("event":"page_view","properties":{"title":"U","url":"/c","extra":[1,{"a":null}]}})",
      R"("event":"cart_add","properties":{"product_id":"p5","quantity":null}})",
      R"("event":"unsubscribe"})",
      R"("event":"page_view","properties":{"url":"/d","category":"c"}})",
  };
  Event reused;
  for (int round = 0; round < 3; ++round) {
    for (const auto& body : lines) {
      const std::string line = head + body;
      Event fresh;
      std::string fastReason, generalReason;
      REQUIRE(fast.decode(line, reused, fastReason));
      REQUIRE(general.decode(line, fresh, generalReason));
      CHECK_MESSAGE(sameEvent(reused, fresh), line);
    }
  }
  CHECK(fast.stats().general == 0);
  CHECK(reused.kind == Event::Kind::Track);
  CHECK(reused.fields[tm.slot("page_view", "title")].isAbsent());
}

TEST_CASE("decoder: every compact line is decoded without the general reader, errors included") {
  // Meaning is the decoder's, not a reader's: compact lines of every kind -- other member
  // orders, nulls, anonymous visitors, alias and page calls, undeclared traits, keys sent twice,
  // values of the wrong type, missing members -- are read to their end by the compact reader and
  // come out exactly as the general reader alone gives them.
  testing::TestModel tm;
  ingest::Decoder compact(tm.model);
  ingest::Decoder general(tm.model);
  general.setFastPath(false);
  const std::string at = R"("timestamp":"2026-01-01T10:00:00Z")";
  const std::vector<std::string> lines = {
      R"({"properties":{"product_id":"p1","price":2},"event":"cart_add","userId":"c1",)" + at + "}",
      R"({"event":"cart_add","userId":null,"anonymousId":"a1",)" + at +
          R"(,"properties":{"product_id":"p1"}})",
      R"({"type":"alias","userId":"c1","previousId":"a1",)" + at + "}",
      R"({"type":"alias","userId":"c1",)" + at + "}",
      R"({"type":"page","event":"x","userId":"c1",)" + at + R"(,"properties":{"url":"/a"}})",
      R"({"type":"identify","userId":"c1",)" + at +
          R"(,"traits":{"email":"a@b","plan":"gold","tags2":["a","b"],"gone":null}})",
      R"({"traits":{"email":"a@b"},"type":"identify","userId":"c1",)" + at + "}",
      R"({"type":"identify","userId":"c1",)" + at + R"(,"traits":{"email":"a@b","email":"c@d"}})",
      R"({"type":"identify","userId":"c1",)" + at + R"(,"traits":{"subscribed":"no"}})",
      R"({"type":"identify","userId":"c1","messageId":3,)" + at +
          R"(,"traits":{"subscribed":false}})",
      R"({"event":"cart_add","userId":"c1",)" + at + R"(,"properties":{"price":"x"}})",
      R"({"event":"cart_add","userId":"c1",)" + at +
          R"(,"properties":{"product_id":"p1","productId":"p2"}})",
      R"({"event":"cart_add","userId":"c1",)" + at +
          R"(,"properties":{"product_id":"p1","product_id":"p1"}})",
      R"({"event":"cart_add","userId":"c1",)" + at +
          R"(,"properties":{"price":1e2,"quantity":2.0}})",
      R"({"event":"cart_add","userId":"c1",)" + at + R"(,"properties":{"price":1.1234567}})",
      R"({"event":"cart_add","userId":"c1",)" + at + R"(,"properties":{}})",
      R"({"event":"cart_add","userId":"c1",)" + at +
          R"(,"x":1,"x":2,"properties":{"product_id":"p"}})",
      R"({"event":"cart_add","userId":"c1",)" + at + R"(,"event":"cart_add"})",
      R"({"event":"cart_add","userId":"c1"})",
      R"({"event":"cart_add","userId":"","timestamp":"yesterday"})",
      R"({"type":"purchase","userId":"c1",)" + at + "}",
      R"({"event":5,"userId":"c1",)" + at + "}",
  };
  for (const auto& line : lines) {
    Event a, b;
    std::string whyA, whyB;
    const uint64_t before = compact.stats().general;
    const bool okA = compact.decode(line, a, whyA);
    const bool okB = general.decode(line, b, whyB);
    CHECK_MESSAGE(compact.stats().general == before, line);
    CHECK_MESSAGE(okA == okB, line);
    CHECK_MESSAGE(whyA == whyB, line);
    CHECK_MESSAGE(compact.failedClosed() == general.failedClosed(), line);
    if (okA || compact.failedClosed()) CHECK_MESSAGE(sameEvent(a, b), line);
  }
  CHECK(compact.stats().fast == lines.size());
}
