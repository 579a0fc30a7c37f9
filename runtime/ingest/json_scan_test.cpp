#include "runtime/ingest/json_scan.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

using trig::ingest::json::Kind;
using trig::ingest::json::Scanner;

namespace {

bool scannerAccepts(std::string_view text) {
  Scanner sc(text);
  return sc.skipValue() && sc.atEnd();
}

bool nlohmannAccepts(std::string_view text) {
  return nlohmann::json::accept(text.begin(), text.end());
}

const std::vector<std::string> kSeeds = {
    R"({"type":"track","event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z","messageId":"m-1","properties":{"product_id":"p1","cart_value":49.99}})",
    R"({"a":[1,-2,3.5,-0.0,1e10,2E-3,0.5e+2],"b":{"c":null,"d":true,"e":false},"f":"\u00e9\ud83d\ude00\n\t\"\\\/"})",
    R"([[],{},[{}],"",0,-1,"x"])",
    "  {\"k\" : [ 1 , 2 ] }\r\n",
    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
    R"({"nested":{"deeper":{"deepest":[[[["x"]]]]}}})",
};

}  // namespace

TEST_CASE("json scanner: agrees with nlohmann on valid seeds") {
  for (const auto& s : kSeeds) {
    CHECK_MESSAGE(nlohmannAccepts(s), s);
    CHECK_MESSAGE(scannerAccepts(s), s);
  }
}

TEST_CASE("json scanner: agrees with nlohmann on hand-picked invalid input") {
  const std::vector<std::string> bad = {
      "",
      " ",
      "{",
      "}",
      "[1,]",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{a:1}",
      "01",
      "1.",
      ".5",
      "-",
      "+1",
      "1e",
      "1e+",
      "0x10",
      "NaN",
      "Infinity",
      "tru",
      "nul",
      "\"abc",
      "\"\\x\"",
      "\"\\u12\"",
      "\"\\ud800\"",
      "\"\\ud800\\u0041\"",
      "\"\\udc00\"",
      "\"a\x01\"",
      "\"\xff\"",
      "\"\xc0\xaf\"",
      "\"\xe0\x80\xaf\"",
      "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xc3\"",
      "1 2",
      "{} {}",
      "[1 2]",
      "{\"a\":1 \"b\":2}",
      "'x'",
      "[\x7f]",
  };
  for (const auto& s : bad) {
    CHECK_MESSAGE(!nlohmannAccepts(s), s);
    CHECK_MESSAGE(!scannerAccepts(s), s);
  }
}

TEST_CASE("json scanner: differential test against nlohmann on mutated input") {
  // Deterministic mutations (byte flips, deletions, insertions, truncations) of the seeds; both
  // parsers must agree on every one. Inputs starting with a UTF-8 byte order mark are skipped:
  // nlohmann ignores a BOM, and the decoder rejects it on purpose.
  std::mt19937 rng(12345);
  const std::string alphabet =
      "{}[]\",:\\ -+.eE0123456789tfnulrsaubx\x01\x7f\xc3\xa9\xed\xff\t\r\n";
  int checked = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string s = kSeeds[rng() % kSeeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      const size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: s.erase(pos, 1); break;
        case 2: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 3: s.resize(pos); break;
      }
    }
    if (s.starts_with("\xef\xbb\xbf")) continue;
    ++checked;
    const bool theirs = nlohmannAccepts(s);
    const bool ours = scannerAccepts(s);
    if (theirs != ours) {
      FAIL_CHECK("disagreement on: " << s << " nlohmann=" << theirs << " scanner=" << ours);
      break;
    }
  }
  CHECK(checked > 19000);
}

TEST_CASE("json scanner: string decoding matches nlohmann") {
  const std::vector<std::string> strings = {
      R"("plain")",
      R"("")",
      R"("a\"b\\c\/d\b\f\n\r\t")",
      R"("\u0041\u00e9\u20ac")",
      R"("\ud83d\ude00 smile")",
      "\"caf\xc3\xa9\"",
      R"("\u0000nul")",
  };
  for (const auto& s : strings) {
    Scanner sc(s);
    std::string_view raw;
    bool escaped = false;
    REQUIRE(sc.string(raw, escaped));
    std::string decoded;
    Scanner::decode(raw, escaped, decoded);
    CHECK(decoded == nlohmann::json::parse(s).get<std::string>());
  }
}

TEST_CASE("json scanner: numbers keep their exact text") {
  for (std::string text :
       {"0", "-0", "49.99", "150", "1e400", "-12.500E-3", "123456789012345678901234567890"}) {
    Scanner sc(text);
    std::string_view got;
    REQUIRE(sc.number(got));
    CHECK(got == text);
  }
}

TEST_CASE("json scanner: nesting is bounded") {
  std::string ok = std::string(Scanner::kMaxDepth, '[') + std::string(Scanner::kMaxDepth, ']');
  CHECK(scannerAccepts(ok));
  std::string deep(100000, '[');
  Scanner sc(deep);
  CHECK_FALSE(sc.skipValue());
  CHECK(sc.error() == "nesting too deep");
}
