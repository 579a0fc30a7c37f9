#include "compiler/support/time.h"

#include <date/date.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "compiler/support/decimal.h"

namespace trig {
namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<TimeMs> parseTimestamp(std::string_view s) {
  int y, mo, d, h, mi, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 16 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi))
    return std::nullopt;
  size_t i = 16;
  int64_t millis = 0;
  if (i < s.size() && s[i] == ':') {
    if (!digits(s, i + 1, 2, sec)) return std::nullopt;
    i += 3;
    if (i < s.size() && s[i] == '.') {
      ++i;
      int n = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (n < 3) millis = millis * 10 + (s[i] - '0');
        ++n;
        ++i;
      }
      if (n == 0) return std::nullopt;
      for (; n < 3; ++n) millis *= 10;
    }
  }
  int64_t offsetMin = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !digits(s, i + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offsetMin = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t days = date::sys_days{ymd}.time_since_epoch().count();
  TimeMs t = ((days * 24 + h) * 60 + mi - offsetMin) * kMinute + sec * kSecond + millis;
  if (t < kMinTime || t > kMaxTime) return std::nullopt;
  return t;
}

std::string formatTimestamp(TimeMs t) {
  using namespace std::chrono;
  t = std::clamp(t, kMinTime, kMaxTime);
  auto tp = sys_time<milliseconds>{milliseconds{t}};
  auto day = floor<days>(tp);
  date::year_month_day ymd{day};
  date::hh_mm_ss<milliseconds> hms{tp - day};
  const int year = static_cast<int>(ymd.year());
  const int ms = static_cast<int>(hms.subseconds().count());
  const int fields[] = {
      static_cast<int>(static_cast<unsigned>(ymd.month())),
      static_cast<int>(static_cast<unsigned>(ymd.day())), static_cast<int>(hms.hours().count()),
      static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count())};
  // Every record and explanation prints times: digits by hand, not printf.
  char buf[24] = "0000-00-00T00:00:00.000";
  auto put = [&](int pos, int value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10)
      buf[pos + i] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, fields[0], 2);
  put(8, fields[1], 2);
  put(11, fields[2], 2);
  put(14, fields[3], 2);
  put(17, fields[4], 2);
  size_t len = 19;
  if (ms != 0) {
    put(20, ms, 3);
    len = 23;
  }
  std::string out(buf, len);
  out += 'Z';
  return out;
}

std::optional<DurationMs> parseDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  Int128 total = 0;
  size_t i = 0;
  while (i < s.size()) {
    Int128 n = 0;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      n = n * 10 + (s[i] - '0');
      if (n > std::numeric_limits<int64_t>::max()) return std::nullopt;
      ++i;
    }
    if (i == start || i >= s.size()) return std::nullopt;
    DurationMs unit;
    switch (s[i]) {
      case 's': unit = kSecond; break;
      case 'm': unit = kMinute; break;
      case 'h': unit = kHour; break;
      case 'd': unit = kDay; break;
      case 'w': unit = kWeek; break;
      default: return std::nullopt;
    }
    ++i;
    total += n * unit;
    // Keep clear of overflow when durations are added to times.
    if (total > (std::numeric_limits<int64_t>::max() >> 2)) return std::nullopt;
  }
  return static_cast<DurationMs>(total);
}

std::string formatDuration(DurationMs d) {
  if (d == 0) return "0s";
  std::string out;
  if (d < 0) {
    out = "-";
    d = -d;
  }
  struct Unit {
    DurationMs ms;
    char c;
  };
  for (Unit u : {Unit{kDay, 'd'}, Unit{kHour, 'h'}, Unit{kMinute, 'm'}, Unit{kSecond, 's'}}) {
    if (d >= u.ms) {
      out += std::to_string(d / u.ms) + u.c;
      d %= u.ms;
    }
  }
  if (d > 0) out += std::to_string(d) + "ms";
  return out;
}

std::string durationLimitError(std::string_view text) {
  auto d = parseDuration(text);
  if (d && *d <= kMaxDuration) return {};
  return "duration '" + std::string(text) + "' is longer than 100 years";
}

char durationUnitForWord(std::string_view word) {
  static const std::pair<std::string_view, char> kWords[] = {
      {"sec", 's'}, {"secs", 's'}, {"second", 's'}, {"seconds", 's'},
      {"min", 'm'}, {"mins", 'm'}, {"minute", 'm'}, {"minutes", 'm'},
      {"hr", 'h'},  {"hrs", 'h'},  {"hour", 'h'},   {"hours", 'h'},
      {"day", 'd'}, {"days", 'd'}, {"week", 'w'},   {"weeks", 'w'}};
  for (const auto& [w, c] : kWords)
    if (w == word) return c;
  return '\0';
}

std::optional<int> parseTimeOfDay(std::string_view s) {
  int h, m;
  if (s.size() != 5 || !digits(s, 0, 2, h) || s[2] != ':' || !digits(s, 3, 2, m))
    return std::nullopt;
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

}  // namespace trig
