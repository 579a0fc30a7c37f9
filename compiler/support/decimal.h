#pragma once
// Exact decimal numbers for `money`: a signed 64-bit count of millionths. 49.99 is exactly
// 49990000 units, so money compares and adds without binary floating point error.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trig {

// 128-bit intermediate for exact overflow checks (a GCC/Clang extension; -Wpedantic wants it
// marked as one).
__extension__ typedef __int128 Int128;

struct Decimal {
  static constexpr int kScaleDigits = 6;
  static constexpr int64_t kScale = 1'000'000;
  int64_t units = 0;  // value * kScale

  // A whole number as money: nullopt past the range (about ±9.2 trillion), never a wrapped value.
  static std::optional<Decimal> fromInt(int64_t v) {
    int64_t units = 0;
    if (__builtin_mul_overflow(v, kScale, &units)) return std::nullopt;
    return Decimal{units};
  }
  // A small whole number (always in range): constants, buckets, tests.
  static constexpr Decimal whole(int32_t v) { return Decimal{int64_t{v} * kScale}; }
  // The largest money value, as text: for messages.
  static constexpr const char* kMaxText = "9223372036854.775807";
  // Parses "-12", "49.99", "0.000001" exactly; nullopt for anything else (exponents, more than
  // six decimals that are not zero, overflow).
  static std::optional<Decimal> parse(std::string_view text);
  double toDouble() const { return static_cast<double>(units) / kScale; }
  // Money renders with two decimals (half away from zero), as templates show it.
  std::string toMoneyString() const;
  // The shortest exact text ("49.99", "3", "-0.5").
  std::string toString() const;

  friend auto operator<=>(const Decimal&, const Decimal&) = default;
};

}  // namespace trig
