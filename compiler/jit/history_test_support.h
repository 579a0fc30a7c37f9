#pragma once
// An in-memory History for the JIT's tests and the differential fuzz target.
#include <cstdint>
#include <functional>
#include <vector>

#include "compiler/interp/eval.h"

namespace trig::jit::testing {

// Events of every type kept in a vector, in append order (append in time order).
class VectorHistory final : public History {
 public:
  std::vector<Event> events;
  void forEach(uint32_t type, TimeMs from, TimeMs to,
               const std::function<bool(const Event&)>& f) const override {
    for (const Event& e : events)
      if (e.type == type && e.time >= from && e.time <= to && !f(e)) return;
  }
};

}  // namespace trig::jit::testing
