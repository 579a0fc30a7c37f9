#include "runtime/policy/quiet_hours.h"

#include <doctest/doctest.h>

#include <vector>

using namespace trig;
using namespace trig::policy;

namespace {

TimeMs at(const char* rfc3339) {
  return *parseTimestamp(rfc3339);
}

struct Fixture {
  std::vector<std::string> unknown;
  QuietPeriod quiet;
  explicit Fixture(int start, int end)
      : quiet({start, end}, [this](std::string_view n) { unknown.emplace_back(n); }) {}
};

constexpr int kTen = 22 * 60;   // 22:00
constexpr int kEight = 8 * 60;  // 08:00

}  // namespace

TEST_CASE("quiet hours: the system tz database is readable") {
  CHECK(isKnownTimezone("America/New_York"));
  CHECK(isKnownTimezone("Asia/Kolkata"));
  CHECK(isKnownTimezone("UTC"));
  CHECK_FALSE(isKnownTimezone("Mars/Olympus_Mons"));
  CHECK_FALSE(isKnownTimezone(""));
}

TEST_CASE("quiet hours: crossing midnight, in UTC") {
  Fixture f(kTen, kEight);
  auto d = f.quiet.check(at("2026-01-01T23:30:00Z"), "");
  CHECK(d.quiet);
  CHECK(d.until == at("2026-01-02T08:00:00Z"));
  d = f.quiet.check(at("2026-01-02T03:00:00Z"), "UTC");
  CHECK(d.quiet);
  CHECK(d.until == at("2026-01-02T08:00:00Z"));
  // [start, end): 22:00 is quiet, 08:00 is not.
  d = f.quiet.check(at("2026-01-01T22:00:00Z"), "");
  CHECK(d.quiet);
  CHECK(d.until == at("2026-01-02T08:00:00Z"));
  CHECK_FALSE(f.quiet.check(at("2026-01-02T08:00:00Z"), "").quiet);
  CHECK(f.quiet.check(at("2026-01-02T07:59:59.999Z"), "").quiet);
  CHECK_FALSE(f.quiet.check(at("2026-01-01T21:59:59.999Z"), "").quiet);
  CHECK_FALSE(f.quiet.check(at("2026-01-01T12:00:00Z"), "").quiet);
  CHECK(f.unknown.empty());
}

TEST_CASE("quiet hours: a daytime period, and an empty one") {
  Fixture f(12 * 60, 13 * 60 + 30);
  auto d = f.quiet.check(at("2026-03-01T12:10:00Z"), "");
  CHECK(d.quiet);
  CHECK(d.until == at("2026-03-01T13:30:00Z"));
  CHECK_FALSE(f.quiet.check(at("2026-03-01T13:30:00Z"), "").quiet);
  CHECK_FALSE(f.quiet.check(at("2026-03-01T11:59:00Z"), "").quiet);
  Fixture none(8 * 60, 8 * 60);
  CHECK_FALSE(none.quiet.check(at("2026-03-01T08:00:00Z"), "").quiet);
}

TEST_CASE("quiet hours: non-UTC zones") {
  Fixture f(kTen, kEight);
  // New York in winter is UTC-5: 03:30Z is 22:30 local, quiet until 08:00 local = 13:00Z.
  auto d = f.quiet.check(at("2026-01-02T03:30:00Z"), "America/New_York");
  CHECK(d.quiet);
  CHECK(d.until == at("2026-01-02T13:00:00Z"));
  // 23:30Z is 18:30 in New York: not quiet, though it is in UTC.
  CHECK_FALSE(f.quiet.check(at("2026-01-01T23:30:00Z"), "America/New_York").quiet);
  // Kolkata is UTC+5:30: 17:00Z is 22:30 local, quiet until 08:00 local = 02:30Z next day.
  d = f.quiet.check(at("2026-01-01T17:00:00Z"), "Asia/Kolkata");
  CHECK(d.quiet);
  CHECK(d.until == at("2026-01-02T02:30:00Z"));
  CHECK_FALSE(f.quiet.check(at("2026-01-01T16:29:00Z"), "Asia/Kolkata").quiet);
  CHECK(f.unknown.empty());
}

TEST_CASE("quiet hours: DST change days") {
  SUBCASE("spring forward: the night is an hour shorter") {
    Fixture f(kTen, kEight);
    // 2026-03-08 in New York: 02:00 EST becomes 03:00 EDT. At 23:00 EST on the 7th (04:00Z)
    // the period ends at 08:00 EDT = 12:00Z.
    auto d = f.quiet.check(at("2026-03-08T04:00:00Z"), "America/New_York");
    CHECK(d.quiet);
    CHECK(d.until == at("2026-03-08T12:00:00Z"));
  }
  SUBCASE("fall back: the night is an hour longer") {
    Fixture f(kTen, kEight);
    // 2026-11-01 in New York: 02:00 EDT becomes 01:00 EST. 22:30 EDT on Oct 31 (02:30Z) ends at
    // 08:00 EST = 13:00Z.
    auto d = f.quiet.check(at("2026-11-01T02:30:00Z"), "America/New_York");
    CHECK(d.quiet);
    CHECK(d.until == at("2026-11-01T13:00:00Z"));
  }
  SUBCASE("an end time inside the spring-forward gap ends when the clocks jump") {
    Fixture f(kTen, 2 * 60 + 30);  // 22:00-02:30; 02:30 does not exist on 2026-03-08
    auto d = f.quiet.check(at("2026-03-08T06:30:00Z"), "America/New_York");  // 01:30 EST
    CHECK(d.quiet);
    CHECK(d.until == at("2026-03-08T07:00:00Z"));  // 02:00 EST = 03:00 EDT
  }
  SUBCASE("an end time that happens twice ends at its next occurrence") {
    Fixture f(kTen, 60 + 30);  // 22:00-01:30; 01:30 happens twice on 2026-11-01
    auto first = f.quiet.check(at("2026-11-01T05:10:00Z"), "America/New_York");  // 01:10 EDT
    CHECK(first.quiet);
    CHECK(first.until == at("2026-11-01T05:30:00Z"));                             // 01:30 EDT
    auto second = f.quiet.check(at("2026-11-01T06:10:00Z"), "America/New_York");  // 01:10 EST
    CHECK(second.quiet);
    CHECK(second.until == at("2026-11-01T06:30:00Z"));  // 01:30 EST
    CHECK_FALSE(f.quiet.check(at("2026-11-01T05:40:00Z"), "America/New_York").quiet);
  }
}

TEST_CASE("quiet hours: unknown zones are UTC and reported once per name") {
  Fixture f(kTen, kEight);
  auto d = f.quiet.check(at("2026-01-01T23:00:00Z"), "Mars/Olympus_Mons");
  CHECK(d.quiet);
  CHECK(d.until == at("2026-01-02T08:00:00Z"));
  f.quiet.check(at("2026-01-01T12:00:00Z"), "Mars/Olympus_Mons");
  f.quiet.check(at("2026-01-01T12:00:00Z"), "Europe/Atlantis");
  f.quiet.check(at("2026-01-01T12:00:00Z"), "America/New_York");
  CHECK(f.unknown == std::vector<std::string>{"Mars/Olympus_Mons", "Europe/Atlantis"});
  // No reporter: still treated as UTC.
  QuietPeriod silent({kTen, kEight}, nullptr);
  CHECK(silent.check(at("2026-01-01T23:00:00Z"), "Nowhere").quiet);
}
