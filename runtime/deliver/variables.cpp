#include "runtime/deliver/variables.h"

namespace trig::deliver {

const Value* resolveVariable(const ast::Placeholder& p, const VariableSources& sources,
                             Value& scratch) {
  auto anchorField = [&](const std::string& name) -> const Value* {
    if (!sources.anchorField) return nullptr;
    scratch = sources.anchorField(name);
    return &scratch;
  };
  if (p.path.size() == 1) {
    if (sources.bindings)
      for (const auto& [name, value] : *sources.bindings)
        if (name == p.path[0].text) return &value;
    return anchorField(p.path[0].text);
  }
  if (p.path.size() == 2 && p.path[0].text == "customer")
    return sources.trait ? sources.trait(p.path[1].text) : nullptr;
  if (p.path.size() == 2) return anchorField(p.path[1].text);
  return nullptr;
}

}  // namespace trig::deliver
