#pragma once
// The rule plan: what the runtime needs of a checked program, computed once after sema
// (docs/architecture.md, "The rule plan"). The runtime includes the plan, the value core and the
// ABI, never the AST or sema directly.
//
// Today it holds what each event type's history must keep (retention) and the anchor index keys
// of filters (pins); the anchors, conditions and steps by entry id are still read from the
// sema model by the engine (issue 10).
#include <cstdint>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/core/pin.h"
#include "compiler/sema/model.h"
#include "compiler/support/time.h"

namespace trig::plan {

// How much of one event type's history the rules can ever ask about: the longest window over it
// (`within`, `count/sum/...`, a goal), whether `last(E)` needs the newest one at any age (or all
// of them when `last` has a filter, since the newest match can be arbitrarily old), and whether
// a condition without a window asks "since the rule fired". Event types nothing looks back at are
// not stored at all, and of the stored ones only the fields some expression reads.
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
  // For tests of the history: a plan of the given retentions.
  static RetentionPlan of(std::vector<Retention> types);

 private:
  void scan(const sema::Model& model, const ast::Expr* e, bool inHistory = false);
  void readsField(uint32_t type, uint32_t slot);
  void scanSteps(const sema::Model& model, const std::vector<ast::Step>& steps);
  void finish(const sema::Model* model);
  std::vector<Retention> types_;
  bool anySinceFiring_ = false;
  bool allFields_ = false;  // a field read by name whatever the type: keep every field
};

// The anchor index keys of `filter`, an anchor filter of event type `event` (sema::pinsOf: the
// analysis the ambiguous-priority lint uses too).
std::vector<core::Pin> filterPins(const sema::Model& model, uint32_t event,
                                  const ast::Expr* filter);

}  // namespace trig::plan
