#include "runtime/state/profile.h"

#include "runtime/ingest/decoder.h"

namespace trig::state {

std::vector<Value> defaultTraits(const sema::Model& model) {
  std::vector<Value> out(model.traits.size());
  for (size_t i = 0; i < model.traits.size(); ++i) {
    const auto& t = model.traits[i];
    if (t.defaultValue != nullptr)
      if (auto v = ingest::literalValue(*t.defaultValue, t.type)) out[i] = *v;
  }
  return out;
}

void Profile::apply(const sema::Model& model, const std::vector<Value>& defaults,
                    const std::string& name, const Value& v) {
  if (traits.size() < model.traits.size()) traits.resize(model.traits.size());
  uint32_t slot = model.traitIndex(name);
  if (slot == sema::kNone) {
    if (v.isAbsent())
      extra.erase(name);
    else
      extra[name] = v;
    return;
  }
  traits[slot] = v.isAbsent() ? defaults[slot] : v;
}

}  // namespace trig::state
