#include "runtime/policy/policy.h"

namespace trig::policy {

void Chain::add(std::unique_ptr<Policy> p) {
  p->slot_ = policies_.size();
  policies_.push_back(std::move(p));
}

Chain::Answer Chain::check(const Send& s, Context& c) const {
  for (size_t i = 0; i < policies_.size(); ++i) {
    Verdict v = policies_[i]->check(s, c);
    if (!v.passes()) return {std::move(v), i};
  }
  return {};
}

void Chain::sent(const Send& s, Context& c) const {
  for (const auto& p : policies_) p->sent(s, c);
}

}  // namespace trig::policy
