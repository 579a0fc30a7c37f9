#pragma once
// Where a template variable takes its value from (spec section 7), in the one order the
// language gives:
//   {{ name }}           a `with` binding of the send, else the anchor's field `name`
//   {{ customer.x }}     the customer's trait x
//   {{ v.f }}            the anchor's field f (v is the anchor's alias or event name)
// Anything else has no value. `trig preview` resolves its variables here; the values themselves
// (the anchor, the profile, the evaluated bindings) are the caller's.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/core/value.h"

namespace trig::deliver {

struct VariableSources {
  // The send's `with` bindings, evaluated; null for none.
  const std::vector<std::pair<std::string, Value>>* bindings = nullptr;
  // The anchor's field of that name (Absent when the anchor has none).
  std::function<Value(const std::string& field)> anchorField;
  // The trait of that name, or null when the customer has none.
  std::function<const Value*(const std::string& trait)> trait;
};

// The value of the variable whose dotted name has the parts `path` ({"customer", "first_name"}),
// or null when it has none. The result may point into `scratch`, which must outlive its use.
const Value* resolveVariable(const std::vector<std::string_view>& path,
                             const VariableSources& sources, Value& scratch);

}  // namespace trig::deliver
