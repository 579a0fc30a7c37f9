#pragma once
// Policy 6, the frequency cap (docs/language.md, "The delivery policy"): with `cap N per D` a send
// goes out only if fewer than N sends of the customer went out in (t - D, t]; suppressed sends
// never count. Rolling windows, not calendar days.
#include "runtime/policy/policy.h"
#include "runtime/policy/rolling.h"

namespace trig::policy {

class FrequencyCap final : public Policy {
 public:
  FrequencyCap(int64_t count, DurationMs per) : count_(count), per_(per) {}
  Verdict check(const Send& s, Context& c) override;
  void sent(const Send& s, Context& c) override;

 private:
  struct Sends : CustomerMemory {
    RollingWindow window;
  };
  int64_t count_;
  DurationMs per_;
};

}  // namespace trig::policy
