#pragma once
// RFC 3339 timestamps on the ingest hot path. Almost every producer sends the plain UTC shape
// `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.fffZ`; that shape is parsed here directly, and
// everything else (offsets, lower-case separators, a space for `T`, more than 9 fraction digits,
// invalid text) goes to trig::parseTimestamp, which defines the result in every case.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "compiler/support/time.h"

namespace trig::ingest {

namespace plain {

inline unsigned digit(std::string_view s, size_t k) {
  return static_cast<unsigned>(static_cast<unsigned char>(s[k])) - unsigned{'0'};
}

// `YYYY-MM-DDT` at the start of `s` (at least 11 bytes): the time of that day's midnight, when
// it is one (parseTimestamp's checks: month 1-12, a day of that month).
inline bool day(std::string_view s, TimeMs& out) {
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T') return false;
  const unsigned y0 = digit(s, 0), y1 = digit(s, 1), y2 = digit(s, 2), y3 = digit(s, 3),
                 mo0 = digit(s, 5), mo1 = digit(s, 6), d0 = digit(s, 8), d1 = digit(s, 9);
  if ((y0 > 9) | (y1 > 9) | (y2 > 9) | (y3 > 9) | (mo0 > 9) | (mo1 > 9) | (d0 > 9) | (d1 > 9))
    return false;
  const int year = static_cast<int>(y0 * 1000 + y1 * 100 + y2 * 10 + y3);
  const unsigned month = mo0 * 10 + mo1, dd = d0 * 10 + d1;
  if (month < 1 || month > 12 || dd < 1) return false;
  static constexpr unsigned char kDaysIn[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  if (dd > kDaysIn[month - 1] + (month == 2 && leap ? 1u : 0u)) return false;
  // Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + dd - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t{era} * 146097 + static_cast<int64_t>(doe) - 719468;
  out = days * 24 * 60 * kMinute;
  return true;
}

// `HH:MM` at bytes 11 to 15 of `s` (at least 16 bytes): the time into the day (hour 0-23, minute
// 0-59).
[[gnu::always_inline]] inline bool hourMinute(std::string_view s, TimeMs& out) {
  const unsigned h0 = digit(s, 11), h1 = digit(s, 12), mi0 = digit(s, 14), mi1 = digit(s, 15);
  if (s[13] != ':' || (h0 > 9) | (h1 > 9) | (mi0 > 9) | (mi1 > 9)) return false;
  const unsigned hour = h0 * 10 + h1, min = mi0 * 10 + mi1;
  if (hour > 23 || min > 59) return false;
  out = (hour * 60 + min) * kMinute;
  return true;
}

// `YYYY-MM-DDTHH:MM` at the start of `s` (at least 16 bytes): the time of that minute, when it
// is one.
inline bool minute(std::string_view s, TimeMs& out) {
  TimeMs d = 0, hm = 0;
  if (!day(s, d) || !hourMinute(s, hm)) return false;
  out = d + hm;
  return true;
}

// `:SS` then `Z` or `.` with 1 to 9 digits and `Z`, from byte 16 to the end of `s`: the
// milliseconds into the minute (seconds() below is the entry point). A leap second (60) counts as
// the next second, as in parseTimestamp; fraction digits past the third are dropped, as there.
inline bool secondsAnyFraction(std::string_view s, TimeMs& out) {
  const size_t n = s.size();
  if (n < 20 || n > 30 || n == 21 || s[16] != ':' || s[n - 1] != 'Z') return false;
  const unsigned s0 = digit(s, 17), s1 = digit(s, 18);
  if (s0 > 9 || s1 > 9 || s0 * 10 + s1 > 60) return false;
  int64_t millis = 0;
  if (n == 24) {
    // Milliseconds, the usual fraction.
    const unsigned f0 = digit(s, 20), f1 = digit(s, 21), f2 = digit(s, 22);
    if (s[19] != '.' || f0 > 9 || f1 > 9 || f2 > 9) return false;
    millis = f0 * 100 + f1 * 10 + f2;
  } else if (n > 20) {
    if (s[19] != '.') return false;
    int kept = 0;
    for (size_t k = 20; k + 1 < n; ++k) {
      const unsigned f = digit(s, k);
      if (f > 9) return false;
      if (kept < 3) {
        millis = millis * 10 + f;
        ++kept;
      }
    }
    for (; kept < 3; ++kept) millis *= 10;
  }
  out = (s0 * 10 + s1) * kSecond + millis;
  return true;
}

// The usual shape `:SS.fffZ` at bytes 16 to 23 of `s` (exactly 24 bytes), read with one load:
// the milliseconds into the minute. False when they are not that shape or not valid (seconds()
// then decides).
[[gnu::always_inline]] inline bool secondsMillis24(std::string_view s, TimeMs& out) {
  // Its separators compared at once, then its five digits (the separators' bytes replaced by
  // '0'): each byte in 0x30-0x3F, and still so with 6 added (no carry between bytes once the
  // first test holds).
  constexpr uint64_t kSepMask = 0xFF000000FF0000FFULL;  // bytes 0, 3 and 7
  constexpr uint64_t kSep = (uint64_t{'Z'} << 56) | (uint64_t{'.'} << 24) | uint64_t{':'};
  constexpr uint64_t kZeros = 0x3030303030303030ULL, kHigh = 0xF0F0F0F0F0F0F0F0ULL;
  uint64_t x;
  std::memcpy(&x, s.data() + 16, 8);
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  if ((x & kSepMask) != kSep) return false;
  const uint64_t d = (x & ~kSepMask) | (kZeros & kSepMask);
  if ((d & kHigh) != kZeros || ((d + 0x0606060606060606ULL) & kHigh) != kZeros) return false;
  const uint64_t v = d - kZeros;  // each byte its digit's value (0 at the separators)
  // Byte k of t is 10 * digit k + digit k+1 (at most 99: no carry).
  const uint64_t t = v * 10 + (v >> 8);
  const auto sec = static_cast<unsigned>((t >> 8) & 0xFF);
  if (sec > 60) return false;
  out = sec * kSecond + static_cast<int64_t>(((t >> 32) & 0xFF) * 10 + ((v >> 48) & 0xFF));
  return true;
}

// secondsAnyFraction() for the usual shape `:SS.fffZ` in a few instructions, the others out of
// line.
[[gnu::always_inline]] inline bool seconds(std::string_view s, TimeMs& out) {
  const size_t n = s.size();
  if (n == 24 && s[16] == ':' && s[19] == '.' && s[23] == 'Z') {
    // `:SS.fffZ`, the usual shape: its five digits checked together.
    const unsigned s0 = digit(s, 17), s1 = digit(s, 18), f0 = digit(s, 20), f1 = digit(s, 21),
                   f2 = digit(s, 22);
    if ((s0 > 9) | (s1 > 9) | (f0 > 9) | (f1 > 9) | (f2 > 9)) return false;
    const unsigned sec = s0 * 10 + s1;
    if (sec > 60) return false;
    out = sec * kSecond + f0 * 100 + f1 * 10 + f2;
    return true;
  }
  return secondsAnyFraction(s, out);
}

}  // namespace plain

// True with `out` set when `s` has the plain shape (1 to 9 fraction digits) and is a valid
// time; false when it has another shape or is not valid (the caller must then ask
// parseTimestamp: false does not mean invalid). Agrees with parseTimestamp wherever it is true.
inline bool parsePlainTimestamp(std::string_view s, TimeMs& out) {
  TimeMs m = 0, sec = 0;
  if (s.size() < 20 || !plain::minute(s, m) || !plain::seconds(s, sec)) return false;
  out = m + sec;
  return true;
}

// The time of an event's `timestamp` (or a `time` property): parseTimestamp's result, faster.
inline std::optional<TimeMs> parseEventTimestamp(std::string_view s) {
  TimeMs t = 0;
  if (parsePlainTimestamp(s, t)) return t;
  return parseTimestamp(s);
}

// parseEventTimestamp for a stream of events, which mostly share the minute or at least the day
// of the one before: the last valid plain `YYYY-MM-DDTHH:MM` is kept with its time, and so is its
// `YYYY-MM-DDT`; a stamp that starts with the same 16 bytes only has its seconds read (inline for
// the usual `:SS.fffZ`), one with the same 11 its clock (a stream of a few events a minute
// changes minute every ten or so events, day only every thousand or so). One per thread.
class TimestampParser {
 public:
  // The usual case inline: the minute of the last stamp, milliseconds in the usual shape.
  [[gnu::always_inline]] std::optional<TimeMs> parse(std::string_view s) {
    if (TimeMs t = 0; parseUsual(s, t)) return t;
    return parseAny(s);
  }
  // parse() when `s` is the usual case (then every byte of `s` is a digit or a separator of the
  // plain shape: `s` holds no quote, backslash or control character); false, with nothing
  // changed, for any other `s`, valid or not.
  [[gnu::always_inline]] bool parseUsual(std::string_view s, TimeMs& out) const {
    TimeMs ms = 0;
    if (s.size() != 24 || !sameMinute(s) || !plain::secondsMillis24(s, ms)) return false;
    out = minuteTime_ + ms;
    return true;
  }

 private:
  [[gnu::noinline]] std::optional<TimeMs> parseAny(std::string_view s) {
    if (s.size() >= 20) {
      TimeMs hm = 0, sec = 0;
      // The same `YYYY-MM-DDTHH:MM` as the last valid one (most stamps of a stream of a few
      // events a minute): its time is known, only the seconds are read.
      if (sameMinute(s)) {
        if (plain::seconds(s, sec)) return minuteTime_ + sec;
      } else if (dayValid_ && std::memcmp(s.data(), dayText_, 11) == 0) {
        if (plain::hourMinute(s, hm) && plain::seconds(s, sec)) return newMinute(s, hm) + sec;
      } else if (TimeMs d = 0; plain::day(s, d)) {
        std::memcpy(dayText_, s.data(), 11);
        dayTime_ = d;
        dayValid_ = true;
        if (plain::hourMinute(s, hm) && plain::seconds(s, sec)) return newMinute(s, hm) + sec;
      }
    }
    return parseTimestamp(s);
  }

  // (`s` has at least 16 bytes.)
  [[gnu::always_inline]] bool sameMinute(std::string_view s) const {
    uint64_t a0, a1;
    std::memcpy(&a0, s.data(), 8);
    std::memcpy(&a1, s.data() + 8, 8);
    return ((a0 ^ minuteText_[0]) | (a1 ^ minuteText_[1])) == 0 && minuteValid_;
  }
  // Keeps the minute of `s` (its day the kept day, `hm` its time into the day): its time.
  TimeMs newMinute(std::string_view s, TimeMs hm) {
    std::memcpy(minuteText_, s.data(), 16);
    minuteTime_ = dayTime_ + hm;
    minuteValid_ = true;
    return minuteTime_;
  }

  char dayText_[11] = {};
  TimeMs dayTime_ = 0;
  bool dayValid_ = false;
  bool minuteValid_ = false;
  uint64_t minuteText_[2] = {};  // the 16 bytes of the kept minute
  TimeMs minuteTime_ = 0;
};

}  // namespace trig::ingest
