#pragma once
// Policy 7, quiet hours (docs/language.md, "The delivery policy"): `quiet_hours 22:00-08:00` defers
// a send that falls inside the local period to its end, in the customer's IANA timezone (default
// UTC); the deferred send becomes due again then, and goes through arbitration and the cap. The
// period is [start, end) in local wall-clock time; start > end crosses midnight; start == end is
// empty. Time zones come from the system tz database (/usr/share/zoneinfo, via date::locate_zone;
// the library is built with USE_OS_TZDB and can never download). An unknown zone name is treated as
// UTC and reported once per name through the callback.
// DST: the end of the period is the local end time of the right day converted to an instant;
// when that local time does not exist (spring forward) it is the instant the clocks jump, when
// it exists twice (fall back) it is the first occurrence after t.
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "compiler/plan/plan.h"
#include "compiler/support/time.h"
#include "runtime/policy/policy.h"

namespace date {
class time_zone;
}

namespace trig::policy {

struct QuietDecision {
  bool quiet = false;
  TimeMs until = 0;  // when quiet: the instant the period ends (> t)
};

// Whether an instant is inside the quiet period, and when the period ends. Not thread-safe (it
// caches zone lookups): one per engine thread.
class QuietPeriod {
 public:
  using UnknownZoneReporter = std::function<void(std::string_view name)>;

  QuietPeriod(plan::QuietHours quiet, UnknownZoneReporter reportUnknown);

  // `timezone` empty means UTC.
  QuietDecision check(TimeMs t, std::string_view timezone);

 private:
  const date::time_zone* zone(std::string_view name);  // nullptr: UTC

  plan::QuietHours quiet_;
  UnknownZoneReporter reportUnknown_;
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Resolved names; nullptr for unknown ones (already reported) and UTC.
  std::unordered_map<std::string, const date::time_zone*, NameHash, std::equal_to<>> zones_;
};

// The policy: the arbitration winner is deferred while its customer's quiet period lasts.
class QuietHours final : public Policy {
 public:
  QuietHours(plan::QuietHours quiet, QuietPeriod::UnknownZoneReporter reportUnknown)
      : period_(quiet, std::move(reportUnknown)) {}
  Verdict check(const Send& s, Context& c) override;

 private:
  QuietPeriod period_;
};

// Whether `name` is a zone of the system tz database.
bool isKnownTimezone(std::string_view name);

}  // namespace trig::policy
