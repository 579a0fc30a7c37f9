#include "runtime/policy/quiet_hours.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <chrono>
#include <exception>

// The tz database must come from the system (/usr/share/zoneinfo): a build that could fetch it
// over the network would make runs depend on the network.
static_assert(USE_OS_TZDB == 1 && HAS_REMOTE_API == 0,
              "date-tz must be built to use the system tz database and never download");

namespace trig::policy {

namespace {

using Ms = std::chrono::milliseconds;
using LocalMs = date::local_time<Ms>;
using SysMs = date::sys_time<Ms>;

const date::time_zone* findZone(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    // Unknown name, or no readable tz database at all: both mean "treat as UTC".
    return nullptr;
  }
}

// The instant of local time `local` in `zone`, for a period end after `t`.
TimeMs endInstant(const date::time_zone* zone, LocalMs local, TimeMs t) {
  if (!zone) return local.time_since_epoch().count();
  const date::local_info info = zone->get_info(date::floor<std::chrono::seconds>(local));
  switch (info.result) {
    case date::local_info::unique:
      return (local.time_since_epoch() - Ms(info.first.offset)).count();
    case date::local_info::nonexistent:
      // The end falls in a spring-forward gap: the period ends when the clocks jump.
      return SysMs(info.second.begin).time_since_epoch().count();
    case date::local_info::ambiguous: {
      // The end exists twice (fall back): the first occurrence still ahead of t.
      TimeMs first = (local.time_since_epoch() - Ms(info.first.offset)).count();
      if (first > t) return first;
      return (local.time_since_epoch() - Ms(info.second.offset)).count();
    }
  }
  return local.time_since_epoch().count();
}

}  // namespace

QuietPeriod::QuietPeriod(plan::QuietHours quiet, UnknownZoneReporter reportUnknown)
    : quiet_(quiet), reportUnknown_(std::move(reportUnknown)) {}

const date::time_zone* QuietPeriod::zone(std::string_view name) {
  if (name.empty() || name == "UTC") return nullptr;
  if (auto it = zones_.find(name); it != zones_.end()) return it->second;
  const date::time_zone* z = findZone(name);
  zones_.emplace(std::string(name), z);
  if (!z && reportUnknown_) reportUnknown_(name);
  return z;
}

QuietDecision QuietPeriod::check(TimeMs t, std::string_view timezone) {
  const int64_t start = int64_t{quiet_.startMinute} * kMinute;
  const int64_t end = int64_t{quiet_.endMinute} * kMinute;
  if (start == end) return {};
  const date::time_zone* z = zone(timezone);

  const SysMs sys{Ms{t}};
  const LocalMs local = z ? z->to_local(sys) : LocalMs{Ms{t}};
  const date::local_days day = date::floor<date::days>(local);
  const int64_t ofDay = (local - day).count();

  date::local_days endDay = day;
  if (start < end) {
    if (ofDay < start || ofDay >= end) return {};
  } else if (ofDay >= start) {
    endDay = day + date::days{1};  // crosses midnight: ends tomorrow
  } else if (ofDay >= end) {
    return {};
  }
  const TimeMs until = endInstant(z, LocalMs{endDay} + Ms{end}, t);
  // A zone whose rules would put the end at or before t cannot defer anything sensibly; sending
  // now is better than deferring forever.
  if (until <= t) return {};
  return {true, until};
}

Verdict QuietHours::check(const Send& s, Context& c) {
  if (s.moment != Moment::Decision) return Verdict::pass();
  QuietDecision q = period_.check(s.now, c.timezone());
  if (!q.quiet) return Verdict::pass();
  return Verdict::defer(q.until,
                        fmt::format("quiet hours: deferred until {}", formatTimestamp(q.until)));
}

bool isKnownTimezone(std::string_view name) {
  return findZone(name) != nullptr;
}

}  // namespace trig::policy
