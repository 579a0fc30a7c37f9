#include "runtime/report/stats.h"

#include <doctest/doctest.h>

using namespace trig::report;

// Expected values computed independently in Python (math, statistics.NormalDist):
//   Wilson: c = (p + z²/2n) / (1 + z²/n), h = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)
//   z-test: pooled p, se = sqrt(p(1-p)(1/n1 + 1/n2)), p = 2·(1 - NormalDist().cdf(|z|))
//   sample size: (z_{α/2}·sqrt(2 p̄ q̄) + z_β·sqrt(p1 q1 + p2 q2))² / d²

TEST_CASE("report stats: the constants are the normal quantiles") {
  // NormalDist().inv_cdf(0.975) = 1.9599639845400536, inv_cdf(0.8) = 0.8416212335729144
  CHECK(kZ95 == doctest::Approx(1.9599639845400536).epsilon(1e-15));
  CHECK(kZPower80 == doctest::Approx(0.8416212335729144).epsilon(1e-15));
}

TEST_CASE("report stats: Wilson interval, textbook values") {
  // 8/10 -> [0.4901624715, 0.9433178485]
  Interval i = wilson(8, 10);
  CHECK(i.low == doctest::Approx(0.4901624715).epsilon(1e-9));
  CHECK(i.high == doctest::Approx(0.9433178485).epsilon(1e-9));
  // 121/1000 -> [0.1022237823, 0.1426769006]
  i = wilson(121, 1000);
  CHECK(i.low == doctest::Approx(0.1022237823).epsilon(1e-9));
  CHECK(i.high == doctest::Approx(0.1426769006).epsilon(1e-9));
}

TEST_CASE("report stats: Wilson interval, edge cases") {
  Interval none = wilson(0, 0);
  CHECK(none.low == 0);
  CHECK(none.high == 1);
  // 0/10 -> [0, 0.2775327999]
  Interval zero = wilson(0, 10);
  CHECK(zero.low == 0);
  CHECK(zero.high == doctest::Approx(0.2775327999).epsilon(1e-9));
  // 10/10 -> [0.7224672001, 1]
  Interval all = wilson(10, 10);
  CHECK(all.low == doctest::Approx(0.7224672001).epsilon(1e-9));
  CHECK(all.high == 1);
}

TEST_CASE("report stats: two-proportion z-test, textbook values") {
  // 30/100 vs 45/100: z = 2.1908902300, p = 0.0284597369
  ZTest t = twoProportionZTest(30, 100, 45, 100);
  CHECK(t.valid);
  CHECK(t.z == doctest::Approx(2.1908902300).epsilon(1e-9));
  CHECK(t.p == doctest::Approx(0.0284597369).epsilon(1e-8));
  // The other way round: z changes sign, p does not.
  ZTest r = twoProportionZTest(45, 100, 30, 100);
  CHECK(r.z == doctest::Approx(-2.1908902300).epsilon(1e-9));
  CHECK(r.p == doctest::Approx(t.p).epsilon(1e-12));
  // 84/1000 vs 121/1000: z = 2.7277688456, p = 0.0063764274
  t = twoProportionZTest(84, 1000, 121, 1000);
  CHECK(t.z == doctest::Approx(2.7277688456).epsilon(1e-9));
  CHECK(t.p == doctest::Approx(0.0063764274).epsilon(1e-8));
  // 50/500 vs 52/500: z = 0.2089737526, p = 0.8344687287 (nothing to see)
  t = twoProportionZTest(50, 500, 52, 500);
  CHECK(t.z == doctest::Approx(0.2089737526).epsilon(1e-9));
  CHECK(t.p == doctest::Approx(0.8344687287).epsilon(1e-9));
}

TEST_CASE("report stats: two-proportion z-test, edge cases") {
  ZTest t = twoProportionZTest(0, 0, 5, 10);  // an empty group
  CHECK_FALSE(t.valid);
  CHECK(t.p == 1);
  t = twoProportionZTest(0, 10, 0, 20);  // pooled rate 0: no variance
  CHECK_FALSE(t.valid);
  CHECK(t.z == 0);
  CHECK(t.p == 1);
  t = twoProportionZTest(10, 10, 20, 20);  // pooled rate 1
  CHECK_FALSE(t.valid);
  CHECK(t.p == 1);
  t = twoProportionZTest(7, 10, 7, 10);  // equal rates: z 0, p 1
  CHECK(t.valid);
  CHECK(t.z == 0);
  CHECK(t.p == doctest::Approx(1.0));
}

TEST_CASE("report stats: sample size per group") {
  // 0.5 vs 0.6: 387.3385 -> 388 (the usual table value); 0.3 vs 0.45: 162.3344 -> 163
  CHECK(sampleSizePerGroup(0.5, 0.1) == 388);
  CHECK(sampleSizePerGroup(0.3, 0.15) == 163);
  // 0.1 vs 0.12: 3840.8475 -> 3841
  CHECK(sampleSizePerGroup(0.1, 0.02) == 3841);
  // 0.99 + 0.02 exceeds 1: compared with 0.97 instead, 768.0102 -> 769
  CHECK(sampleSizePerGroup(0.99, 0.02) == 769);
  CHECK(sampleSizePerGroup(0.1, 0) == 0);
  CHECK(sampleSizePerGroup(0.1, -0.1) == 0);
}
