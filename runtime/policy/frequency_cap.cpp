#include "runtime/policy/frequency_cap.h"

#include <fmt/format.h>

namespace trig::policy {

Verdict FrequencyCap::check(const Send& s, Context& c) {
  if (s.moment != Moment::Decision) return Verdict::pass();
  const auto* sends = memory<Sends>(c);
  if (sends == nullptr || sends->window.allows(s.now, count_, per_)) return Verdict::pass();
  return Verdict::suppress(Reason::FrequencyCap,
                           fmt::format("the customer already got {} message(s) within {}",
                                       sends->window.count(s.now, per_), formatDuration(per_)));
}

void FrequencyCap::sent(const Send& s, Context& c) {
  memoryFor<Sends>(c).window.record(s.now, per_, count_);
}

}  // namespace trig::policy
