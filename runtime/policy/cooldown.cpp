#include "runtime/policy/cooldown.h"

#include <fmt/format.h>

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

std::optional<TimeMs> LatestSends::blocking(uint32_t templ, TimeMs t, DurationMs d) const {
  for (const auto& [tm, sent] : last_)
    if (tm == templ && inside(sent, t, d)) return sent;
  return std::nullopt;
}

void LatestSends::record(uint32_t templ, TimeMs t, DurationMs d) {
  std::erase_if(last_, [&](const std::pair<uint32_t, TimeMs>& p) {
    return p.first == templ || !inside(p.second, t, d);
  });
  last_.emplace_back(templ, t);
}

Verdict Cooldown::check(const Send& s, Context& c) {
  if (s.moment != Moment::Decision) return Verdict::pass();
  const auto* sends = memory<LatestSends>(c);
  if (sends == nullptr) return Verdict::pass();
  std::optional<TimeMs> last = sends->blocking(s.templ, s.now, d_);
  if (!last) return Verdict::pass();
  return Verdict::suppress(
      Reason::Cooldown, fmt::format("{} was sent to the customer at {}, within the cooldown of {}",
                                    s.templateName, formatTimestamp(*last), formatDuration(d_)));
}

void Cooldown::sent(const Send& s, Context& c) {
  memoryFor<LatestSends>(c).record(s.templ, s.now, d_);
}

}  // namespace trig::policy
