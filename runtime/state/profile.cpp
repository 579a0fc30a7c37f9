#include "runtime/state/profile.h"

#include <algorithm>

#include "compiler/plan/plan.h"

namespace trig::state {

std::vector<Value> defaultTraits(const sema::Model& model) {
  std::vector<Value> out(model.traits.size());
  for (size_t i = 0; i < model.traits.size(); ++i) {
    const auto& t = model.traits[i];
    if (t.defaultValue != nullptr)
      if (auto v = plan::literalValue(*t.defaultValue, t.type)) out[i] = *v;
  }
  return out;
}

void Profile::apply(const sema::Model& model, const std::vector<Value>& defaults,
                    const std::string& name, const Value& v) {
  if (traits.size() < model.traits.size()) traits.resize(model.traits.size());
  uint32_t slot = model.traitIndex(name);
  if (slot == sema::kNone) {
    auto it =
        std::find_if(extra.begin(), extra.end(), [&](const auto& e) { return e.first == name; });
    if (v.isAbsent()) {
      if (it != extra.end()) extra.erase(it);
    } else if (it != extra.end()) {
      it->second = v;
    } else {
      extra.emplace_back(name, v);
    }
    return;
  }
  if (bounced && name == "email" && !v.isAbsent() && !(v == traits[slot])) bounced = false;
  traits[slot] = v.isAbsent() ? defaults[slot] : v;
}

const Value* Profile::extraTrait(std::string_view name) const {
  for (const auto& [n, v] : extra)
    if (n == name) return &v;
  return nullptr;
}

}  // namespace trig::state
