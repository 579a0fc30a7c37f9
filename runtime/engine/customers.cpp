// Customers: their active flows, traits and profile.
#include "runtime/engine/engine_impl.h"

#include <fmt/format.h>

#include <algorithm>

namespace trig::engine {

// An identify: the traits it sets (or removes), and the sends waiting for them.
void Engine::Impl::identify(Customer& c, const Event& e) {
  std::string changed;
  for (const auto& [name, v] : e.traits) {
    ownTraits(c);
    c.profile.apply(model, defaults, name, v);
    if (!changed.empty()) changed += ", ";
    changed += v.isAbsent() ? name + " removed" : name + " = " + deliver::formatValue(v);
  }
  trace(TraceEntry::Kind::Profile, c.id, sema::kNone, Loc{},
        [&] { return fmt::format("identify ({}): {}", e.source.str(), changed); });
  profileChanged(c);
}

std::shared_ptr<Flow> Engine::Impl::activeFlow(Customer& c, uint32_t rule) {
  for (auto& f : c.flows)
    if (f->rule == rule) return f;
  return nullptr;
}

std::vector<Value>& Engine::Impl::ownTraits(Customer& c) {
  if (c.profile.traits.empty()) c.profile.traits = defaults;
  return c.profile.traits;
}

// An `email_bounce` whose `kind` is "hard" or not sent; "soft" and any other kind are not.
bool Engine::Impl::hardBounce(const Event& e) const {
  if (bounceKindSlot >= e.fields.size()) return true;
  const Value& kind = e.fields[bounceKindSlot];
  return kind.isAbsent() || (kind.kind == Value::Kind::String && kind.s == "hard");
}

Value Engine::Impl::anchorFieldByName(const Event& anchor, const std::string& name) const {
  if (anchor.type >= model.events.size()) return Value::absent();
  uint32_t idx = model.events[anchor.type].fieldIndex(name);
  return idx != sema::kNone && idx < anchor.fields.size() ? anchor.fields[idx] : Value::absent();
}

}  // namespace trig::engine
