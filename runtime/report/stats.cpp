#include "runtime/report/stats.h"

#include <algorithm>
#include <cmath>

namespace trig::report {

Interval wilson(uint64_t successes, uint64_t n, double z) {
  if (n == 0) return {0, 1};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double denom = 1 + z2 / nn;
  const double center = (p + z2 / (2 * nn)) / denom;
  const double half = z / denom * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  Interval out{std::max(0.0, center - half), std::min(1.0, center + half)};
  if (successes == 0) out.low = 0;
  if (successes >= n) out.high = 1;
  return out;
}

ZTest twoProportionZTest(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2) {
  ZTest out;
  if (n1 == 0 || n2 == 0) return out;
  const double a = static_cast<double>(n1), b = static_cast<double>(n2);
  const double p1 = static_cast<double>(x1) / a, p2 = static_cast<double>(x2) / b;
  const double pooled = static_cast<double>(x1 + x2) / (a + b);
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / a + 1 / b));
  if (!(se > 0)) return out;
  out.z = (p2 - p1) / se;
  out.p = std::erfc(std::fabs(out.z) / std::sqrt(2.0));
  out.valid = true;
  return out;
}

uint64_t sampleSizePerGroup(double p, double d) {
  if (!(d > 0) || d > 1) return 0;
  p = std::clamp(p, 0.0, 1.0);
  double p1 = p, p2 = p + d;
  if (p2 > 1) p2 = p - d;
  if (p2 < 0) return 0;
  const double bar = (p1 + p2) / 2;
  const double a = kZ95 * std::sqrt(2 * bar * (1 - bar));
  const double b = kZPower80 * std::sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  const double n = (a + b) * (a + b) / (d * d);
  return static_cast<uint64_t>(std::ceil(n - 1e-9));
}

}  // namespace trig::report
