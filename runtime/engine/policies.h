#pragma once
// The delivery policy the engine applies: the one list of policies, in the language's order
// (docs/language.md, "The delivery policy"; docs/architecture.md, "How to add a delivery policy").
#include <functional>
#include <string>

#include "compiler/plan/plan.h"
#include "runtime/engine/engine.h"
#include "runtime/policy/policy.h"

namespace trig::engine {

// The policies of `model`'s rules and settings (quiet hours as `plan` holds them); `warn` hears
// of what does not stop the run (an unknown time zone).
policy::Chain deliveryPolicy(const sema::Model& model, const plan::Plan& plan,
                             std::function<void(const std::string&)> warn);

}  // namespace trig::engine
