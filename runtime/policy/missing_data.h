#pragma once
// Policy 2, missing data (docs/language.md, "The delivery policy"): a template variable with no
// value and no default suppresses the send (`missing_data`); it never renders an empty hole. The
// send is rendered when it becomes due (a deferred send comes back with its rendering; one that
// waited for an address is rendered when it comes back).
#include "runtime/policy/policy.h"

namespace trig::policy {

class MissingData final : public Policy {
 public:
  Verdict check(const Send& s, Context& c) override;
  bool answersAt(Moment m) const override { return m == Moment::Due; }
  bool hearsSends() const override { return false; }
};

}  // namespace trig::policy
