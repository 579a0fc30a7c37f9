#pragma once
// Policy 5, `cooldown D` (docs/language.md, "The delivery policy"): a send of template T to a
// customer at t is suppressed (`cooldown`) when a send of T to that customer went out in (t - D,
// t]. Checked on the arbitration winner, before the frequency cap; only sends that went out count.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/policy/policy.h"

namespace trig::policy {

// One customer's latest send of each template.
class LatestSends : public CustomerMemory {
 public:
  // The latest send of `templ` that keeps a send at t from going out under `cooldown d`, if any.
  std::optional<TimeMs> blocking(uint32_t templ, TimeMs t, DurationMs d) const;
  bool allows(uint32_t templ, TimeMs t, DurationMs d) const { return !blocking(templ, t, d); }
  // A send of `templ` went out at t; templates whose latest send can no longer block anything
  // (at or before t - d) are forgotten.
  void record(uint32_t templ, TimeMs t, DurationMs d);
  size_t size() const { return last_.size(); }

 private:
  std::vector<std::pair<uint32_t, TimeMs>> last_;  // (template, latest send)
};

class Cooldown final : public Policy {
 public:
  explicit Cooldown(DurationMs d) : d_(d) {}
  Verdict check(const Send& s, Context& c) override;
  void sent(const Send& s, Context& c) override;

 private:
  DurationMs d_;
};

}  // namespace trig::policy
