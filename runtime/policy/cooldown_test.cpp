#include "runtime/policy/cooldown.h"

#include <doctest/doctest.h>

#include "runtime/policy/policy_test_support.h"

using namespace trig;
using namespace trig::policy;
using namespace trig::policy::testing;

TEST_CASE("LatestSends: a send of the same template within (t - D, t] blocks") {
  LatestSends c;
  const DurationMs D = kDay;
  CHECK(c.allows(1, 0, D));
  c.record(1, 0, D);
  CHECK_FALSE(c.allows(1, 0, D));  // the same instant is inside
  CHECK_FALSE(c.allows(1, D - 1, D));
  CHECK(c.blocking(1, kHour, D) == 0);
  CHECK(c.allows(1, D, D));      // exactly D later: t - D is outside
  CHECK(c.allows(2, kHour, D));  // another template is not blocked
  c.record(2, kHour, D);
  c.record(1, 2 * D, D);  // template 2's send can no longer block: forgotten
  CHECK(c.size() == 1);
  CHECK_FALSE(c.allows(1, 2 * D + kHour, D));
}

TEST_CASE("Cooldown: the policy suppresses a repeat of a template within D, on the winner only") {
  Chain chain;
  chain.add(std::make_unique<Cooldown>(kDay));
  FakeCustomer c;
  CHECK(ask(chain, Moment::Decision, 0, c).passes());
  CHECK(c.memories.empty());  // a customer who got nothing keeps nothing
  chain.sent(send(Moment::Decision, 0), c);
  CHECK(ask(chain, Moment::Due, kHour, c).passes());  // asked only before it goes out
  Verdict v = ask(chain, Moment::Decision, kHour, c);
  CHECK(v.kind == Verdict::Kind::Suppress);
  CHECK(v.reason == Reason::Cooldown);
  CHECK(v.detail ==
        "t0 was sent to the customer at 1970-01-01T00:00:00Z, within the cooldown of 1d");
  CHECK(ask(chain, Moment::Decision, kHour, c, 1).passes());  // another template
  CHECK(ask(chain, Moment::Decision, kDay, c).passes());      // D later
}
