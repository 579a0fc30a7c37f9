// RFC 3339 timestamps: the one format of records, explanations and test expectations.
#include "compiler/support/time.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>

namespace trig {
namespace {

TEST_CASE("formatTimestamp: UTC, milliseconds only when there are some") {
  CHECK(formatTimestamp(0) == "1970-01-01T00:00:00Z");
  CHECK(formatTimestamp(1) == "1970-01-01T00:00:00.001Z");
  CHECK(formatTimestamp(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(formatTimestamp(*parseTimestamp("2028-02-29T23:59:59.5Z")) == "2028-02-29T23:59:59.500Z");
  CHECK(formatTimestamp(*parseTimestamp("2026-01-01T10:15:00+02:00")) == "2026-01-01T08:15:00Z");
  CHECK(formatTimestamp(*parseTimestamp("9999-12-31T23:59:59.999Z")) == "9999-12-31T23:59:59.999Z");
  CHECK(formatTimestamp(*parseTimestamp("0000-01-01T00:00:00Z")) == "0000-01-01T00:00:00Z");
  CHECK(*parseTimestamp("0000-01-01T00:00:00Z") == kMinTime);
  CHECK(*parseTimestamp("9999-12-31T23:59:59.999Z") == kMaxTime);
}

TEST_CASE("times outside the years 0000-9999 print as the nearer bound, never wrap or widen") {
  CHECK(formatTimestamp(kMaxTime + 1) == "9999-12-31T23:59:59.999Z");
  CHECK(formatTimestamp(kMinTime - 1) == "0000-01-01T00:00:00Z");
  // Past year 32767 a 16-bit year used to wrap, and times went backwards.
  CHECK(formatTimestamp(kMaxTime * 4) == "9999-12-31T23:59:59.999Z");
  CHECK(formatTimestamp(INT64_MAX) == "9999-12-31T23:59:59.999Z");
  CHECK(formatTimestamp(INT64_MIN) == "0000-01-01T00:00:00Z");
}

TEST_CASE("parseTimestamp: offsets within ±23:59, results within the years 0000-9999") {
  CHECK_FALSE(parseTimestamp("2026-01-01T10:00:00+99:99"));
  CHECK_FALSE(parseTimestamp("2026-01-01T10:00:00+24:00"));
  CHECK_FALSE(parseTimestamp("2026-01-01T10:00:00+05:60"));
  CHECK(parseTimestamp("2026-01-01T10:00:00+23:59"));
  CHECK(parseTimestamp("2026-01-01T10:00:00-23:59"));
  // An offset that moves the time past the range in UTC.
  CHECK_FALSE(parseTimestamp("9999-12-31T23:00:00-02:00"));
  CHECK_FALSE(parseTimestamp("0000-01-01T00:30:00+01:00"));
  CHECK(parseTimestamp("9999-12-31T21:59:59+02:00"));
}

TEST_CASE("formatTimestamp and parseTimestamp round-trip") {
  std::mt19937_64 rng(7);
  const TimeMs lo = *parseTimestamp("0001-01-01T00:00:00Z");
  const TimeMs hi = *parseTimestamp("9999-12-31T23:59:59.999Z");
  for (int i = 0; i < 20000; ++i) {
    TimeMs t = lo + static_cast<TimeMs>(rng() % static_cast<uint64_t>(hi - lo));
    if (i % 3 == 0) t -= t % kSecond;  // whole seconds print without a fraction
    std::string text = formatTimestamp(t);
    CAPTURE(text);
    CHECK(text.size() == (t % kSecond == 0 ? 20u : 24u));
    auto back = parseTimestamp(text);
    REQUIRE(back);
    CHECK(*back == t);
  }
}

TEST_CASE("durationUnitForWord: the words people write for units") {
  CHECK(durationUnitForWord("minutes") == 'm');
  CHECK(durationUnitForWord("min") == 'm');
  CHECK(durationUnitForWord("day") == 'd');
  CHECK(durationUnitForWord("hrs") == 'h');
  CHECK(durationUnitForWord("weeks") == 'w');
  CHECK(durationUnitForWord("seconds") == 's');
  CHECK(durationUnitForWord("fortnight") == '\0');
  CHECK(durationUnitForWord("m") == '\0');
}

}  // namespace
}  // namespace trig
