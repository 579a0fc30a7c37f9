#pragma once
// A customer for policy tests: the facts and memory a policy may ask for, with no engine.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/policy/policy.h"

namespace trig::policy::testing {

struct FakeCustomer final : Context {
  bool isUnsubscribed = false;
  bool email = true;
  bool isBounced = false;
  std::string zone;
  std::optional<RenderGap> gap;  // what render() reports
  int renders = 0;
  std::vector<std::unique_ptr<CustomerMemory>> memories;

  bool unsubscribed() const override { return isUnsubscribed; }
  bool hasEmail() const override { return email; }
  bool bounced() const override { return isBounced; }
  std::string_view timezone() const override { return zone; }
  std::optional<RenderGap> render() override {
    ++renders;
    return gap;
  }
  CustomerMemory* memory(size_t slot) override {
    return slot < memories.size() ? memories[slot].get() : nullptr;
  }
  CustomerMemory& keep(size_t slot, std::unique_ptr<CustomerMemory> m) override {
    if (memories.size() <= slot) memories.resize(slot + 1);
    memories[slot] = std::move(m);
    return *memories[slot];
  }
};

// A send of template `templ` (named "t<templ>") of rule 0 at `now`.
inline Send send(Moment moment, TimeMs now, uint32_t templ = 0, uint32_t step = 1) {
  static const std::vector<std::string> names = {"t0", "t1", "t2", "t3"};
  Send s;
  s.moment = moment;
  s.now = now;
  s.rule = 0;
  s.step = step;
  s.first = step == 1;
  s.templ = templ;
  s.templateName = names.at(templ);
  return s;
}

// The chain's answer at each moment for one policy alone.
inline Verdict ask(Chain& chain, Moment moment, TimeMs now, FakeCustomer& c, uint32_t templ = 0) {
  return chain.check(send(moment, now, templ), c).verdict;
}

}  // namespace trig::policy::testing
