#include "runtime/engine/policies.h"

#include <fmt/format.h>

#include "runtime/policy/cooldown.h"
#include "runtime/policy/frequency_cap.h"
#include "runtime/policy/missing_data.h"
#include "runtime/policy/opt_out.h"
#include "runtime/policy/priority.h"
#include "runtime/policy/quiet_hours.h"
#include "runtime/policy/rule_limit.h"

namespace trig::engine {

namespace {

// `limit N per D` of each rule, by rule index.
std::vector<std::optional<policy::RuleLimit::Limit>> ruleLimits(const plan::Plan& plan) {
  std::vector<std::optional<policy::RuleLimit::Limit>> limits(plan.rules.size());
  for (size_t ri = 0; ri < plan.rules.size(); ++ri)
    if (const auto& limit = plan.rules[ri].limit)
      limits[ri] = policy::RuleLimit::Limit{limit->count, limit->per, &limit->loc};
  return limits;
}

}  // namespace

policy::Chain deliveryPolicy(const plan::Plan& plan, std::function<void(const std::string&)> warn) {
  const plan::Settings& s = plan.settings;
  policy::Chain chain;
  // In the order of the language: each policy is asked only if those before it passed.
  chain.add(std::make_unique<policy::OptOut>(s.awaitEmail));
  chain.add(std::make_unique<policy::MissingData>());
  chain.add(std::make_unique<policy::RuleLimit>(ruleLimits(plan)));
  chain.add(std::make_unique<policy::Arbitration>(s.arbitration));
  if (s.cooldown) chain.add(std::make_unique<policy::Cooldown>(*s.cooldown));
  if (s.cap) chain.add(std::make_unique<policy::FrequencyCap>(s.cap->count, s.cap->per));
  if (plan.quietHours)
    chain.add(std::make_unique<policy::QuietHours>(
        *plan.quietHours, [warn = std::move(warn)](std::string_view zone) {
          if (warn) warn(fmt::format("unknown time zone '{}': quiet hours use UTC for it", zone));
        }));
  return chain;
}

}  // namespace trig::engine
