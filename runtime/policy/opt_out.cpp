#include "runtime/policy/opt_out.h"

#include <fmt/format.h>

#include "runtime/timers/later.h"

namespace trig::policy {

Verdict OptOut::check(const Send& s, Context& c) {
  if (s.moment == Moment::Firing) return Verdict::pass();
  const Context::Reach reach = c.reach();
  if (reach.unsubscribed)
    return Verdict::suppress(Reason::OptedOut, "the customer is not subscribed");
  if (!reach.hasEmail) {
    if (s.moment == Moment::Due && awaitEmail_ > 0)
      return Verdict::await(timers::later(s.now, awaitEmail_), "the customer has no email address");
    return Verdict::suppress(Reason::NoEmail, "the customer has no email address");
  }
  if (reach.bounced)
    return Verdict::suppress(Reason::Bounced, "the customer's email address hard bounced");
  return Verdict::pass();
}

Verdict OptOut::expired(const Send&, Context&) const {
  return Verdict::suppress(Reason::NoEmail,
                           fmt::format("the customer had no email address within {} (await_email)",
                                       formatDuration(awaitEmail_)));
}

}  // namespace trig::policy
