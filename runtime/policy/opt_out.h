#pragma once
// Policy 1, opt-out (docs/language.md, "The delivery policy"): never to a customer who
// unsubscribed, has no email, or whose address hard bounced; unsubscribed comes first, whatever
// else holds. It is asked when a send becomes due and again when it is about to go out (the
// customer may have unsubscribed while the send waited for its window). No rule can override it.
//
// `await_email D`: a send that becomes due for a subscribed customer without an address waits
// up to D; an identify that supplies one makes it due again at that moment, and at due + D it is
// suppressed (`no_email`).
#include "runtime/policy/policy.h"

namespace trig::policy {

class OptOut final : public Policy {
 public:
  explicit OptOut(DurationMs awaitEmail) : awaitEmail_(awaitEmail) {}
  Verdict check(const Send& s, Context& c) override;
  bool answersAt(Moment m) const override { return m != Moment::Firing; }
  bool hearsSends() const override { return false; }
  bool ready(Context& c) const override { return c.hasEmail(); }
  Verdict expired(const Send& s, Context& c) const override;

 private:
  DurationMs awaitEmail_;
};

}  // namespace trig::policy
