// Customers: their active flows, traits and profile.
#include "runtime/engine/engine_impl.h"

#include <fmt/format.h>

#include <algorithm>

namespace trig::engine {

// An identify: the traits it sets (or removes), and the sends waiting for them.
void Engine::Impl::identify(Customer& c, const Event& e) {
  if (!e.traits.empty()) ownTraits(c);
  for (const auto& [name, v] : e.traits) c.profile.apply(rulePlan.traits, defaults, name, v);
  // The traits as the call sent them, worded only when traced.
  trace(TraceEntry::Kind::Profile, c.id, core::kNone, Loc{}, [&] {
    std::string changed;
    for (const auto& [name, v] : e.traits) {
      if (!changed.empty()) changed += ", ";
      changed += v.isAbsent() ? name + " removed" : name + " = " + deliver::formatValue(v);
    }
    return fmt::format("identify ({}): {}", e.source.str(), changed);
  });
  profileChanged(c);
}

// When `e` is an anonymous visitor's that was merged into a user: true, and in `user` a copy
// that is the user's. Later events with only that anonymousId go to the user (spec section 8).
bool Engine::Impl::resolve(const Event& e, Event& user) const {
  if (e.identified || mergedInto.empty()) return false;
  auto it = mergedInto.find(e.anonymousId);
  if (it == mergedInto.end()) return false;
  user = e;
  user.customer = it->second;
  user.identified = true;
  return true;
}

// The first event carrying both ids (or an alias call) merges the anonymous visitor into
// `user`, once per anonymous id: its remembered events join the user's in time order, so that
// browsing before logging in counts; its pending evaluations and flows end without a record
// (nothing was or could be sent for them to an address the user has); traits it set fill the
// user's unset ones.
void Engine::Impl::merge(Customer& user, const std::string& anonymousId) {
  if (!mergedInto.emplace(anonymousId, std::string(user.id)).second) return;
  Customer* found = customers.find("anon:" + anonymousId);
  if (found == nullptr || found == &user) return;
  Customer& anon = *found;
  endAnonymous(anon);
  const size_t moved = anon.history.size();
  user.history.mergeFrom(std::move(anon.history), rulePlan.retention, now, oldestFiring(user));
  const bool traitsChanged = adoptTraits(user, anon);
  trace(TraceEntry::Kind::Profile, anon.id, core::kNone, Loc{}, [&] {
    return fmt::format("merged into customer {}: its pending evaluations and flows end", user.id);
  });
  trace(TraceEntry::Kind::Profile, user.id, core::kNone, Loc{}, [&] {
    return fmt::format("merged the anonymous visitor {} ({} remembered event{}{})", anon.id, moved,
                       moved == 1 ? "" : "s", traitsChanged ? ", traits" : "");
  });
  if (traitsChanged) profileChanged(user);
}

// Ends everything pending for a merged visitor, silently: idle evaluations, flows (with their
// parked or competing sends) and goal watches.
void Engine::Impl::endAnonymous(Customer& anon) {
  for (auto& p : anon.idle) timers.cancel(p.timer);
  anon.idle.clear();
  // endFlow edits the list
  const std::vector<std::shared_ptr<Flow>> flows(anon.flows.begin(), anon.flows.end());
  for (const auto& f : flows) {
    switch (f->state) {
      case Flow::State::InWindow: removeFromWindow(anon, *f); break;
      case Flow::State::Deferred:
      case Flow::State::Awaiting: deferred.erase(f.get()); break;
      case Flow::State::Running:
      case Flow::State::WaitingStep:
      case Flow::State::Done: break;
    }
    endFlow(*f);
  }
  if (anon.sends) anon.sends->goalWatch.clear();
}

// The visitor's profile into the user's: each declared trait the visitor set (not at its
// default) that the user has not, and undeclared ones the user lacks. A visitor's
// `subscribed: false` so carries over: the same person asked for no mail (fails closed). True
// when a trait changed.
bool Engine::Impl::adoptTraits(Customer& user, const Customer& anon) {
  bool changed = false;
  if (anon.profile.ownsTraits()) {
    const std::vector<Value>& traits = anon.profile.traits();
    for (size_t slot = 0; slot < traits.size() && slot < defaults.size(); ++slot) {
      const Value& v = traits[slot];
      if (v == defaults[slot] || !(trait(user, static_cast<uint32_t>(slot)) == defaults[slot]))
        continue;
      ownTraits(user)[slot] = v;
      if (slot == traitEmail) user.profile.bounced = anon.profile.bounced;
      changed = true;
    }
  }
  for (const auto& [name, v] : anon.profile.extra()) {
    if (user.profile.extraTrait(name) != nullptr) continue;
    user.profile.addExtra(name, v);
    changed = true;
  }
  return changed;
}

std::shared_ptr<Flow> Engine::Impl::activeFlow(Customer& c, uint32_t rule) {
  for (auto& f : c.flows)
    if (f->rule == rule) return f;
  return nullptr;
}

std::vector<Value>& Engine::Impl::ownTraits(Customer& c) {
  return c.profile.ownTraits(defaults);
}

// An `email_bounce` whose `kind` is "hard" or not sent; "soft" and any other kind are not.
bool Engine::Impl::hardBounce(const Event& e) const {
  if (bounceKindSlot >= e.fields.size()) return true;
  const Value& kind = e.fields[bounceKindSlot];
  return kind.isAbsent() || (kind.kind == Value::Kind::String && kind.s == "hard");
}

}  // namespace trig::engine
