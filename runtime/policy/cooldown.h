#pragma once
// `cooldown D` (spec section 6, policy 5): a send of template T to a customer at t is suppressed
// when a send of T to that customer went out in (t - D, t]. Checked after arbitration and before
// the frequency cap; only sends that went out count.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "compiler/support/time.h"

namespace trig::policy {

// One customer's latest send of each template; small enough to live in per-customer state.
class Cooldown {
 public:
  // The latest send of `templ` that keeps a send at t from going out under `cooldown d`, if any.
  std::optional<TimeMs> blocking(uint32_t templ, TimeMs t, DurationMs d) const;
  bool allows(uint32_t templ, TimeMs t, DurationMs d) const { return !blocking(templ, t, d); }
  // A send of `templ` went out at t; templates whose latest send can no longer block anything
  // (at or before t - d) are forgotten.
  void record(uint32_t templ, TimeMs t, DurationMs d);
  size_t size() const { return last_.size(); }

 private:
  std::vector<std::pair<uint32_t, TimeMs>> last_;  // (template, latest send)
};

}  // namespace trig::policy
