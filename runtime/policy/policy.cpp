#include "runtime/policy/policy.h"

namespace trig::policy {

void Chain::add(std::unique_ptr<Policy> p) {
  p->slot_ = policies_.size();
  for (const Moment m : {Moment::Firing, Moment::Due, Moment::Decision})
    if (p->answersAt(m))
      askedAt_[static_cast<size_t>(m)].push_back(static_cast<uint32_t>(policies_.size()));
  if (p->hearsSends()) hearSends_.push_back(static_cast<uint32_t>(policies_.size()));
  policies_.push_back(std::move(p));
}

Chain::Answer Chain::check(const Send& s, Context& c) const {
  for (const uint32_t i : askedAt_[static_cast<size_t>(s.moment)]) {
    Verdict v = policies_[i]->check(s, c);
    if (!v.passes()) return {std::move(v), i};
  }
  return {};
}

void Chain::sent(const Send& s, Context& c) const {
  for (const uint32_t i : hearSends_) policies_[i]->sent(s, c);
}

}  // namespace trig::policy
