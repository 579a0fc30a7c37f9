#include "runtime/policy/priority.h"

#include <fmt/format.h>

#include "compiler/core/ops.h"
#include "runtime/deliver/render.h"
#include "runtime/timers/later.h"

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

Verdict Arbitration::check(const Send& s, Context&) {
  if (s.moment != Moment::Due) return Verdict::pass();
  return Verdict::compete(timers::later(s.now, window_));
}

bool Arbitration::outranks(const Contender& a, const Contender& b) {
  if (int p = comparePriority(*a.priority, *b.priority); p != 0) return p > 0;
  if (a.anchorTime != b.anchorTime) return a.anchorTime > b.anchorTime;
  if (a.ruleOrder != b.ruleOrder) return a.ruleOrder < b.ruleOrder;
  if (a.step != b.step) return a.step < b.step;
  return a.order < b.order;
}

std::string Arbitration::outrankedBy(std::string_view rule, const Value& priority, uint32_t step) {
  return fmt::format("outranked by {} (priority {}, step {})", rule, deliver::formatValue(priority),
                     step);
}

std::string Arbitration::preemptedBy(std::string_view rule, const Value& priority) {
  return fmt::format("preempted by a send of {} (priority {})", rule,
                     deliver::formatValue(priority));
}

}  // namespace trig::policy
