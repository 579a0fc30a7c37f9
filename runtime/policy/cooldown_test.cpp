#include "runtime/policy/cooldown.h"

#include <doctest/doctest.h>

using namespace trig;
using namespace trig::policy;

TEST_CASE("Cooldown: a send of the same template within (t - D, t] blocks") {
  Cooldown c;
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
