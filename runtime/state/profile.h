#pragma once
// One customer's profile: the declared traits by sema slot (defaults applied), plus traits an
// identify call sent that no declaration names (kept for `--explain`, unreachable from rules).
#include <map>
#include <string>
#include <vector>

#include "compiler/interp/value.h"
#include "compiler/sema/model.h"

namespace trig::state {

// The declared defaults of every trait slot (`subscribed: bool = true`), computed once.
std::vector<Value> defaultTraits(const sema::Model& model);

struct Profile {
  std::vector<Value> traits;           // by sema trait slot
  std::map<std::string, Value> extra;  // undeclared traits

  // Merges one identify change: an absent value removes the trait (back to its default).
  void apply(const sema::Model& model, const std::vector<Value>& defaults, const std::string& name,
             const Value& v);
};

}  // namespace trig::state
