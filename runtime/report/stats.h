#pragma once
// The statistics of `trig report` (docs/report.md, "Statistics"): the Wilson score interval of a
// proportion, the pooled two-proportion z-test, and the sample size per group a two-sided test
// needs to detect a given absolute difference. Plain functions of counts, no state.
#include <cstdint>

namespace trig::report {

inline constexpr double kZ95 = 1.959963984540054;        // z_{0.975}: 95% two-sided
inline constexpr double kZPower80 = 0.8416212335729143;  // z_{0.8}: power 0.8
inline constexpr double kAlpha = 0.05;

struct Interval {
  double low = 0;
  double high = 1;
};

// The 95% Wilson score interval of `successes` out of `n`. 0/0 is [0, 1] (nothing is known);
// 0/n starts at exactly 0 and n/n ends at exactly 1.
Interval wilson(uint64_t successes, uint64_t n, double z = kZ95);

struct ZTest {
  double z = 0;        // (p2 - p1) / se: positive when group 2 has the higher rate
  double p = 1;        // two-sided p-value
  bool valid = false;  // false when a group is empty or the pooled rate is 0 or 1 (z 0, p 1)
};

// The pooled two-proportion z-test of x1/n1 against x2/n2, two-sided.
ZTest twoProportionZTest(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2);

// The customers per group a two-sided test at alpha 0.05 with power 0.8 needs to detect an
// absolute difference `d` (0.02 for two points) from a baseline rate `p`: the second rate is
// p + d, or p - d when p + d would exceed 1. Rounded up; 0 when d is not in (0, 1].
uint64_t sampleSizePerGroup(double p, double d);

}  // namespace trig::report
