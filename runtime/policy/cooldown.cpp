#include "runtime/policy/cooldown.h"

#include <algorithm>

namespace trig::policy {

namespace {
// Whether a send at `sent` is in (t - d, t].
bool inside(TimeMs sent, TimeMs t, DurationMs d) {
  TimeMs start;
  if (__builtin_sub_overflow(t, d, &start)) return sent <= t;  // the window has no start
  return sent > start && sent <= t;
}
}  // namespace

std::optional<TimeMs> Cooldown::blocking(uint32_t templ, TimeMs t, DurationMs d) const {
  for (const auto& [tm, sent] : last_)
    if (tm == templ && inside(sent, t, d)) return sent;
  return std::nullopt;
}

void Cooldown::record(uint32_t templ, TimeMs t, DurationMs d) {
  std::erase_if(last_, [&](const std::pair<uint32_t, TimeMs>& p) {
    return p.first == templ || !inside(p.second, t, d);
  });
  last_.emplace_back(templ, t);
}

}  // namespace trig::policy
