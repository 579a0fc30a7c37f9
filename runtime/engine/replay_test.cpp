// Replay's pre-pass: the timestamp scan that decides whether files stream in order. A wrong
// answer would replay events out of order, so it is checked on the shapes that trip naive
// scanners (escaped quotes and backslashes, nested "timestamp" keys, duplicate keys) and on
// random lines whose answer is known by construction.
#include "runtime/engine/replay.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

namespace trig::engine {
namespace {

TimeMs stamp(const char* text) {
  auto t = parseTimestamp(text);
  REQUIRE(t);
  return *t;
}

std::string jsonString(const std::string& raw) {
  std::string out = "\"";
  for (char c : raw) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

TEST_CASE("replay pre-pass: the top-level timestamp, past strings and nested objects") {
  TimeMs t = 0;
  CHECK(scanTimestamp(R"({"type":"track","event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z"})", t));
  CHECK(t == stamp("2026-01-01T10:00:00Z"));

  // An escaped quote does not end the string; the "timestamp" inside it is not a key.
  CHECK(scanTimestamp(R"({"userId":"a\",\"timestamp\":\"2030-01-01T00:00:00Z","timestamp":"2026-01-02T00:00:00Z"})", t));
  CHECK(t == stamp("2026-01-02T00:00:00Z"));

  // An escaped backslash before the closing quote: the string ends there.
  CHECK(scanTimestamp(R"({"userId":"a\\","timestamp":"2026-01-03T00:00:00Z"})", t));
  CHECK(t == stamp("2026-01-03T00:00:00Z"));
  CHECK(scanTimestamp(R"({"userId":"a\\\"b\\\\","timestamp":"2026-01-04T00:00:00Z"})", t));
  CHECK(t == stamp("2026-01-04T00:00:00Z"));

  // A nested "timestamp" is a property, not the event's time.
  CHECK(scanTimestamp(
      R"({"timestamp":"2026-01-05T00:00:00Z","properties":{"timestamp":"2031-01-01T00:00:00Z","l":[{"timestamp":1}]}})", t));
  CHECK(t == stamp("2026-01-05T00:00:00Z"));

  // A key spelled with an escape is still "timestamp" to the decoder: no shortcut past it.
  CHECK_FALSE(scanTimestamp(R"({"timestamp":"2026-01-06T00:00:00Z","time\u0073tamp":"2026-01-08T00:00:00Z"})", t));

  // Duplicate keys: the last one, as the decoder takes it.
  CHECK(scanTimestamp(R"({"timestamp":"2026-01-06T00:00:00Z","timestamp":"2026-01-07T00:00:00Z"})", t));
  CHECK(t == stamp("2026-01-07T00:00:00Z"));

  // Shapes the scan does not vouch for: the caller then sorts.
  CHECK_FALSE(scanTimestamp(R"({"userId":"c1"})", t));
  CHECK_FALSE(scanTimestamp(R"({"properties":{"timestamp":"2026-01-01T10:00:00Z"}})", t));
  CHECK_FALSE(scanTimestamp(R"({"event":"timestamp","x":"2026-01-01T10:00:00Z"})", t));
  CHECK_FALSE(scanTimestamp(R"({"l":["timestamp","2026-01-01T10:00:00Z"]})", t));
  CHECK_FALSE(scanTimestamp(R"({"userId":"c1,"timestamp":"2026-01-01T10:00:00Z"})", t));
  CHECK_FALSE(scanTimestamp(R"({"userId":"unterminated\"})", t));
  CHECK_FALSE(scanTimestamp(R"({"timestamp":"not a time"})", t));
  CHECK_FALSE(scanTimestamp(R"([1,2])", t));
  CHECK_FALSE(scanTimestamp("", t));
}

TEST_CASE("replay pre-pass: random lines with quotes and backslashes in every string") {
  std::mt19937 rng(20261129);
  const char alphabet[] = {'a', 'b', '"', '\\', ' ', ':', ',', '{', '}', '[', ']', 't'};
  auto randomRaw = [&] {
    std::string s;
    size_t n = rng() % 12;
    for (size_t i = 0; i < n; ++i) s += alphabet[rng() % sizeof alphabet];
    return s;
  };
  for (int round = 0; round < 2000; ++round) {
    CAPTURE(round);
    TimeMs expected = stamp("2026-01-01T00:00:00Z") + static_cast<TimeMs>(rng() % 1'000'000) * 1000;
    std::string line = "{";
    int keys = 1 + static_cast<int>(rng() % 4);
    int stampAt = static_cast<int>(rng() % keys);
    for (int k = 0; k < keys; ++k) {
      if (k > 0) line += ",";
      if (k == stampAt) {
        line += "\"timestamp\":\"" + formatTimestamp(expected) + "\"";
        continue;
      }
      line += "\"k" + std::to_string(k) + "\":";  // keys with escapes make the scan give up
      switch (rng() % 3) {
        case 0: line += jsonString(randomRaw()); break;
        case 1: line += "{\"timestamp\":" + jsonString(randomRaw()) + ",\"x\":[" + jsonString(randomRaw()) + "]}"; break;
        default: line += std::to_string(rng() % 1000); break;
      }
    }
    line += "}";
    CAPTURE(line);
    TimeMs got = 0;
    REQUIRE(scanTimestamp(line, got));
    CHECK(got == expected);
  }
}

}  // namespace
}  // namespace trig::engine
