#include "compiler/support/decimal.h"

#include <cstdlib>
#include <limits>

namespace trig {

std::optional<Decimal> Decimal::parse(std::string_view text) {
  size_t i = 0;
  bool neg = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    neg = text[i] == '-';
    ++i;
  }
  if (i >= text.size()) return std::nullopt;
  Int128 whole = 0;
  bool digits = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    whole = whole * 10 + (text[i] - '0');
    digits = true;
    if (whole > std::numeric_limits<int64_t>::max()) return std::nullopt;
  }
  Int128 frac = 0;
  int fracDigits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    bool any = false;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      any = true;
      if (fracDigits < kScaleDigits) {
        frac = frac * 10 + (text[i] - '0');
        ++fracDigits;
      } else if (text[i] != '0') {
        return std::nullopt;  // not exactly representable
      }
    }
    if (!any) return std::nullopt;
  }
  if (!digits || i != text.size()) return std::nullopt;
  for (int k = fracDigits; k < kScaleDigits; ++k) frac *= 10;
  Int128 total = whole * kScale + frac;
  if (total > std::numeric_limits<int64_t>::max()) return std::nullopt;
  return Decimal{static_cast<int64_t>(neg ? -total : total)};
}

std::string Decimal::toMoneyString() const {
  Int128 u = units;
  bool neg = u < 0;
  if (neg) u = -u;
  Int128 cents = (u + kScale / 200) / (kScale / 100);
  auto whole = static_cast<long long>(cents / 100);
  auto rest = static_cast<int>(cents % 100);
  std::string s = (neg && cents != 0 ? "-" : "") + std::to_string(whole) + ".";
  s += static_cast<char>('0' + rest / 10);
  s += static_cast<char>('0' + rest % 10);
  return s;
}

std::string Decimal::toString() const {
  Int128 u = units;
  bool neg = u < 0;
  if (neg) u = -u;
  std::string s = (neg ? "-" : "") + std::to_string(static_cast<long long>(u / kScale));
  auto frac = static_cast<long long>(u % kScale);
  if (frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, kScaleDigits - f.size(), '0');
    while (!f.empty() && f.back() == '0') f.pop_back();
    s += "." + f;
  }
  return s;
}

}  // namespace trig
