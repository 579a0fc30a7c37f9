#include "runtime/policy/rolling.h"

#include <doctest/doctest.h>

using namespace trig;
using namespace trig::policy;

TEST_CASE("RollingWindow: (t - D, t], rolling") {
  RollingWindow w;
  const DurationMs D = kDay;
  CHECK(w.count(0, D) == 0);
  w.record(0, D, 10);
  w.record(kHour, D, 10);
  CHECK(w.count(kHour, D) == 2);
  // At exactly t0 + D the first send is out: (t - D, t] excludes t - D.
  CHECK(w.count(D, D) == 1);
  CHECK(w.count(D - 1, D) == 2);
  CHECK(w.count(D + kHour, D) == 0);
  // A stamp after t does not count at t.
  CHECK(w.count(kHour - 1, D) == 1);
  CHECK(w.allows(D, 2, D));
  CHECK_FALSE(w.allows(kHour, 2, D));
}

TEST_CASE("RollingWindow: memory is bounded by the window and by the limit") {
  RollingWindow w;
  for (int k = 0; k < 1000; ++k) w.record(k * kMinute, kHour, 1000000);
  CHECK(w.size() == 60);  // only stamps inside the last hour
  CHECK(w.count(999 * kMinute, kHour) == 60);
  RollingWindow capped;
  for (int k = 0; k < 100; ++k) capped.record(k, kDay, 3);
  CHECK(capped.size() == 3);
  CHECK_FALSE(capped.allows(100, 3, kDay));
  CHECK(capped.expired(kDay + 99, kDay));
  CHECK_FALSE(capped.expired(kDay + 98, kDay));
}

TEST_CASE("RollingCounter: cap N per D by key") {
  RollingCounter cap(2, kDay);
  CHECK(cap.allows("c1", 0));
  cap.record("c1", 0);
  cap.record("c1", 10 * kHour);
  CHECK_FALSE(cap.allows("c1", 12 * kHour));
  CHECK(cap.allows("c2", 12 * kHour));
  CHECK(cap.count("c1", 12 * kHour) == 2);
  CHECK(cap.allows("c1", kDay));  // the first send left the window
  cap.record("c1", kDay);
  CHECK_FALSE(cap.allows("c1", kDay + kHour));
  CHECK(cap.keys() == 1);
  cap.prune(kDay + 10 * kHour);
  CHECK(cap.keys() == 1);
  cap.prune(2 * kDay);
  CHECK(cap.keys() == 0);
  CHECK(cap.allows("c1", 2 * kDay));
}

TEST_CASE("RollingCounter: expired keys are forgotten as records go by") {
  RollingCounter limit(1, kHour);
  for (int k = 0; k < 5000; ++k) limit.record("c" + std::to_string(k), k * kMinute);
  // Only the customers with a send in the last hour can remain (plus those not yet swept).
  CHECK(limit.keys() < 1100);
  limit.prune(5000 * kMinute);
  CHECK(limit.keys() == 59);
}
