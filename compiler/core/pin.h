#pragma once
// What a filter pins a field of its event to: the filter cannot hold unless the field equals (or,
// for a prefix pin, starts with) one of the values. Computed once by sema (sema::pinsOf, from
// `f == "x"`, `f in [...]`, `f starts_with "x"` and `or`s of equalities); the lint compares rules'
// pins, the rule plan hands them to the runtime's anchor index.
#include <cstdint>
#include <string>
#include <vector>

namespace trig::core {

struct Pin {
  uint32_t slot = 0;                // the field of the filtered event
  bool prefix = false;              // `values` are prefixes (`starts_with`), else whole values
  bool strings = true;              // string values, else booleans spelled "true" / "false"
  std::vector<std::string> values;  // ascending, each once
};

}  // namespace trig::core
