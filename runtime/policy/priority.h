#pragma once
// `priority` (spec section 6, policy 4): a constant, or a numeric expression over the anchor's
// fields and the customer's traits evaluated when the rule fires. Every step of that flow
// instance carries the value; higher wins arbitration and preempts lower.
#include "compiler/core/value.h"

namespace trig::policy {

// The priority a firing carries, from the constant or the expression's value: an absent value
// (or a NaN) counts as 0.
Value priorityOf(int64_t constant, const Value* computed);
// <0, 0, >0: priority a against b (int, money and float compare by value).
int comparePriority(const Value& a, const Value& b);

}  // namespace trig::policy
