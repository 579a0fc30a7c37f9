#pragma once
// The delivery policy the engine applies: the one list of policies, in the language's order
// (docs/language.md, "The delivery policy"; docs/architecture.md, "How to add a delivery policy").
#include <functional>
#include <string>

#include "compiler/plan/plan.h"
#include "runtime/engine/engine.h"
#include "runtime/policy/policy.h"

namespace trig::engine {

// The policies of the plan's rules and settings; `warn` hears of what does not stop the run (an
// unknown time zone). The chain points into `plan`, which must outlive it.
policy::Chain deliveryPolicy(const plan::Plan& plan, std::function<void(const std::string&)> warn);

}  // namespace trig::engine
