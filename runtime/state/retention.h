#pragma once
// The history keeps what the rule plan's retention says (compiler/plan/plan.h); the names the
// runtime's state uses for it.
#include "compiler/plan/plan.h"

namespace trig::state {

using plan::Retention;
using plan::RetentionPlan;

}  // namespace trig::state
