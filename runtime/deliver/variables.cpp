#include "runtime/deliver/variables.h"

namespace trig::deliver {

const Value* resolveVariable(const std::vector<std::string_view>& path,
                             const VariableSources& sources, Value& scratch) {
  auto anchorField = [&](std::string_view name) -> const Value* {
    if (!sources.anchorField) return nullptr;
    scratch = sources.anchorField(std::string(name));
    return &scratch;
  };
  if (path.size() == 1) {
    if (sources.bindings)
      for (const auto& [name, value] : *sources.bindings)
        if (name == path[0]) return &value;
    return anchorField(path[0]);
  }
  if (path.size() == 2 && path[0] == "customer")
    return sources.trait ? sources.trait(std::string(path[1])) : nullptr;
  if (path.size() == 2) return anchorField(path[1]);
  return nullptr;
}

}  // namespace trig::deliver
