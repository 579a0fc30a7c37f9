#include "runtime/policy/priority.h"

#include "compiler/core/ops.h"

namespace trig::policy {

Value priorityOf(int64_t constant, const Value* computed) {
  if (computed == nullptr) return Value::integer(constant);
  // A present number compares with 0 unless it is a NaN; anything else counts as 0 too.
  if (!core::compareValues(*computed, Value::integer(0))) return Value::integer(0);
  return *computed;
}

int comparePriority(const Value& a, const Value& b) {
  return core::compareValues(a, b).value_or(0);
}

}  // namespace trig::policy
