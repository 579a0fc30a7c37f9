// Money's whole numbers: in range exactly, out of range refused, never wrapped.
#include "compiler/support/decimal.h"

#include <doctest/doctest.h>

#include <cstdint>

namespace trig {

TEST_CASE("Decimal::fromInt: whole numbers up to about 9.2 trillion, nullopt past them") {
  CHECK(Decimal::fromInt(0)->units == 0);
  CHECK(Decimal::fromInt(-5)->units == -5'000'000);
  CHECK(Decimal::fromInt(9'223'372'036'854)->toString() == "9223372036854");
  // 9223372036854775 as money used to wrap and render as -0.81.
  CHECK_FALSE(Decimal::fromInt(9'223'372'036'855));
  CHECK_FALSE(Decimal::fromInt(9'223'372'036'854'775));
  CHECK_FALSE(Decimal::fromInt(INT64_MIN));
  CHECK(Decimal::whole(100).units == 100'000'000);
  CHECK(Decimal::parse(Decimal::kMaxText)->units == INT64_MAX);
}

}  // namespace trig
