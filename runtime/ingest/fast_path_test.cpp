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
#include "runtime/ingest/test_lines.h"
#include "runtime/ingest/test_model.h"
#include "runtime/ingest/timestamp.h"

using namespace trig;
using testing::LineGen;
using testing::randomStamp;
using testing::twoDigits;

namespace {

// ---- timestamps ---------------------------------------------------------------------------------

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

TEST_CASE("plain timestamps: the stream parser's remembered minute and its usual seconds") {
  // Stamps that share their first 16 bytes with the one before, most of them 24 bytes long (the
  // seconds read with one load), each of the last 8 bytes sometimes any byte: every result as
  // parseTimestamp's.
  std::mt19937 rng(16);
  ingest::TimestampParser p;
  static const char kRaw[] = "0123456789:.Zz/+-;a \x00\x7f\xc3";
  const std::string kBytes(kRaw, sizeof kRaw - 1);
  int usual = 0;
  for (int round = 0; round < 100000; ++round) {
    std::string s =
        rng() % 64 == 0 ? randomStamp(rng) : "2026-01-01T10:0" + std::to_string(rng() % 2);
    if (s.size() == 16) {
      s += ':' + twoDigits(static_cast<int>(rng() % 64)) + '.' + std::to_string(100 + rng() % 900) +
           'Z';
      for (size_t k = 16; k < s.size(); ++k)
        if (rng() % 16 == 0) s[k] = kBytes[rng() % kBytes.size()];
      if (rng() % 32 == 0) s.resize(16 + rng() % 12);
    }
    const auto want = parseTimestamp(s);
    if (want && s.size() == 24 && s[19] == '.') ++usual;
    if (p.parse(s) != want) FAIL_CHECK("TimestampParser: " << s);
  }
  CHECK(usual > 50000);
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
  ingest::Decoder compact(plan::buildIngestPlan(tm.model));
  ingest::Decoder general(plan::buildIngestPlan(tm.model));
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
