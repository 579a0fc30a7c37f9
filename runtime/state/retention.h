#pragma once
// How much of each event type's history the rules can ever ask about, computed once per program
// from the rules' expressions: the longest window over it (`within`, `count/sum/...`), whether
// `last(E)` needs the newest one at any age (or all of them when `last` has a filter, since the
// newest match can be arbitrarily old), and whether a flow step asks "since the rule fired".
// Sema's per-event `lookback/keepLast/sinceFiring` are folded in too, so the plan is never
// smaller than what sema computed. Event types nothing looks back at are not stored at all, and
// of the stored ones only the fields some expression reads.
#include <cstdint>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/sema/model.h"

namespace trig::state {

struct Retention {
  DurationMs window = 0;     // keep events stamped in [now - window, now]
  bool keepLast = false;     // and the newest one, at any age
  bool keepAll = false;      // and every one (`last(E(filter))`)
  bool sinceFiring = false;  // and those since the oldest firing of an active flow
  // The field slots anything can read of a remembered event of this type (filters, `same`,
  // `sum(E.f)`, `last(E).f`), ascending; the others are not kept. `fields` is the type's row
  // length, for rebuilding an Event with the others absent.
  std::vector<uint32_t> slots;
  uint32_t fields = 0;
  bool stored() const { return window > 0 || keepLast || keepAll || sinceFiring; }
};

class RetentionPlan {
 public:
  static RetentionPlan build(const sema::Model& model);
  const Retention& of(uint32_t type) const {
    static const Retention kNothing;
    return type < types_.size() ? types_[type] : kNothing;
  }
  bool anySinceFiring() const { return anySinceFiring_; }

 private:
  void scan(const sema::Model& model, const ast::Expr* e, bool inHistory = false);
  void readsField(uint32_t type, uint32_t slot);
  void scanSteps(const sema::Model& model, const std::vector<ast::Step>& steps);
  std::vector<Retention> types_;
  bool anySinceFiring_ = false;
  bool allFields_ = false;  // a field read by name whatever the type: keep every field
};

}  // namespace trig::state
