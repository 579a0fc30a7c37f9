#pragma once
// Due times: t + d, saturating. A due time past the end of representable time never wraps into
// the past (an `idle`, `after`, window or wait of an absurd length simply never comes).
#include <algorithm>
#include <cstdint>

#include "compiler/support/time.h"

namespace trig::timers {

inline TimeMs later(TimeMs t, DurationMs d) {
  TimeMs out;
  if (__builtin_add_overflow(t, d, &out)) return d > 0 ? INT64_MAX - 1 : INT64_MIN;
  return std::min<TimeMs>(out, INT64_MAX - 1);
}

}  // namespace trig::timers
