#include "compiler/plan/plan.h"

#include "compiler/sema/pins.h"

namespace trig::plan {

std::vector<core::Pin> filterPins(const sema::Model& model, uint32_t event,
                                  const ast::Expr* filter) {
  return sema::pinsOf(model, event, filter);
}

}  // namespace trig::plan
