#include "compiler/core/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace trig::core {
namespace {

using Kind = Value::Kind;
__extension__ typedef __int128 i128;  // __extension__: no -Wpedantic noise

bool isNumeric(Kind k) {
  return k == Kind::Int || k == Kind::Float || k == Kind::Money;
}

// Exact numeric value in millionths (int and money); floats are handled apart.
i128 scaled(const Value& v) {
  return v.kind == Kind::Money ? static_cast<i128>(v.m.units)
                               : static_cast<i128>(v.i) * Decimal::kScale;
}

double asDouble(const Value& v) {
  switch (v.kind) {
    case Kind::Int: return static_cast<double>(v.i);
    case Kind::Money: return v.m.toDouble();
    case Kind::Float: return v.f;
    default: return 0;
  }
}

template <typename T>
int sign3(T a, T b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

bool fitsInt64(i128 v) {
  return v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max();
}

// n / d rounded half away from zero (d != 0).
i128 divRound(i128 n, i128 d) {
  i128 q = n / d;
  i128 r = n % d;
  i128 ar = r < 0 ? -r : r;
  i128 ad = d < 0 ? -d : d;
  if (2 * ar >= ad) q += ((n < 0) != (d < 0)) ? -1 : 1;
  return q;
}

Value moneyOrAbsent(i128 units) {
  if (!fitsInt64(units)) return Value::absent();
  return Value::money(Decimal{static_cast<int64_t>(units)});
}

Value intOrAbsent(i128 v) {
  if (!fitsInt64(v)) return Value::absent();
  return Value::integer(static_cast<int64_t>(v));
}

Value floatOrAbsent(double v) {
  if (!std::isfinite(v)) return Value::absent();
  return Value::flt(v);
}

Value numericArithmetic(Op op, const Value& a, const Value& b, TypeKind hint) {
  if (a.kind == Kind::Float || b.kind == Kind::Float) {
    double x = asDouble(a), y = asDouble(b);
    switch (op) {
      case Op::Add: return floatOrAbsent(x + y);
      case Op::Sub: return floatOrAbsent(x - y);
      case Op::Mul: return floatOrAbsent(x * y);
      case Op::Div: return y == 0 ? Value::absent() : floatOrAbsent(x / y);
      default: return Value::absent();
    }
  }
  if (a.kind == Kind::Int && b.kind == Kind::Int) {
    i128 x = a.i, y = b.i;
    switch (op) {
      case Op::Add: return intOrAbsent(x + y);
      case Op::Sub: return intOrAbsent(x - y);
      case Op::Mul: return intOrAbsent(x * y);
      case Op::Div:
        if (y == 0) return Value::absent();
        if (hint == TypeKind::Float)
          return floatOrAbsent(static_cast<double>(a.i) / static_cast<double>(b.i));
        if (hint == TypeKind::Money) return moneyOrAbsent(divRound(x * Decimal::kScale, y));
        return intOrAbsent(x / y);  // truncates toward zero, like the integers of most languages
      default: return Value::absent();
    }
  }
  // At least one side is money, the other money or int: exact in millionths.
  i128 x = scaled(a), y = scaled(b);
  switch (op) {
    case Op::Add: return moneyOrAbsent(x + y);
    case Op::Sub: return moneyOrAbsent(x - y);
    case Op::Mul: {
      // An int factor multiplies exactly; money * money is rounded back to millionths.
      if (a.kind == Kind::Int) return moneyOrAbsent(static_cast<i128>(a.i) * y);
      if (b.kind == Kind::Int) return moneyOrAbsent(x * static_cast<i128>(b.i));
      // Guard against the 128-bit product overflowing before the rescale.
      const i128 bound = static_cast<i128>(1) << 100;
      if ((x > 0 ? x : -x) > bound / ((y > 0 ? y : -y) + 1)) return Value::absent();
      return moneyOrAbsent(divRound(x * y, Decimal::kScale));
    }
    case Op::Div: {
      if (y == 0) return Value::absent();
      if (hint == TypeKind::Float) return floatOrAbsent(asDouble(a) / asDouble(b));
      if (a.kind == Kind::Money && b.kind == Kind::Money && hint == TypeKind::Int)
        return intOrAbsent(x / y);
      return moneyOrAbsent(divRound(x * Decimal::kScale, y));
    }
    default: return Value::absent();
  }
}

bool contains(const Value& a, const Value& b) {
  if (a.kind == Kind::String && b.kind == Kind::String) return a.s.find(b.s) != std::string::npos;
  if (a.kind == Kind::List) {
    for (const auto& item : a.list)
      if (auto c = compareValues(item, b); c && *c == 0) return true;
  }
  return false;
}

}  // namespace

std::optional<int> compareValues(const Value& a, const Value& b) {
  if (a.isAbsent() || b.isAbsent()) return std::nullopt;
  if (isNumeric(a.kind) && isNumeric(b.kind)) {
    if (a.kind == Kind::Float || b.kind == Kind::Float) {
      double x = asDouble(a), y = asDouble(b);
      if (std::isnan(x) || std::isnan(y)) return std::nullopt;
      return sign3(x, y);
    }
    return sign3(scaled(a), scaled(b));
  }
  if (a.kind != b.kind) return std::nullopt;
  switch (a.kind) {
    case Kind::String: {
      int c = a.s.compare(b.s);
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case Kind::Bool: return sign3(static_cast<int>(a.b), static_cast<int>(b.b));
    case Kind::Time:
    case Kind::Duration: return sign3(a.i, b.i);
    case Kind::List: {
      size_t n = std::min(a.list.size(), b.list.size());
      for (size_t k = 0; k < n; ++k) {
        auto c = compareValues(a.list[k], b.list[k]);
        if (!c) return std::nullopt;
        if (*c != 0) return c;
      }
      return sign3(a.list.size(), b.list.size());
    }
    default: return std::nullopt;
  }
}

bool compare(Op op, const Value& a, const Value& b) {
  if (a.isAbsent() || b.isAbsent()) return false;
  switch (op) {
    case Op::In:
      if (b.kind != Kind::List) return false;
      for (const auto& item : b.list)
        if (auto c = compareValues(a, item); c && *c == 0) return true;
      return false;
    case Op::Contains: return contains(a, b);
    case Op::StartsWith:
      return a.kind == Kind::String && b.kind == Kind::String && a.s.starts_with(b.s);
    default: break;
  }
  auto c = compareValues(a, b);
  if (!c) return false;
  switch (op) {
    case Op::Eq: return *c == 0;
    case Op::Ne: return *c != 0;
    case Op::Lt: return *c < 0;
    case Op::Le: return *c <= 0;
    case Op::Gt: return *c > 0;
    case Op::Ge: return *c >= 0;
    default: return false;
  }
}

Value arithmetic(Op op, const Value& a, const Value& b, TypeKind hint) {
  if (a.isAbsent() || b.isAbsent()) return Value::absent();
  if (isNumeric(a.kind) && isNumeric(b.kind)) return numericArithmetic(op, a, b, hint);
  const i128 x = a.i, y = b.i;
  auto timeOrAbsent = [](i128 v) {
    return fitsInt64(v) ? Value::time(static_cast<int64_t>(v)) : Value::absent();
  };
  auto durOrAbsent = [](i128 v) {
    return fitsInt64(v) ? Value::duration(static_cast<int64_t>(v)) : Value::absent();
  };
  switch (op) {
    case Op::Add:
      if (a.kind == Kind::Time && b.kind == Kind::Duration) return timeOrAbsent(x + y);
      if (a.kind == Kind::Duration && b.kind == Kind::Time) return timeOrAbsent(x + y);
      if (a.kind == Kind::Duration && b.kind == Kind::Duration) return durOrAbsent(x + y);
      break;
    case Op::Sub:
      if (a.kind == Kind::Time && b.kind == Kind::Duration) return timeOrAbsent(x - y);
      if (a.kind == Kind::Time && b.kind == Kind::Time) return durOrAbsent(x - y);
      if (a.kind == Kind::Duration && b.kind == Kind::Duration) return durOrAbsent(x - y);
      break;
    case Op::Mul:
      if (a.kind == Kind::Duration && b.kind == Kind::Int) return durOrAbsent(x * y);
      if (a.kind == Kind::Int && b.kind == Kind::Duration) return durOrAbsent(x * y);
      break;
    case Op::Div:
      if (a.kind == Kind::Duration && b.kind == Kind::Int)
        return y == 0 ? Value::absent() : durOrAbsent(x / y);
      if (a.kind == Kind::Duration && b.kind == Kind::Duration)
        return y == 0 ? Value::absent()
                      : floatOrAbsent(static_cast<double>(a.i) / static_cast<double>(b.i));
      break;
    default: break;
  }
  return Value::absent();
}

Value lowerMedian(std::vector<Value>& values) {
  if (values.empty()) return Value::absent();
  // A strict weak order on one numeric kind: floats with NaN last, the others exactly.
  auto less = [](const Value& a, const Value& b) {
    if (a.kind == Kind::Float && b.kind == Kind::Float) {
      if (std::isnan(a.f) || std::isnan(b.f)) return !std::isnan(a.f) && std::isnan(b.f);
      return a.f < b.f;
    }
    return compareValues(a, b).value_or(0) < 0;
  };
  auto nth = values.begin() + static_cast<std::ptrdiff_t>((values.size() + 1) / 2 - 1);
  std::nth_element(values.begin(), nth, values.end(), less);
  return *nth;
}

Value negate(const Value& a) {
  switch (a.kind) {
    case Kind::Int:
      return a.i == std::numeric_limits<int64_t>::min() ? Value::absent() : Value::integer(-a.i);
    case Kind::Float: return Value::flt(-a.f);
    case Kind::Money:
      return a.m.units == std::numeric_limits<int64_t>::min() ? Value::absent()
                                                              : Value::money(Decimal{-a.m.units});
    case Kind::Duration:
      return a.i == std::numeric_limits<int64_t>::min() ? Value::absent() : Value::duration(-a.i);
    default: return Value::absent();
  }
}

Value convertNumeric(const Value& v, TypeKind to) {
  switch (to) {
    case TypeKind::Money:
      if (v.kind == Kind::Int) return moneyOrAbsent(static_cast<i128>(v.i) * Decimal::kScale);
      return v;
    case TypeKind::Float:
      if (v.kind == Kind::Int || v.kind == Kind::Money) return Value::flt(asDouble(v));
      return v;
    default: return v;
  }
}

}  // namespace trig::core
