#pragma once
// Policy 4, priority and arbitration (docs/language.md, "The delivery policy"). `priority` is a
// constant, or a numeric expression over the anchor's fields and the customer's traits evaluated
// when the rule fires; every step of that flow instance carries the value.
//
// A send that becomes due competes in the customer's arbitration window [t, t + W] (W is the
// `arbitration` setting): the engine keeps the window and its timer, and when it closes asks
// outranks() for the winner; the others are suppressed (`outranked`). A send that goes out
// cancels the pending steps of the customer's flows it preempts() (`preempted`).
#include <string>
#include <string_view>

#include "compiler/core/value.h"
#include "runtime/policy/policy.h"

namespace trig::policy {

// The priority a firing carries, from the constant or the expression's value: an absent value
// (or a NaN) counts as 0.
Value priorityOf(int64_t constant, const Value* computed);
// The same into `out`, a Value as constructed (Absent, no text, no list): a firing's flow, whose
// priority is most often the rule's constant (no Value made and moved).
void assignPriority(Value& out, int64_t constant, const Value* computed);
// <0, 0, >0: priority a against b (int, money and float compare by value).
int comparePriority(const Value& a, const Value& b);

class Arbitration final : public Policy {
 public:
  explicit Arbitration(DurationMs window) : window_(window) {}
  DurationMs window() const { return window_; }
  Verdict check(const Send& s, Context& c) override;
  bool answersAt(Moment m) const override { return m == Moment::Due; }
  bool hearsSends() const override { return false; }

  // One send of a window.
  struct Contender {
    const Value* priority;
    TimeMs anchorTime;
    uint32_t ruleOrder;  // declaration order
    uint32_t step;
    uint64_t order;  // when it became due, for equal everything else
  };
  // The winner's order: highest priority, then the most recent anchor, then the rule declared
  // first, then the earlier step.
  static bool outranks(const Contender& a, const Contender& b);
  static std::string outrankedBy(std::string_view rule, const Value& priority, uint32_t step);
  // Whether a send of priority `sent` that went out cancels a pending step of priority `pending`.
  static bool preempts(const Value& sent, const Value& pending) {
    return comparePriority(pending, sent) < 0;
  }
  static std::string preemptedBy(std::string_view rule, const Value& priority);

 private:
  DurationMs window_;
};

}  // namespace trig::policy
