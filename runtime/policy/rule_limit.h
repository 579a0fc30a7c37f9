#pragma once
// Policy 3, the rule limit (docs/language.md, "The delivery policy"): `limit N per D` is checked
// when the rule fires, before its flow starts; a firing stopped by it is no firing and restarts
// nothing. What counts is the flow's first sends that went out to the customer in (t - D, t].
#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/policy/policy.h"
#include "runtime/policy/rolling.h"

namespace trig::policy {

class RuleLimit final : public Policy {
 public:
  struct Limit {
    int64_t count = 0;
    DurationMs per = 0;
    const Loc* loc = nullptr;  // the `limit` clause
  };
  // By rule index: the rule's limit, if it has one.
  explicit RuleLimit(std::vector<std::optional<Limit>> limits) : limits_(std::move(limits)) {}
  Verdict check(const Send& s, Context& c) override;
  // At a firing, and only when some rule has a limit.
  bool answersAt(Moment m) const override {
    return m == Moment::Firing &&
           std::any_of(limits_.begin(), limits_.end(), [](const auto& l) { return l.has_value(); });
  }
  void sent(const Send& s, Context& c) override;
  // Only when some rule has a limit.
  bool hearsSends() const override { return answersAt(Moment::Firing); }

 private:
  // A customer's first sends, by rule.
  struct FirstSends : CustomerMemory {
    std::vector<std::pair<uint32_t, RollingWindow>> windows;
    RollingWindow& of(uint32_t rule);
  };
  const Limit* limitOf(uint32_t rule) const {
    return rule < limits_.size() && limits_[rule] ? &*limits_[rule] : nullptr;
  }

  std::vector<std::optional<Limit>> limits_;
};

}  // namespace trig::policy
