#pragma once
// Event time and durations: signed 64-bit milliseconds (since the Unix epoch for times).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trig {

using TimeMs = int64_t;
using DurationMs = int64_t;

constexpr DurationMs kSecond = 1000;
constexpr DurationMs kMinute = 60 * kSecond;
constexpr DurationMs kHour = 60 * kMinute;
constexpr DurationMs kDay = 24 * kHour;
constexpr DurationMs kWeek = 7 * kDay;

// The times trig reads and prints: RFC 3339's years 0000 to 9999, in UTC.
constexpr TimeMs kMinTime = -62167219200000;  // 0000-01-01T00:00:00Z
constexpr TimeMs kMaxTime = 253402300799999;  // 9999-12-31T23:59:59.999Z

// RFC 3339: "2026-01-01T10:00:00Z", fractional seconds and numeric offsets (at most ±23:59)
// accepted; nullopt for anything else, and for a time outside [kMinTime, kMaxTime] in UTC.
std::optional<TimeMs> parseTimestamp(std::string_view text);
// Always UTC with a Z; milliseconds only when non-zero. A time outside [kMinTime, kMaxTime]
// (only arithmetic far past the years of events makes one) prints as the nearer bound, so what
// is printed is always RFC 3339.
std::string formatTimestamp(TimeMs t);
// "15m", "1h30m", "30d", "0s": one or more <int><unit>, units s m h d w.
std::optional<DurationMs> parseDuration(std::string_view text);
// The shortest canonical text of a duration ("1h30m").
std::string formatDuration(DurationMs d);
// The unit letter a word such as "minutes", "hr" or "day" means ('\0' for none): what a
// person wrote instead of a duration unit, for "did you mean '15m'?".
char durationUnitForWord(std::string_view word);
// "22:00" -> minutes since midnight.
std::optional<int> parseTimeOfDay(std::string_view text);

}  // namespace trig
