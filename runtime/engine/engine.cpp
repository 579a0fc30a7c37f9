// The engine's public API, the indexes it builds from the rules, and the path of one event:
// deduplication, activity, anchors, idle timers and rule conditions (the rest is in the files
// engine_impl.h lists).
#include "runtime/engine/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "compiler/core/ops.h"
#include "runtime/engine/engine_impl.h"
#include "runtime/engine/policies.h"
#include "runtime/ingest/decoder.h"
#include "runtime/policy/split.h"

namespace trig::engine {

std::string messageId(std::string_view rule, std::string_view customer, uint32_t step,
                      TimeMs firedAt) {
  // FNV-1a of "rule\x1fcustomer\x1fstep\x1ffiredAt", hashed piece by piece (a send's id is
  // made for every firing: building the key and formatting it cost more than the firing).
  char digits[24];
  auto number = [&](auto v) {
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    return std::string_view(digits, static_cast<size_t>(end - digits));
  };
  uint64_t h = policy::fnvAppend(policy::kFnvOffset, rule);
  h = policy::fnvAppend(h, "\x1f");
  h = policy::fnvAppend(h, customer);
  h = policy::fnvAppend(h, "\x1f");
  h = policy::fnvAppend(h, number(step));
  h = policy::fnvAppend(h, "\x1f");
  h = policy::fnvAppend(h, number(firedAt));
  std::string id = "trig-0000000000000000";
  for (size_t i = id.size(); h != 0; h >>= 4) id[--i] = "0123456789abcdef"[h & 15];
  return id;
}

Engine::Impl::Impl(plan::Plan program, Evaluator& e, EngineOptions o)
    : rulePlan(std::move(program)),
      eval(e),
      opt(std::move(o)),
      defaults(rulePlan.traits.defaults),
      dedup(rulePlan.settings.dedup),
      policies(deliveryPolicy(rulePlan, opt.warn)),
      traitEmail(rulePlan.known.traitEmail),
      traitSubscribed(rulePlan.known.traitSubscribed),
      traitTimezone(rulePlan.known.traitTimezone),
      unsubscribeEvent(rulePlan.known.unsubscribeEvent),
      bounceEvent(rulePlan.known.bounceEvent),
      bounceKindSlot(rulePlan.known.bounceKindSlot) {
  const size_t rules = rulePlan.rules.size();
  stats.rules.resize(rules);
  for (const plan::EventPlan& p : rulePlan.events)
    filterIndex.push_back(FilterIndex::build(p.filterPins));
  for (uint32_t type = 0; type < rulePlan.events.size(); ++type)
    lazyTypes.push_back(needsCustomer(type) ? 0 : 1);
  if (opt.coverage) {
    opt.coverage->ruleArmed.resize(rules);
    opt.coverage->ruleFired.resize(rules);
    opt.coverage->ruleSent.resize(rules);
  }
}

void Engine::Impl::process(const Event& in) {
  if (in.kind == Event::Kind::Undeclared && rulePlan.settings.ignoreUndeclared) return;
  runUntil(in.time, false);
  setNow(in.time);
  // Before deduplication: a merged visitor's event is compared as the user's.
  Event redirected;
  const Event& e = resolve(in, redirected) ? redirected : in;
  auto verdict = dedup.admit(e);
  if (verdict != ingest::Deduplicator::Verdict::Accept) {
    Record r;
    r.decision = Decision::Dropped;
    r.customer = e.customer;
    r.reason = verdict == ingest::Deduplicator::Verdict::DuplicateId ? Reason::DuplicateId
                                                                     : Reason::DuplicateContent;
    (r.reason == Reason::DuplicateId ? stats.droppedById : stats.droppedByContent)++;
    r.event = e.kind == Event::Kind::Identify ? "identify" : e.name;
    r.source = e.source.str();
    r.detail = r.reason == Reason::DuplicateId
                   ? fmt::format("dropped: messageId '{}' was already accepted", e.messageId)
                   : fmt::format("dropped: same content as an event accepted within {}",
                                 formatDuration(rulePlan.settings.dedup));
    emit(std::move(r));
    return;
  }
  ++stats.events;
  // The first event with both ids merges the visitor's history before the event itself counts.
  const bool merges = e.identified && !e.anonymousId.empty();
  if (e.kind == Event::Kind::Track && !merges && e.type < lazyTypes.size() &&
      lazyTypes[e.type] != 0) {
    EventCustomer lazy{e.customer};
    anchors(lazy, e);
    return;
  }
  Customer& c = customer(e.customer);
  if (merges) merge(c, e.anonymousId);
  switch (e.kind) {
    case Event::Kind::Identify: identify(c, e); return;
    case Event::Kind::Alias: return;  // the merge alone: not activity
    case Event::Kind::Undeclared:
      ++stats.undeclared;
      trace(TraceEntry::Kind::Event, c.id, core::kNone, Loc{}, [&] {
        return fmt::format("event '{}' ({}) is not declared: activity only", e.name,
                           e.source.str());
      });
      cancelIdle(c, e);
      return;
    case Event::Kind::Track: track(c, e); return;
  }
}

// Whether an accepted Track event of `type` may need its customer before a rule anchors: what
// track() does with the customer besides anchors, and filters that read it. When it does not,
// process() skips all of track() but anchors (the rest does nothing for such a type).
bool Engine::Impl::needsCustomer(uint32_t type) const {
  const bool anyIdleOrGoal = std::any_of(rulePlan.rules.begin(), rulePlan.rules.end(),
                                         [](const plan::Rule& r) { return r.idle || r.hasGoal; });
  // Tracing names the customer of every event; customersInArrivalOrder wants an entry for each.
  return opt.trace || opt.customersInArrivalOrder || anyIdleOrGoal ||
         rulePlan.retention.of(type).stored() || type == unsubscribeEvent || type == bounceEvent ||
         rulePlan.events[type].filtersReadCustomer;
}

// A declared event of the customer's: remembered, its profile changes, activity, goals, anchors.
void Engine::Impl::track(Customer& c, const Event& e) {
  if (e.type >= rulePlan.eventNames.size()) return;
  const plan::EventName& info = rulePlan.eventNames[e.type];
  trace(TraceEntry::Kind::Event, c.id, core::kNone, Loc{}, [&] {
    return fmt::format("event {}{} ({})", info.name, info.passive ? " (passive)" : "",
                       e.source.str());
  });
  c.history.append(e, rulePlan.retention, oldestFiring(c));
  if (e.type == unsubscribeEvent && traitSubscribed != core::kNone) {
    ownTraits(c)[traitSubscribed] = Value::boolean(false);
  }
  if (e.type == bounceEvent && hardBounce(e)) c.profile.bounced = true;
  if (!info.passive) cancelIdle(c, e);
  goals(c, e);
  EventCustomer known{e.customer, &c};
  anchors(known, e);
  pruneGoals(c);
}

void Engine::Impl::cancelIdle(Customer& c, const Event& e) {
  for (auto& p : c.idle) {
    timers.cancel(p.timer);
    trace(TraceEntry::Kind::Cancelled, c.id, p.rule, rulePlan.rules[p.rule].loc, [&] {
      // The cancelling event by name and, when it came from an input, its line: what a
      // marketer looks up to see why the wait ended.
      std::string source = e.source.empty() ? "" : " (" + e.source.str() + ")";
      return fmt::format("pending evaluation (anchor {} at {}) cancelled by activity: {}{}",
                         rulePlan.eventNames[p.anchor.type()].name,
                         formatTimestamp(p.anchor.time()),
                         e.kind == Event::Kind::Undeclared ? e.name : anchorName(e), source);
    });
  }
  c.idle.clear();
}

std::string Engine::Impl::anchorName(const Event& e) const {
  return e.type < rulePlan.eventNames.size() ? rulePlan.eventNames[e.type].name : e.name;
}

// Whether `e` passes a reference's `same` list (compared with `anchor`) and filter.
bool Engine::Impl::refMatches(const plan::RefMatch& m, const Event& e, const Event* anchor,
                              const Customer* c) {
  static const Value kAbsent;
  if (anchor != nullptr) {
    for (const plan::SamePair& s : m.same) {
      const Value& mine = s.eventSlot < e.fields.size() ? e.fields[s.eventSlot] : kAbsent;
      const Value* theirs = &kAbsent;
      for (auto [type, slot] : s.anchorSlots)
        if (type == anchor->type) {
          if (slot < anchor->fields.size()) theirs = &anchor->fields[slot];
          break;
        }
      if (!core::compare(core::Op::Eq, mine, *theirs)) return false;
    }
  }
  if (m.filter == core::kNone) return true;
  EvalEnv env = ruleEnv(c, anchor ? *anchor : e);
  env.subject = &e;
  return eval.test(m.filter, env);
}

bool Engine::Impl::anyRefPasses(const plan::AnchorRule& a, const Customer* c, const Event& e) {
  for (const plan::AnchorRef& r : a.refs)
    if (r.filter == plan::kPasses ||
        (r.filter >= 0 ? filterResults[static_cast<size_t>(r.filter)] != 0
                       : refMatches(r.match, e, &e, c)))
      return true;
  return false;
}

// The rules `e` anchors. `c` is looked up here only when a rule anchors, if it was not already.
void Engine::Impl::anchors(EventCustomer& c, const Event& e) {
  const plan::EventPlan& p = rulePlan.events[e.type];
  const auto& filters = p.filters;
  if (!filters.empty()) {
    filterResults.assign(filters.size(), 0);
    filterIndex[e.type].candidates(e, candidateFilters);
    EvalEnv env = ruleEnv(c.found, e);
    env.subject = &e;
    eval.testSome(filters, candidateFilters, env, filterResults.data());
  } else {
    candidateFilters.clear();
  }
  const auto& rules = p.anchors;
  if (tracing(TraceEntry::Kind::AnchorFilter, c.id)) {
    // Every rule, so that the trace says which filters did not hold.
    for (const plan::AnchorRule& a : rules) {
      if (a.only >= 0 ? filterResults[static_cast<size_t>(a.only)] != 0
                      : a.only == plan::kPasses || anyRefPasses(a, c.found, e)) {
        anchored(need(c), a.rule, e);
        continue;
      }
      // The filter that did not hold is the last one tried.
      const Loc failed = a.refs.back().filterLoc;
      if (failed.valid())
        trace(TraceEntry::Kind::AnchorFilter, c.id, a.rule, failed, [&] {
          return fmt::format("{} is not an anchor: its filter did not hold", anchorName(e));
        });
    }
    return;
  }
  // Only the rules whose filter held and those without one, in declaration order.
  visit.assign(p.unfiltered.begin(), p.unfiltered.end());
  for (uint32_t f : candidateFilters)
    if (filterResults[f] != 0 && p.filterOwner[f] != plan::kNoOwner)
      visit.push_back(p.filterOwner[f]);
  if (visit.size() > 1) std::sort(visit.begin(), visit.end());
  for (uint32_t pos : visit) {
    const plan::AnchorRule& a = rules[pos];
    if (a.only == plan::kSeveral && !anyRefPasses(a, c.found, e)) continue;
    anchored(need(c), a.rule, e);
  }
}

// `e` is an anchor of rule `ri`: arm its idle timer, or evaluate it now.
void Engine::Impl::anchored(Customer& c, uint32_t ri, const Event& e) {
  if (opt.coverage) ++opt.coverage->ruleArmed[ri];
  if (rulePlan.rules[ri].idle) {
    arm(c, ri, e);
  } else {
    evaluate(c, ri, e, static_cast<int64_t>(e.seq));
  }
}

void Engine::Impl::arm(Customer& c, uint32_t ri, const Event& e) {
  const plan::Rule& rule = rulePlan.rules[ri];
  for (auto it = c.idle.begin(); it != c.idle.end(); ++it) {
    if (it->rule != ri) continue;
    timers.cancel(it->timer);
    trace(TraceEntry::Kind::Replaced, c.id, ri, rule.loc, [&] {
      return fmt::format("pending evaluation (anchor at {}) replaced by the newer anchor",
                         formatTimestamp(it->anchor.time()));
    });
    c.idle.erase(it);
    break;
  }
  Customer::Idle p;
  p.rule = ri;
  // The rules one event arms share its kept copy.
  for (const Customer::Idle& q : c.idle)
    if (q.anchor.holds(e)) {
      p.anchor = q.anchor;
      break;
    }
  if (p.anchor.empty()) p.anchor = state::KeptEvent(e);
  // A lane per rule: its one idle period after events in time order, so its timers come due in
  // the order they are armed (timer_queue.h).
  p.timer = timers.schedule(later(e.time, *rule.idle), Timer{Timer::Kind::Idle, &c, ri}, ri);
  trace(TraceEntry::Kind::Armed, c.id, ri, rule.loc, [&] {
    return fmt::format(
        "armed by {}: evaluates at {} unless there is activity before then (idle {})",
        anchorName(e), formatTimestamp(later(e.time, *rule.idle)), formatDuration(*rule.idle));
  });
  c.idle.push_back(std::move(p));
}

std::string Engine::Impl::conditionValues(const plan::Condition& cond, const EvalEnv& env) {
  if (cond.lhs == core::kNone) return "";  // not a comparison
  auto show = [](const Value& v) {
    return v.isAbsent() ? std::string("absent") : deliver::formatValue(v);
  };
  return fmt::format(" (left side {}, right side {})", show(eval.value(cond.lhs, env)),
                     show(eval.value(cond.rhs, env)));
}

// Evaluates the rule's conditions now (its anchor was just processed, or its idle period
// passed) and fires it when they hold.
void Engine::Impl::evaluate(Customer& c, uint32_t ri, const Event& anchor, int64_t firedAfterSeq) {
  const plan::Rule& rule = rulePlan.rules[ri];
  EvalEnv env = ruleEnv(c, anchor);
  for (const plan::Condition& cond : rule.conditions) {
    bool held = eval.test(cond.id, env);
    noteCondition(cond, held);
    if (!held) {
      if (tracing(TraceEntry::Kind::NotHeld, c.id))
        trace(TraceEntry::Kind::NotHeld, c.id, ri, cond.loc, [&] {
          return "did not fire: this condition did not hold" + conditionValues(cond, env);
        });
      return;
    }
  }
  for (const plan::Condition& u : rule.unless) {
    bool held = eval.test(u.id, env);
    noteCondition(u, held);
    if (held) {
      if (tracing(TraceEntry::Kind::UnlessHeld, c.id))
        trace(TraceEntry::Kind::UnlessHeld, c.id, ri, u.loc,
              [&] { return "did not fire: this `unless` held" + conditionValues(u, env); });
      return;
    }
  }
  fire(c, ri, anchor, firedAfterSeq);
}

Engine::Engine(plan::Plan plan, Evaluator& evaluator, EngineOptions options)
    : impl_(std::make_unique<Impl>(std::move(plan), evaluator, std::move(options))) {}
Engine::~Engine() = default;

void Engine::process(const Event& e) {
  impl_->process(e);
}

void Engine::advanceTo(TimeMs t, bool decisionsAtT) {
  impl_->runUntil(t, decisionsAtT);
  impl_->setNow(t);
}

void Engine::finish(std::optional<TimeMs> until) {
  impl_->runUntil(until.value_or(INT64_MAX - 1), true);
  impl_->flush();
}

TimeMs Engine::now() const {
  return impl_->now;
}
bool Engine::ignoresUndeclared() const {
  return impl_->rulePlan.settings.ignoreUndeclared;
}
void Engine::forEachFlow(
    const std::function<void(std::string_view customer, uint32_t rule, uint32_t step)>& f) const {
  impl_->customers.forEach([&](const Customer& c) {
    for (const auto& flow : c.flows)
      if (flow->state != Flow::State::Done) f(c.id, flow->rule, flow->stepsTaken);
  });
}

size_t Engine::pendingTimers() const {
  return impl_->timers.size() + impl_->decisions.size();
}
const Stats& Engine::stats() const {
  return impl_->stats;
}

}  // namespace trig::engine
