#include "runtime/state/profile.h"

#include <algorithm>

namespace trig::state {

const std::vector<Value> Profile::kNone;
const Profile::Extra Profile::kNoExtra;

Profile::Data& Profile::data() {
  if (data_ == nullptr) data_ = std::make_unique<Data>();
  return *data_;
}

std::vector<Value>& Profile::ownTraits(const std::vector<Value>& defaults) {
  auto& traits = data().traits;
  if (traits.empty()) traits = defaults;
  return traits;
}

void Profile::addExtra(const std::string& name, const Value& v) {
  data().extra.emplace_back(name, v);
}

void Profile::apply(const plan::Traits& layout, const std::vector<Value>& defaults,
                    const std::string& name, const Value& v) {
  auto& traits = data().traits;
  auto& extra = data_->extra;
  if (traits.size() < layout.size()) traits.resize(layout.size());
  uint32_t slot = layout.slot(name);
  if (slot == core::kNone) {
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
  if (data_ == nullptr) return nullptr;
  for (const auto& [n, v] : data_->extra)
    if (n == name) return &v;
  return nullptr;
}

}  // namespace trig::state
