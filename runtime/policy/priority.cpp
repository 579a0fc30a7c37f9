#include "runtime/policy/priority.h"

#include <charconv>

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

void assignPriority(Value& out, int64_t constant, const Value* computed) {
  if (computed == nullptr) {
    out.kind = Value::Kind::Int;
    out.i = constant;
    return;
  }
  out = priorityOf(constant, computed);
}

int comparePriority(const Value& a, const Value& b) {
  // Most priorities are constants (integers): compared here, without the general comparison.
  if (a.kind == Value::Kind::Int && b.kind == Value::Kind::Int) return (a.i > b.i) - (a.i < b.i);
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

// The sentences are put together a piece at a time (fmt::format and formatValue's own string
// were most of an outranked send's record).
std::string Arbitration::outrankedBy(std::string_view rule, const Value& priority, uint32_t step) {
  std::string s;
  s.reserve(64);
  s.append("outranked by ").append(rule).append(" (priority ");
  deliver::appendValue(s, priority);
  char digits[12];  // a uint32_t in decimal
  const char* end = std::to_chars(digits, digits + sizeof digits, step).ptr;
  s.append(", step ").append(digits, static_cast<size_t>(end - digits)).append(")");
  return s;
}

std::string Arbitration::preemptedBy(std::string_view rule, const Value& priority) {
  std::string s;
  s.reserve(64);
  s.append("preempted by a send of ").append(rule).append(" (priority ");
  deliver::appendValue(s, priority);
  s.append(")");
  return s;
}

}  // namespace trig::policy
