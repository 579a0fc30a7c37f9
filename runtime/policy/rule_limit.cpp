#include "runtime/policy/rule_limit.h"

#include <fmt/format.h>

namespace trig::policy {

RollingWindow& RuleLimit::FirstSends::of(uint32_t rule) {
  for (auto& [r, w] : windows)
    if (r == rule) return w;
  return windows.emplace_back(rule, RollingWindow{}).second;
}

Verdict RuleLimit::check(const Send& s, Context& c) {
  const Limit* limit = limitOf(s.rule);
  if (s.moment != Moment::Firing || limit == nullptr) return Verdict::pass();
  const RollingWindow& w = memoryFor<FirstSends>(c).of(s.rule);
  if (w.allows(s.now, limit->count, limit->per)) return Verdict::pass();
  return Verdict::suppress(
      Reason::RuleLimit,
      fmt::format("the rule already sent {} first message(s) to this customer within {}",
                  w.count(s.now, limit->per), formatDuration(limit->per)),
      limit->loc);
}

void RuleLimit::sent(const Send& s, Context& c) {
  const Limit* limit = limitOf(s.rule);
  if (s.first && limit != nullptr)
    memoryFor<FirstSends>(c).of(s.rule).record(s.now, limit->per, limit->count);
}

}  // namespace trig::policy
