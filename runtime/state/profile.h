#pragma once
// One customer's profile: the declared traits by sema slot (defaults applied), plus traits an
// identify call sent that no declaration names (kept for `--explain`, unreachable from rules).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/core/value.h"
#include "compiler/plan/plan.h"

namespace trig::state {

struct Profile {
  std::vector<Value> traits;  // by sema trait slot
  // Undeclared traits, in the order first sent (rare, and no rule reads them: a vector costs
  // every customer 24 bytes where a map cost 48).
  std::vector<std::pair<std::string, Value>> extra;
  const Value* extraTrait(std::string_view name) const;
  // The address hard bounced (spec section 6): no mail until an identify sets another `email`.
  bool bounced = false;

  // Merges one identify change: an absent value removes the trait (back to its default in
  // `defaults`, by slot); an `email` other than the one held ends a bounce.
  void apply(const plan::Traits& layout, const std::vector<Value>& defaults,
             const std::string& name, const Value& v);
};

}  // namespace trig::state
