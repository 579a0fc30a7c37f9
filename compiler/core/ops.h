#pragma once
// The operators of the language on run-time values, shared by the interpreter and (as the
// reference) by the JIT's helpers: comparisons where an absent side makes the result false,
// and arithmetic that is exact on int and money, absent on division by zero or overflow.
#include <optional>
#include <vector>

#include "compiler/core/kinds.h"
#include "compiler/core/value.h"

namespace trig::core {

// Orders two present values of comparable types (numeric with numeric, string with string,
// bool with bool, time with time, duration with duration, lists element by element): -1, 0 or 1.
// nullopt when either is absent or the types do not compare (or a float is NaN).
std::optional<int> compareValues(const Value& a, const Value& b);

// `a OP b` for OP in == != < <= > >= in contains starts_with. An absent side gives false,
// whatever the operator (spec section 4).
bool compare(Op op, const Value& a, const Value& b);

// `a OP b` for OP in + - * /. Absent when a side is absent, on division by zero, on overflow and
// for type combinations the language does not define. `hint` is the type sema gave the whole
// expression; it decides what `int / int` and `money / money` yield (float or the operand type).
Value arithmetic(Op op, const Value& a, const Value& b, TypeKind hint);

// `-a` for numbers and durations; absent otherwise.
Value negate(const Value& a);
// `median`: the lower middle value (the ceil(n/2)-th smallest) of present numeric values of one
// kind, itself of that kind (a NaN counts as the largest float); absent over nothing. The
// interpreter and the JIT's helper both call it. Reorders `values`.
Value lowerMedian(std::vector<Value>& values);

// Converts a numeric value to the numeric kind `to` (int -> money/float, money -> float), for
// literals that take the type of the other side. Values of other kinds are returned unchanged.
Value convertNumeric(const Value& v, TypeKind to);

}  // namespace trig::core
