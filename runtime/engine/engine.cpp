#include "runtime/engine/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <deque>

#include "compiler/interp/ops.h"
#include "runtime/deliver/render.h"
#include "runtime/engine/filter_index.h"
#include "runtime/engine/id_table.h"
#include "runtime/engine/policies.h"
#include "runtime/ingest/dedup.h"
#include "runtime/policy/policy.h"
#include "runtime/policy/priority.h"
#include "runtime/policy/split.h"
#include "runtime/state/history.h"
#include "runtime/state/profile.h"
#include "runtime/state/retention.h"
#include "runtime/timers/later.h"
#include "runtime/timers/timer_queue.h"

namespace trig::engine {

const char* decisionName(Decision d) {
  switch (d) {
    case Decision::Send: return "send";
    case Decision::Suppressed: return "suppressed";
    case Decision::Deferred: return "deferred";
    case Decision::Dropped: return "dropped";
  }
  return "?";
}

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

namespace {

using timers::TimerHandle;
using StepList = std::vector<ast::Step>;

struct Customer;

// What the engine keeps of an anchor: what conditions and templates read (type, time, fields,
// input order), not the identity strings the customer's state already has.
Event anchorCopy(const Event& e) {
  Event a;
  a.kind = e.kind;
  a.type = e.type;
  a.time = e.time;
  a.seq = e.seq;
  a.fields = e.fields;
  return a;
}

using timers::later;

// One flow instance: a firing of a rule for a customer, walking its steps.
struct Flow {
  uint64_t id = 0;
  uint32_t rule = 0;
  Customer* customer = nullptr;
  TimeMs firedAt = 0;
  int64_t firedAfterSeq = -1;
  Event anchor;
  Value priority;               // the rule's priority, evaluated at the firing
  uint32_t stepsTaken = 0;      // steps reached (the record's `step`)
  bool anySendDecided = false;  // "a flow whose first send is outranked does not start"
  // The goal (spec section 5) is reached by its event within D after `goalSince`: the
  // instance's most recent send that went out, or its holdout point, or else its firing.
  TimeMs goalSince = 0;
  bool goalAfterMessage = false;  // goalSince is a send or a holdout point, not the firing
  std::string goalTemplate;       // that send's template (empty: a holdout point)
  std::string goalVariant;        // that send's variant, or the holdout variant
  std::string variant;
  // Where the flow stands: the step lists entered (the rule's, then a split variant's) and the
  // index of the next step in each.
  std::vector<std::pair<const StepList*, size_t>> pos;
  enum class State : uint8_t {
    Running,
    WaitingStep,
    InWindow,
    Deferred,
    Awaiting,
    Done
  } state = State::Running;
  TimerHandle timer;  // WaitingStep, Deferred, Awaiting
};

// A send on its way through the delivery policy.
struct PendingSend {
  std::shared_ptr<Flow> flow;
  uint32_t step = 0;
  const ast::Step* ast = nullptr;
  uint32_t templateIndex = sema::kNone;
  std::string variant;
  std::string messageId;
  deliver::RenderedTemplate rendered;
  bool isRendered = false;  // rendered when it became due, and not since waiting for an address
  size_t awaitedBy = 0;     // Awaiting: the policy that made it wait
  TimeMs dueAt = 0;
  uint64_t order = 0;
};

struct Customer {
  std::string_view id;  // the key of the table entry that holds the customer
  state::Profile profile;
  state::EventHistory history;
  struct Idle {
    uint32_t rule;
    Event anchor;
    TimerHandle timer;
  };
  std::vector<Idle> idle;
  std::vector<std::shared_ptr<Flow>> flows;  // active instances, at most one per rule
  struct Window {
    TimeMs opened = 0;
    TimeMs closes = 0;
    std::vector<PendingSend> members;
    TimerHandle timer;
  };
  std::unique_ptr<Window> window;  // while a send is due
  // What sends leave behind, allocated by the first send (or `limit` check): most customers of
  // an event stream never get one, and every member here costs each of them when inline.
  struct Sends {
    std::vector<std::unique_ptr<policy::CustomerMemory>> policies;  // by chain slot
    // The latest instance of each rule with a goal, while its goal can still be reached (its
    // steps may be over): at most one per rule, replaced by the next firing.
    std::vector<std::shared_ptr<Flow>> goalWatch;
  };
  std::unique_ptr<Sends> sends;
  Sends& sendState() {
    if (!sends) sends = std::make_unique<Sends>();
    return *sends;
  }
};

struct Timer {
  enum class Kind : uint8_t { Idle, Step, Deferred, Await } kind = Kind::Idle;
  Customer* customer = nullptr;
  uint32_t rule = 0;
};

}  // namespace

struct Engine::Impl {
  const sema::Model& model;
  Evaluator& eval;
  EngineOptions opt;
  state::RetentionPlan plan;
  std::vector<Value> defaults;
  ingest::Deduplicator dedup;
  policy::Chain policies;
  // Customers never move once added: timers and flows point at them (see id_table.h).
  IdTable<Customer> customers;
  timers::TimerQueue<Timer> timers;
  timers::TimerQueue<Customer*> decisions;
  std::vector<Record> buffer;
  Stats stats;
  std::array<uint64_t*, static_cast<size_t>(Reason::DuplicateContent) + 1> suppressedCount{};
  TimeMs now = INT64_MIN;
  uint64_t nextOrder = 0;
  uint64_t nextFlowId = 0;
  uint32_t traitEmail, traitSubscribed, traitTimezone;
  uint32_t unsubscribeEvent = sema::kNone;
  uint32_t bounceEvent = sema::kNone, bounceKindSlot = sema::kNone;
  // By event type: the rules it anchors and the rules whose goal it is, in declaration order
  // (an event looks only at its own rules, however many the program has).
  // An anchor rule's references to the event type, resolved once (the hot path of every event
  // does no look-up by name or by pointer).
  // A ref's `filter` is tested for all rules of the event type at once (Evaluator::testSome,
  // on the filters the event can pass by FilterIndex):
  // `filter` indexes that event type's AnchorFilters::exprs, kPasses when the ref has neither
  // a filter nor a `same` list, kGeneral when it needs refMatches.
  static constexpr int32_t kPasses = -1, kGeneral = -2;
  struct AnchorRef {
    const ast::EventRef* ref;
    int32_t filter;
  };
  static constexpr int32_t kSeveral = -3;
  struct AnchorRule {
    uint32_t rule;
    int32_t only;  // the filter of the rule's one ref to the type, or kSeveral: see refs
    std::vector<AnchorRef> refs;
  };
  std::vector<std::vector<AnchorRule>> anchorRules;
  std::vector<std::vector<const ast::Expr*>> anchorFilters;  // by event type
  std::vector<FilterIndex> filterIndex;                      // by event type, over anchorFilters
  std::vector<uint32_t> candidateFilters;
  std::vector<uint8_t> filterResults;
  // By event type: the position in anchorRules of the rule whose one ref has filter f (kNoOwner
  // for filters of rules with several refs), and the positions of the rules that are anchors
  // whatever the filters say or that need anyRefPasses. An event visits only these and the
  // owners of the filters that held.
  static constexpr uint32_t kNoOwner = UINT32_MAX;
  std::vector<std::vector<uint32_t>> filterOwner, unfiltered;
  std::vector<uint32_t> visit;
  std::vector<std::vector<uint32_t>> goalRules;

  Impl(const sema::Model& m, Evaluator& e, EngineOptions o)
      : model(m),
        eval(e),
        opt(std::move(o)),
        plan(state::RetentionPlan::build(m)),
        defaults(state::defaultTraits(m)),
        dedup(m.settings.dedup),
        policies(deliveryPolicy(m, opt.warn)) {
    traitEmail = m.traitIndex("email");
    traitSubscribed = m.traitIndex("subscribed");
    traitTimezone = m.traitIndex("timezone");
    if (auto it = m.eventByName.find("unsubscribe"); it != m.eventByName.end())
      unsubscribeEvent = it->second;
    if (auto it = m.eventByName.find("email_bounce"); it != m.eventByName.end()) {
      bounceEvent = it->second;
      bounceKindSlot = m.events[bounceEvent].fieldIndex("kind");
    }
    stats.rules.resize(m.rules.size());
    anchorRules.resize(m.events.size());
    anchorFilters.resize(m.events.size());
    goalRules.resize(m.events.size());
    for (uint32_t ri = 0; ri < m.rules.size(); ++ri) {
      const auto& r = m.rules[ri];
      if (r.rule == nullptr) continue;
      for (uint32_t ev : r.anchorEvents) {
        if (ev >= anchorRules.size() ||
            (!anchorRules[ev].empty() && anchorRules[ev].back().rule == ri))
          continue;
        AnchorRule a{ri, kSeveral, {}};
        for (const auto* ref : r.rule->anchor.events) {
          if (refEvent(*ref) != ev) continue;
          int32_t filter = kPasses;
          if (!ref->same.empty()) {
            filter = kGeneral;
          } else if (ref->filter != nullptr) {
            filter = static_cast<int32_t>(anchorFilters[ev].size());
            anchorFilters[ev].push_back(ref->filter);
          }
          a.refs.push_back(AnchorRef{ref, filter});
        }
        if (a.refs.empty()) continue;  // no ref names the type: never an anchor of it
        if (a.refs.size() == 1) a.only = a.refs[0].filter == kGeneral ? kSeveral : a.refs[0].filter;
        anchorRules[ev].push_back(std::move(a));
      }
      if (r.goalEvent && *r.goalEvent < goalRules.size() && r.rule->goal)
        goalRules[*r.goalEvent].push_back(ri);
    }
    for (uint32_t ev = 0; ev < anchorFilters.size(); ++ev)
      filterIndex.push_back(FilterIndex::build(m, ev, anchorFilters[ev]));
    filterOwner.resize(m.events.size());
    unfiltered.resize(m.events.size());
    for (uint32_t ev = 0; ev < anchorRules.size(); ++ev) {
      filterOwner[ev].assign(anchorFilters[ev].size(), kNoOwner);
      for (uint32_t pos = 0; pos < anchorRules[ev].size(); ++pos) {
        const AnchorRule& a = anchorRules[ev][pos];
        if (a.only >= 0)
          filterOwner[ev][static_cast<size_t>(a.only)] = pos;
        else
          unfiltered[ev].push_back(pos);
      }
    }
    if (opt.coverage) {
      opt.coverage->ruleArmed.resize(m.rules.size());
      opt.coverage->ruleFired.resize(m.rules.size());
      opt.coverage->ruleSent.resize(m.rules.size());
    }
  }

  // ---- clock -------------------------------------------------------------------------------

  void setNow(TimeMs t) {
    if (t > now) {
      flush();
      now = t;
    }
  }

  // Runs timers due at or before `t` and decisions due before `t` (or at `t` too).
  void runUntil(TimeMs t, bool decisionsAtT) {
    for (;;) {
      TimeMs tn = timers.nextTime(), td = decisions.nextTime();
      if (tn <= t && tn <= td) {
        TimeMs at;
        Timer tm = timers.pop(&at);
        setNow(at);
        fireTimer(tm);
        continue;
      }
      if (td < t || (decisionsAtT && td <= t)) {
        TimeMs at;
        Customer* c = decisions.pop(&at);
        setNow(at);
        decide(*c);
        continue;
      }
      break;
    }
  }

  // The records of the instant that ended, in output order. They are sorted by pointer (a
  // Record is a few hundred bytes), and most instants hold one record.
  std::vector<const Record*> ordered;
  void flush() {
    if (buffer.empty()) return;
    ordered.clear();
    for (const Record& r : buffer) ordered.push_back(&r);
    if (ordered.size() > 1)
      std::sort(ordered.begin(), ordered.end(), [this](const Record* a, const Record* b) {
        if (a->time != b->time) return a->time < b->time;
        if (a->customer != b->customer) return a->customer < b->customer;
        uint64_t ra = a->rule == sema::kNone ? 0 : model.rules[a->rule].order + 1ull;
        uint64_t rb = b->rule == sema::kNone ? 0 : model.rules[b->rule].order + 1ull;
        if (ra != rb) return ra < rb;
        if (a->step != b->step) return a->step < b->step;
        return a->order < b->order;  // unique: the sort is total, so stable
      });
    if (opt.sink)
      for (const Record* r : ordered) opt.sink(*r);
    buffer.clear();
  }

  // ---- records and tracing -----------------------------------------------------------------

  bool tracing(std::string_view customer) const {
    return opt.trace && (opt.traceCustomer.empty() || opt.traceCustomer == customer);
  }

  // `text` makes the sentence; it runs only when this customer is traced (formatting every
  // sentence for nobody cost 40% of the replay).
  template <typename MakeText>
  void trace(TraceEntry::Kind kind, std::string_view customer, uint32_t rule, Loc loc,
             MakeText&& text) {
    if (!tracing(customer)) return;
    TraceEntry t;
    t.kind = kind;
    t.time = now;
    t.customer = customer;
    t.rule = rule;
    t.loc = loc;
    t.text = text();
    opt.trace(t);
  }

  void emit(Record&& r) {
    r.order = nextOrder++;
    r.time = now;
    switch (r.decision) {
      case Decision::Send: ++stats.sends; break;
      case Decision::Deferred: ++stats.deferred; break;
      case Decision::Suppressed: {
        // The map's nodes stay put: each reason is looked up by name once.
        uint64_t*& count = suppressedCount[static_cast<size_t>(r.reason)];
        if (count == nullptr) count = &stats.suppressed[reasonName(r.reason)];
        ++*count;
        break;
      }
      case Decision::Dropped: break;
    }
    if (tracing(r.customer)) {
      TraceEntry t;
      t.kind = TraceEntry::Kind::Decision;
      t.time = now;
      t.customer = r.customer;
      t.rule = r.rule;
      t.loc = r.loc;
      t.text = r.detail;
      t.record = &r;
      opt.trace(t);
    }
    if (r.decision == Decision::Send || opt.explain) buffer.push_back(std::move(r));
  }

  const std::string& ruleName(uint32_t rule) const { return model.rules[rule].name; }

  void noteCondition(const ast::Expr& e, bool held) {
    if (opt.coverage) opt.coverage->conditions[e.id] |= held ? 1 : 2;
  }

  // ---- customers ----------------------------------------------------------------------------

  Customer& customer(const std::string& id) {
    bool added = false;
    auto& entry = customers.findOrAdd(id, &added);
    if (added) entry.value.id = entry.id;
    return entry.value;
  }

  Flow* activeFlow(Customer& c, uint32_t rule) {
    for (auto& f : c.flows)
      if (f->rule == rule) return f.get();
    return nullptr;
  }

  std::shared_ptr<Flow> activeFlowPtr(Customer& c, uint32_t rule) {
    for (auto& f : c.flows)
      if (f->rule == rule) return f;
    return nullptr;
  }

  TimeMs oldestFiring(const Customer& c) const {
    TimeMs t = INT64_MAX;
    for (const auto& f : c.flows) t = std::min(t, f->firedAt);
    return t;
  }

  // A customer shares the declared defaults until an identify (or an unsubscribe) changes a
  // trait: most customers of an event stream are never identified, and a row of defaults per
  // customer was half of the state of one who was not.
  const std::vector<Value>& traitsOf(const Customer& c) const {
    return c.profile.traits.empty() ? defaults : c.profile.traits;
  }
  std::vector<Value>& ownTraits(Customer& c) {
    if (c.profile.traits.empty()) c.profile.traits = defaults;
    return c.profile.traits;
  }

  const Value& trait(const Customer& c, uint32_t slot) const {
    static const Value kAbsent;
    const auto& traits = traitsOf(c);
    return slot < traits.size() ? traits[slot] : kAbsent;
  }

  EvalEnv ruleEnv(Customer& c, const Event& anchor) const {
    EvalEnv env;
    env.anchor = &anchor;
    env.traits = &traitsOf(c);
    env.history = &c.history;
    env.now = now;
    return env;
  }

  EvalEnv flowEnv(Flow& f) const {
    EvalEnv env = ruleEnv(*f.customer, f.anchor);
    env.firedAt = f.firedAt;
    env.firedAfterSeq = f.firedAfterSeq;
    return env;
  }

  // ---- events -------------------------------------------------------------------------------

  void process(const Event& e) {
    if (e.kind == Event::Kind::Undeclared && model.settings.ignoreUndeclared) return;
    runUntil(e.time, false);
    setNow(e.time);
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
                                   formatDuration(model.settings.dedup));
      emit(std::move(r));
      return;
    }
    ++stats.events;
    Customer& c = customer(e.customer);
    switch (e.kind) {
      case Event::Kind::Identify: {
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
        return;
      }
      case Event::Kind::Undeclared:
        ++stats.undeclared;
        trace(TraceEntry::Kind::Event, c.id, sema::kNone, Loc{}, [&] {
          return fmt::format("event '{}' ({}) is not declared: activity only", e.name,
                             e.source.str());
        });
        cancelIdle(c, e);
        return;
      case Event::Kind::Track: break;
    }
    if (e.type >= model.events.size()) return;
    const auto& info = model.events[e.type];
    trace(TraceEntry::Kind::Event, c.id, sema::kNone, Loc{}, [&] {
      return fmt::format("event {}{} ({})", info.name, info.passive ? " (passive)" : "",
                         e.source.str());
    });
    c.history.append(e, plan, oldestFiring(c));
    if (e.type == unsubscribeEvent && traitSubscribed != sema::kNone) {
      ownTraits(c)[traitSubscribed] = Value::boolean(false);
    }
    if (e.type == bounceEvent && hardBounce(e)) c.profile.bounced = true;
    if (!info.passive) cancelIdle(c, e);
    goals(c, e);
    anchors(c, e);
    pruneGoals(c);
  }

  // An `email_bounce` whose `kind` is "hard" or not sent; "soft" and any other kind are not.
  bool hardBounce(const Event& e) const {
    if (bounceKindSlot >= e.fields.size()) return true;
    const Value& kind = e.fields[bounceKindSlot];
    return kind.isAbsent() || (kind.kind == Value::Kind::String && kind.s == "hard");
  }

  void cancelIdle(Customer& c, const Event& e) {
    for (auto& p : c.idle) {
      timers.cancel(p.timer);
      trace(TraceEntry::Kind::Cancelled, c.id, p.rule, model.rules[p.rule].rule->loc, [&] {
        return fmt::format("pending evaluation (anchor {} at {}) cancelled by activity: {}",
                           anchorName(p.anchor), formatTimestamp(p.anchor.time),
                           e.kind == Event::Kind::Undeclared ? e.name : anchorName(e));
      });
    }
    c.idle.clear();
  }

  std::string anchorName(const Event& e) const {
    return e.type < model.events.size() ? model.events[e.type].name : e.name;
  }

  // Whether `e` passes the EventRef's `same` list and filter (anchor refs have only a filter).
  bool refMatches(const ast::EventRef& ref, const Event& e, const Event* anchor, Customer& c) {
    if (!ref.same.empty() && anchor != nullptr) {
      if (auto it = model.eventRefSame.find(&ref); it != model.eventRefSame.end()) {
        static const Value kAbsent;
        for (const auto& s : it->second) {
          const Value& mine = s.eventField < e.fields.size() ? e.fields[s.eventField] : kAbsent;
          const Value* theirs = &kAbsent;
          if (anchor->type < model.events.size()) {
            uint32_t idx = model.events[anchor->type].fieldIndex(s.anchorField);
            if (idx != sema::kNone && idx < anchor->fields.size()) theirs = &anchor->fields[idx];
          }
          if (!interp::compare(ast::Op::Eq, mine, *theirs)) return false;
        }
      }
    }
    if (ref.filter == nullptr) return true;
    EvalEnv env = ruleEnv(c, anchor ? *anchor : e);
    env.subject = &e;
    return eval.test(*ref.filter, env);
  }

  uint32_t refEvent(const ast::EventRef& ref) const {
    if (auto it = model.eventRefEvent.find(&ref); it != model.eventRefEvent.end())
      return it->second;
    if (const auto* info = model.findEvent(ref.name.text)) return info->index;
    return sema::kNone;
  }

  // Whether `e` is an anchor of a rule with several refs to its type (`(A(x) or A(y))`).
  bool anyRefPasses(const AnchorRule& a, Customer& c, const Event& e) {
    for (const auto& [ref, filter] : a.refs)
      if (filter == kPasses || (filter >= 0 ? filterResults[static_cast<size_t>(filter)] != 0
                                            : refMatches(*ref, e, &e, c)))
        return true;
    return false;
  }

  void anchors(Customer& c, const Event& e) {
    const auto& filters = anchorFilters[e.type];
    if (!filters.empty()) {
      filterResults.assign(filters.size(), 0);
      filterIndex[e.type].candidates(e, candidateFilters);
      EvalEnv env = ruleEnv(c, e);
      env.subject = &e;
      eval.testSome(filters, candidateFilters, env, filterResults.data());
    } else {
      candidateFilters.clear();
    }
    const auto& rules = anchorRules[e.type];
    if (tracing(c.id)) {
      // Every rule, so that the trace says which filters did not hold.
      for (const AnchorRule& a : rules) {
        if (a.only >= 0 ? filterResults[static_cast<size_t>(a.only)] != 0
                        : a.only == kPasses || anyRefPasses(a, c, e)) {
          anchored(c, a.rule, e);
          continue;
        }
        // The filter that did not hold is the last one tried.
        const ast::EventRef* failed = a.refs.back().ref;
        if (failed->filter != nullptr)
          trace(TraceEntry::Kind::AnchorFilter, c.id, a.rule, failed->filter->loc, [&] {
            return fmt::format("{} is not an anchor: its filter did not hold", anchorName(e));
          });
      }
      return;
    }
    // Only the rules whose filter held and those without one, in declaration order.
    visit.assign(unfiltered[e.type].begin(), unfiltered[e.type].end());
    for (uint32_t f : candidateFilters)
      if (filterResults[f] != 0 && filterOwner[e.type][f] != kNoOwner)
        visit.push_back(filterOwner[e.type][f]);
    if (visit.size() > 1) std::sort(visit.begin(), visit.end());
    for (uint32_t pos : visit) {
      const AnchorRule& a = rules[pos];
      if (a.only == kSeveral && !anyRefPasses(a, c, e)) continue;
      anchored(c, a.rule, e);
    }
  }

  // `e` is an anchor of rule `ri`: arm its idle timer, or evaluate it now.
  void anchored(Customer& c, uint32_t ri, const Event& e) {
    if (opt.coverage) ++opt.coverage->ruleArmed[ri];
    if (model.rules[ri].idle) {
      arm(c, ri, e);
    } else {
      evaluate(c, ri, e, static_cast<int64_t>(e.seq));
    }
  }

  void arm(Customer& c, uint32_t ri, const Event& e) {
    const auto& rule = model.rules[ri];
    for (auto it = c.idle.begin(); it != c.idle.end(); ++it) {
      if (it->rule != ri) continue;
      timers.cancel(it->timer);
      trace(TraceEntry::Kind::Replaced, c.id, ri, rule.rule->loc, [&] {
        return fmt::format("pending evaluation (anchor at {}) replaced by the newer anchor",
                           formatTimestamp(it->anchor.time));
      });
      c.idle.erase(it);
      break;
    }
    Customer::Idle p;
    p.rule = ri;
    p.anchor = anchorCopy(e);
    p.timer = timers.schedule(later(e.time, *rule.idle), Timer{Timer::Kind::Idle, &c, ri});
    trace(TraceEntry::Kind::Armed, c.id, ri, rule.rule->loc, [&] {
      return fmt::format(
          "armed by {}: evaluates at {} unless there is activity before then (idle {})",
          anchorName(e), formatTimestamp(later(e.time, *rule.idle)), formatDuration(*rule.idle));
    });
    c.idle.push_back(std::move(p));
  }

  std::string conditionValues(const ast::Expr& cond, const EvalEnv& env) {
    if (cond.kind != ast::ExprKind::Binary || cond.op == ast::Op::And || cond.op == ast::Op::Or)
      return "";
    if (cond.op == ast::Op::Add || cond.op == ast::Op::Sub || cond.op == ast::Op::Mul ||
        cond.op == ast::Op::Div)
      return "";
    auto show = [](const Value& v) {
      return v.isAbsent() ? std::string("absent") : deliver::formatValue(v);
    };
    return fmt::format(" (left side {}, right side {})", show(eval.value(*cond.lhs, env)),
                       show(eval.value(*cond.rhs, env)));
  }

  // Evaluates the rule's conditions now (its anchor was just processed, or its idle period
  // passed) and fires it when they hold.
  void evaluate(Customer& c, uint32_t ri, const Event& anchor, int64_t firedAfterSeq) {
    const auto& rule = model.rules[ri];
    EvalEnv env = ruleEnv(c, anchor);
    for (const auto* cond : rule.conditions) {
      bool held = eval.test(*cond, env);
      noteCondition(*cond, held);
      if (!held) {
        if (tracing(c.id))
          trace(TraceEntry::Kind::NotHeld, c.id, ri, cond->loc, [&] {
            return "did not fire: this condition did not hold" + conditionValues(*cond, env);
          });
        return;
      }
    }
    for (const auto* u : rule.unless) {
      bool held = eval.test(*u, env);
      noteCondition(*u, held);
      if (held) {
        if (tracing(c.id))
          trace(TraceEntry::Kind::UnlessHeld, c.id, ri, u->loc,
                [&] { return "did not fire: this `unless` held" + conditionValues(*u, env); });
        return;
      }
    }
    fire(c, ri, anchor, firedAfterSeq);
  }

  // The template and variant the step at `steps[index]` would send (splits resolved for `c`).
  std::pair<std::string, std::string> describeStep(const Customer& c, uint32_t ri,
                                                   const StepList& steps, size_t index) {
    if (index >= steps.size()) return {};
    const ast::Step& s = steps[index];
    if (s.action == ast::ActionKind::Send) return {s.templateName.text, ""};
    if (s.variants.empty()) return {};
    size_t v = policy::variantFor(opt.pins, c.id, ruleName(ri), s,
                                  policy::splitBucket(c.id, ruleName(ri), s.splitName.text));
    auto inner = describeStep(c, ri, s.variants[v].steps, 0);
    return {inner.first, s.variants[v].name.text};
  }

  void fire(Customer& c, uint32_t ri, const Event& anchor, int64_t firedAfterSeq) {
    const auto& rule = model.rules[ri];
    const ast::Rule& ar = *rule.rule;
    if (!mayFire(c, ri)) return;
    if (auto old = activeFlowPtr(c, ri))
      cancelFlow(*old, Reason::Restarted, "a new firing of the rule restarted its flow");
    ++stats.rules[ri].fired;
    if (opt.coverage) ++opt.coverage->ruleFired[ri];
    auto f = std::make_shared<Flow>();
    f->id = nextFlowId++;
    f->rule = ri;
    f->customer = &c;
    f->firedAt = now;
    f->firedAfterSeq = firedAfterSeq;
    f->anchor = anchorCopy(anchor);
    if (rule.priorityExpr != nullptr) {
      Value computed = eval.value(*rule.priorityExpr, ruleEnv(c, anchor));
      f->priority = policy::priorityOf(rule.priority, &computed);
    } else {
      f->priority = policy::priorityOf(rule.priority, nullptr);
    }
    f->pos.emplace_back(&ar.steps, 0);
    c.flows.push_back(f);
    watchGoal(f);
    trace(TraceEntry::Kind::Fired, c.id, ri, ar.loc, [&] {
      return fmt::format("fired (anchor {} at {})", anchorName(anchor),
                         formatTimestamp(anchor.time));
    });
    advance(f, now);
  }

  // The policy's word on a firing (the rule limit): false when a suppression stopped it.
  bool mayFire(Customer& c, uint32_t ri) {
    policy::Send s;
    s.moment = policy::Moment::Firing;
    s.now = now;
    s.rule = ri;
    s.step = 1;
    SendContext ctx(*this, c, nullptr);
    policy::Chain::Answer a = policies.check(s, ctx);
    // At a firing the only answer is a suppression: a firing is not a send that can wait.
    if (a.verdict.passes()) return true;
    const ast::Rule& ar = *model.rules[ri].rule;
    Record r;
    r.decision = Decision::Suppressed;
    r.reason = a.verdict.reason;
    r.customer = c.id;
    r.rule = ri;
    r.step = 1;
    auto [tmpl, variant] = describeStep(c, ri, ar.steps, 0);
    r.templateName = tmpl;
    r.variant = variant;
    r.loc = a.verdict.loc != nullptr ? *a.verdict.loc : ar.loc;
    r.messageId = messageId(ruleName(ri), c.id, 1, now);
    r.detail = std::move(a.verdict.detail);
    emit(std::move(r));
    return false;
  }

  // ---- flows --------------------------------------------------------------------------------

  void endFlow(Flow& f) {
    f.state = Flow::State::Done;
    timers.cancel(f.timer);
    auto& flows = f.customer->flows;
    std::erase_if(flows, [&](const std::shared_ptr<Flow>& x) { return x.get() == &f; });
  }

  // Walks the flow from `base` (the firing, or the decision of the previous send) to its next
  // pending step: schedules it, or runs it now when it has no `after`.
  void advance(const std::shared_ptr<Flow>& fp, TimeMs base) {
    Flow& f = *fp;
    for (;;) {
      if (f.state == Flow::State::Done) return;
      while (!f.pos.empty() && f.pos.back().second >= f.pos.back().first->size()) f.pos.pop_back();
      if (f.pos.empty()) {
        endFlow(f);
        return;
      }
      const ast::Step& s = (*f.pos.back().first)[f.pos.back().second];
      if (s.after) {
        f.state = Flow::State::WaitingStep;
        f.timer =
            timers.schedule(later(base, s.after->ms), Timer{Timer::Kind::Step, f.customer, f.rule});
        if (tracing(f.customer->id)) {
          auto [tmpl, variant] =
              describeStep(*f.customer, f.rule, *f.pos.back().first, f.pos.back().second);
          trace(TraceEntry::Kind::StepDue, f.customer->id, f.rule, s.loc, [&] {
            return fmt::format("step {} ({}) due at {} (after {})", f.stepsTaken + 1,
                               tmpl.empty() ? "split" : "send " + tmpl,
                               formatTimestamp(later(base, s.after->ms)),
                               formatDuration(s.after->ms));
          });
        }
        return;
      }
      if (!execute(fp, s)) return;
    }
  }

  // Runs the step now. True when the flow goes on at once (a split entered its variant).
  bool execute(const std::shared_ptr<Flow>& fp, const ast::Step& s) {
    Flow& f = *fp;
    f.state = Flow::State::Running;
    ++f.pos.back().second;
    if (s.action == ast::ActionKind::Split) {
      if (s.variants.empty()) return true;
      uint32_t bucket = policy::splitBucket(f.customer->id, ruleName(f.rule), s.splitName.text);
      size_t v = policy::variantFor(opt.pins, f.customer->id, ruleName(f.rule), s, bucket);
      f.variant = s.variants[v].name.text;
      if (opt.coverage) {
        ++opt.coverage->steps[&s];
        ++opt.coverage->variants[&s.variants[v]];
      }
      trace(TraceEntry::Kind::Variant, f.customer->id, f.rule, s.variants[v].loc, [&] {
        return fmt::format("split {}: bucket {} chooses variant {}", s.splitName.text, bucket,
                           f.variant);
      });
      if (s.variants[v].holdout) {
        holdout(f, s.variants[v]);
        return false;
      }
      f.pos.emplace_back(&s.variants[v].steps, 0);
      return true;
    }
    ++f.stepsTaken;
    if (opt.coverage) ++opt.coverage->steps[&s];
    PendingSend ps;
    ps.flow = fp;
    ps.step = f.stepsTaken;
    ps.ast = &s;
    ps.variant = f.variant;
    if (auto it = model.templateByName.find(s.templateName.text); it != model.templateByName.end())
      ps.templateIndex = it->second;
    ps.messageId = messageId(ruleName(f.rule), f.customer->id, ps.step, f.firedAt);
    ps.order = nextOrder++;
    becomeDue(std::move(ps));
    return false;
  }

  // The flow reached a `holdout` variant: the customer gets nothing from here on (not even the
  // steps after the split), and the goal counts from this point as a conversion of the variant.
  void holdout(Flow& f, const ast::Variant& v) {
    Record r;
    r.decision = Decision::Suppressed;
    r.reason = Reason::Holdout;
    r.customer = f.customer->id;
    r.rule = f.rule;
    r.step = f.stepsTaken + 1;
    r.variant = v.name.text;
    r.loc = v.loc;
    r.messageId = messageId(ruleName(f.rule), f.customer->id, r.step, f.firedAt);
    r.detail = fmt::format("variant {} is a holdout: no message from this point", v.name.text);
    emit(std::move(r));
    f.anySendDecided = true;
    ++stats.rules[f.rule].variants[v.name.text].heldOut;
    if (model.rules[f.rule].goalEvent) watchGoalAfter(f, "", v.name.text);
    endFlow(f);
  }

  void onStepTimer(Customer& c, uint32_t ri) {
    auto fp = activeFlowPtr(c, ri);
    if (!fp || fp->state != Flow::State::WaitingStep) return;
    Flow& f = *fp;
    f.timer = TimerHandle{};
    const ast::Step& s = (*f.pos.back().first)[f.pos.back().second];
    EvalEnv env = flowEnv(f);
    for (const auto* u : s.unless) {
      bool held = eval.test(*u, env);
      noteCondition(*u, held);
      if (!held) continue;
      if (opt.coverage) ++opt.coverage->steps[&s];
      ++f.pos.back().second;
      ++f.stepsTaken;
      auto [tmpl, variant] = describeStep(c, ri, *f.pos.back().first, f.pos.back().second - 1);
      Record r;
      r.decision = Decision::Suppressed;
      r.reason = Reason::Condition;
      r.customer = c.id;
      r.rule = ri;
      r.step = f.stepsTaken;
      r.templateName = tmpl;
      r.variant = variant.empty() ? f.variant : variant;
      r.loc = u->loc;
      r.messageId = messageId(ruleName(ri), c.id, r.step, f.firedAt);
      r.detail = "the step's `unless` held when it was due" + conditionValues(*u, env);
      f.anySendDecided = true;
      emit(std::move(r));
      advance(fp, now);
      return;
    }
    if (execute(fp, s)) advance(fp, now);
  }

  // Records the cancellation of the flow's pending step (if any) and ends the flow.
  void cancelFlow(Flow& f, Reason reason, const std::string& detail) {
    Customer& c = *f.customer;
    Record r;
    r.decision = Decision::Suppressed;
    r.reason = reason;
    r.customer = c.id;
    r.rule = f.rule;
    r.detail = detail;
    bool pending = true;
    switch (f.state) {
      case Flow::State::WaitingStep: {
        auto [tmpl, variant] = describeStep(c, f.rule, *f.pos.back().first, f.pos.back().second);
        r.step = f.stepsTaken + 1;
        r.templateName = tmpl;
        r.variant = variant.empty() ? f.variant : variant;
        r.loc = (*f.pos.back().first)[f.pos.back().second].loc;
        break;
      }
      case Flow::State::InWindow:
      case Flow::State::Deferred:
      case Flow::State::Awaiting: {
        PendingSend* ps = pendingSendOf(f);
        if (ps == nullptr) {
          pending = false;
          break;
        }
        r.step = ps->step;
        r.templateName = ps->ast->templateName.text;
        r.variant = ps->variant;
        r.loc = ps->ast->loc;
        if (f.state == Flow::State::InWindow)
          removeFromWindow(c, f);
        else
          deferred.erase(&f);
        break;
      }
      case Flow::State::Running:
      case Flow::State::Done: pending = false; break;
    }
    if (pending) {
      r.messageId = messageId(ruleName(f.rule), c.id, r.step, f.firedAt);
      emit(std::move(r));
    }
    endFlow(f);
  }

  // Parked sends (deferred, or awaiting a change of the customer's profile), by flow.
  std::unordered_map<const Flow*, PendingSend> deferred;

  PendingSend* pendingSendOf(Flow& f) {
    if (f.state == Flow::State::Deferred || f.state == Flow::State::Awaiting) {
      auto it = deferred.find(&f);
      return it == deferred.end() ? nullptr : &it->second;
    }
    if (f.state == Flow::State::InWindow && f.customer->window)
      for (auto& m : f.customer->window->members)
        if (m.flow.get() == &f) return &m;
    return nullptr;
  }

  void removeFromWindow(Customer& c, Flow& f) {
    if (!c.window) return;
    std::erase_if(c.window->members, [&](const PendingSend& m) { return m.flow.get() == &f; });
  }

  // ---- delivery policy ----------------------------------------------------------------------

  // What a policy may know of the send in hand and its customer (runtime/policy/policy.h).
  struct SendContext final : policy::Context {
    Impl& e;
    Customer& c;
    PendingSend* ps;  // null at a firing
    deliver::RenderError error;
    SendContext(Impl& engine, Customer& customer, PendingSend* send)
        : e(engine), c(customer), ps(send) {}

    bool unsubscribed() const override {
      const Value& sub = e.trait(c, e.traitSubscribed);
      return sub.kind == Value::Kind::Bool && !sub.b;
    }
    bool hasEmail() const override {
      const Value& email = e.trait(c, e.traitEmail);
      return email.kind == Value::Kind::String && !email.s.empty();
    }
    bool bounced() const override { return c.profile.bounced; }
    std::string_view timezone() const override {
      const Value& tz = e.trait(c, e.traitTimezone);
      return tz.kind == Value::Kind::String ? std::string_view(tz.s) : std::string_view();
    }
    std::optional<policy::RenderGap> render() override {
      if (ps == nullptr || ps->isRendered) return std::nullopt;
      return e.render(*ps, error);
    }
    policy::CustomerMemory* memory(size_t slot) override {
      if (!c.sends || slot >= c.sends->policies.size()) return nullptr;
      return c.sends->policies[slot].get();
    }
    policy::CustomerMemory& keep(size_t slot, std::unique_ptr<policy::CustomerMemory> m) override {
      auto& kept = c.sendState().policies;
      if (kept.size() <= slot) kept.resize(e.policies.size());
      kept[slot] = std::move(m);
      return *kept[slot];
    }
  };

  Record sendRecord(const PendingSend& ps, Decision d, Reason reason) {
    Flow& f = *ps.flow;
    Record r;
    r.decision = d;
    r.reason = reason;
    r.customer = f.customer->id;
    r.rule = f.rule;
    r.step = ps.step;
    r.templateName = ps.ast->templateName.text;
    r.variant = ps.variant;
    r.messageId = ps.messageId;
    r.loc = ps.ast->loc;
    return r;
  }

  // A customer's profile changed (an identify): the sends waiting for it whose policy is now
  // ready become due again, to be rendered then.
  void profileChanged(Customer& c) {
    std::vector<std::shared_ptr<Flow>> ready;
    for (auto& f : c.flows) {
      if (f->state != Flow::State::Awaiting) continue;
      auto it = deferred.find(f.get());
      if (it == deferred.end()) continue;
      SendContext ctx(*this, c, &it->second);
      if (policies.at(it->second.awaitedBy).ready(ctx)) ready.push_back(f);
    }
    for (auto& f : ready)
      if (auto ps = takeParked(*f, Flow::State::Awaiting)) wake(std::move(*ps));
  }

  // The wait of an awaited send ran out: the policy that made it wait says what becomes of it.
  void awaitExpired(PendingSend ps) {
    SendContext ctx(*this, *ps.flow->customer, &ps);
    policy::Chain::Answer a{
        policies.at(ps.awaitedBy).expired(policySend(ps, policy::Moment::Due), ctx), ps.awaitedBy};
    if (a.verdict.passes())
      wake(std::move(ps));
    else
      apply(std::move(ps), policy::Moment::Due, a);
  }

  // An awaited send becomes due again, and is rendered then (what it waited for may be in it).
  void wake(PendingSend ps) {
    ps.isRendered = false;
    becomeDue(std::move(ps));
  }

  // The send parked for the flow in `state` (a quiet-hours deferral, a wait for an address),
  // taken out of the parking, its timer cancelled.
  std::optional<PendingSend> takeParked(Flow& f, Flow::State state) {
    if (f.state != state) return std::nullopt;
    auto it = deferred.find(&f);
    if (it == deferred.end()) return std::nullopt;
    PendingSend ps = std::move(it->second);
    deferred.erase(it);
    timers.cancel(f.timer);
    f.timer = TimerHandle{};
    return ps;
  }

  void suppress(const PendingSend& ps, Reason reason, std::string detail, Loc loc = Loc{}) {
    Record r = sendRecord(ps, Decision::Suppressed, reason);
    r.detail = std::move(detail);
    if (loc.valid()) r.loc = loc;
    emit(std::move(r));
  }

  // Renders the send's template: the variable that had no value, if any.
  std::optional<policy::RenderGap> render(PendingSend& ps, deliver::RenderError& err) {
    Flow& f = *ps.flow;
    Customer& c = *f.customer;
    if (ps.templateIndex == sema::kNone) return policy::RenderGap{true, {}, nullptr};
    EvalEnv env = flowEnv(f);
    std::vector<std::pair<std::string, Value>> bindings;
    for (const auto& b : ps.ast->bindings)
      bindings.emplace_back(b.name.text, eval.value(*b.value, env));
    Value scratch;
    deliver::Lookup lookup = [&](const ast::Placeholder& p) -> const Value* {
      if (p.path.empty()) return nullptr;
      if (p.path.size() == 1) {
        for (const auto& [n, v] : bindings)
          if (n == p.path[0].text) return &v;
        scratch = anchorFieldByName(f.anchor, p.path[0].text);
        return &scratch;
      }
      if (p.path.size() == 2 && p.path[0].text == "customer") {
        uint32_t slot = model.traitIndex(p.path[1].text);
        if (slot != sema::kNone) return &trait(c, slot);
        return c.profile.extraTrait(p.path[1].text);
      }
      if (p.path.size() == 2) {
        // `{{ v.product_id }}`: the anchor named by its alias or event name.
        scratch = anchorFieldByName(f.anchor, p.path[1].text);
        return &scratch;
      }
      return nullptr;
    };
    if (!deliver::renderTemplate(model.templates[ps.templateIndex], lookup, ps.rendered, err))
      return policy::RenderGap{false, err.variable, &err.loc};
    ps.isRendered = true;
    return std::nullopt;
  }

  Value anchorFieldByName(const Event& anchor, const std::string& name) const {
    if (anchor.type >= model.events.size()) return Value::absent();
    uint32_t idx = model.events[anchor.type].fieldIndex(name);
    return idx != sema::kNone && idx < anchor.fields.size() ? anchor.fields[idx] : Value::absent();
  }

  policy::Send policySend(const PendingSend& ps, policy::Moment moment) const {
    policy::Send s;
    s.moment = moment;
    s.now = now;
    s.rule = ps.flow->rule;
    s.step = ps.step;
    s.templ = ps.templateIndex;
    s.templateName = ps.ast->templateName.text;
    return s;
  }

  // A send becomes due now (first, or again after a deferral or a wait): the policies up to the
  // arbitration have their say.
  void becomeDue(PendingSend ps) {
    ps.dueAt = now;
    SendContext ctx(*this, *ps.flow->customer, &ps);
    policy::Chain::Answer a = policies.check(policySend(ps, policy::Moment::Due), ctx);
    apply(std::move(ps), policy::Moment::Due, a);
  }

  // The arbitration winner: the policies after the arbitration have their say, then it goes out.
  void deliver(PendingSend ps) {
    if (ps.flow->state == Flow::State::Done) return;  // its flow ended while it waited
    SendContext ctx(*this, *ps.flow->customer, &ps);
    policy::Chain::Answer a = policies.check(policySend(ps, policy::Moment::Decision), ctx);
    apply(std::move(ps), policy::Moment::Decision, a);
  }

  // Does what the policy answered about `ps` at `moment`. A send every policy passes competes at
  // its instant when it became due (as with a window of 0s), and goes out when it won.
  void apply(PendingSend ps, policy::Moment moment, policy::Chain::Answer& a) {
    policy::Verdict& v = a.verdict;
    switch (v.kind) {
      case policy::Verdict::Kind::Pass:
        if (moment == policy::Moment::Decision)
          goOut(std::move(ps));
        else
          compete(std::move(ps), now);
        return;
      case policy::Verdict::Kind::Suppress:
        suppress(ps, v.reason, std::move(v.detail), v.loc != nullptr ? *v.loc : Loc{});
        decided(ps, false);
        return;
      case policy::Verdict::Kind::Defer: {
        Record r = sendRecord(ps, Decision::Deferred, Reason::None);
        r.until = v.until;
        r.detail = std::move(v.detail);
        emit(std::move(r));
        park(std::move(ps), Flow::State::Deferred, v.until);
        return;
      }
      case policy::Verdict::Kind::Await:
        trace(TraceEntry::Kind::StepDue, ps.flow->customer->id, ps.flow->rule, ps.ast->loc, [&] {
          return fmt::format("{} (step {}) is due but {}: it waits until {}",
                             ps.ast->templateName.text, ps.step, v.detail,
                             formatTimestamp(v.until));
        });
        ps.awaitedBy = a.by;
        park(std::move(ps), Flow::State::Awaiting, v.until);
        return;
      case policy::Verdict::Kind::Compete: compete(std::move(ps), v.until); return;
    }
  }

  // The send waits, out of every window, until `until` (or, Awaiting, until profileChanged).
  void park(PendingSend ps, Flow::State state, TimeMs until) {
    Flow& f = *ps.flow;
    f.state = state;
    f.timer = timers.schedule(
        until, Timer{state == Flow::State::Deferred ? Timer::Kind::Deferred : Timer::Kind::Await,
                     f.customer, f.rule});
    deferred[&f] = std::move(ps);
  }

  // The send joins the customer's arbitration window, or opens one that closes at `closes`.
  void compete(PendingSend ps, TimeMs closes) {
    Flow& f = *ps.flow;
    Customer& c = *f.customer;
    f.state = Flow::State::InWindow;
    if (!c.window) {
      c.window = std::make_unique<Customer::Window>();
      c.window->opened = now;
      c.window->closes = closes;
      c.window->timer = decisions.schedule(c.window->closes, &c);
    }
    if (closes > now)
      trace(TraceEntry::Kind::StepDue, c.id, f.rule, ps.ast->loc, [&] {
        return fmt::format("{} (step {}) is due: it competes in the arbitration window until {}",
                           ps.ast->templateName.text, ps.step, formatTimestamp(c.window->closes));
      });
    c.window->members.push_back(std::move(ps));
  }

  policy::Arbitration::Contender contender(const PendingSend& ps) const {
    const Flow& f = *ps.flow;
    return {&f.priority, f.anchor.time, model.rules[f.rule].order, ps.step, ps.order};
  }

  // The arbitration window of `c` closes now: the winner goes on to the policies after the
  // arbitration, every other member is outranked.
  void decide(Customer& c) {
    if (!c.window) return;
    std::vector<PendingSend> members = std::move(c.window->members);
    c.window.reset();
    if (members.empty()) return;
    std::stable_sort(members.begin(), members.end(),
                     [this](const PendingSend& a, const PendingSend& b) {
                       return policy::Arbitration::outranks(contender(a), contender(b));
                     });
    const PendingSend& winner = members.front();
    for (size_t i = 1; i < members.size(); ++i) {
      PendingSend& loser = members[i];
      suppress(loser, Reason::Outranked,
               policy::Arbitration::outrankedBy(ruleName(winner.flow->rule), winner.flow->priority,
                                                winner.step));
      decided(loser, true);
    }
    deliver(std::move(members.front()));
  }

  // The send goes out now.
  void goOut(PendingSend ps) {
    Flow& f = *ps.flow;
    Customer& c = *f.customer;
    Record r = sendRecord(ps, Decision::Send, Reason::None);
    r.to = trait(c, traitEmail).s;
    r.subject = ps.rendered.subject;
    r.body = ps.rendered.body;
    r.detail = fmt::format("sent {}", ps.ast->templateName.text);
    emit(std::move(r));
    SendContext ctx(*this, c, &ps);
    policies.sent(policySend(ps, policy::Moment::Decision), ctx);
    const auto& rule = model.rules[f.rule];
    auto& rs = stats.rules[f.rule];
    ++rs.sends;
    ++rs.variants[ps.variant].sends;
    if (opt.coverage) ++opt.coverage->ruleSent[f.rule];
    if (rule.goalEvent) watchGoalAfter(f, ps.ast->templateName.text, ps.variant);
    preempt(c, f.priority, f.rule);
    decided(ps, false);
  }

  // A send with priority p went out: the pending later steps it preempts are cancelled.
  void preempt(Customer& c, const Value& p, uint32_t by) {
    std::vector<std::shared_ptr<Flow>> victims;
    for (auto& f : c.flows)
      if (policy::Arbitration::preempts(p, f->priority) && f->state != Flow::State::Running)
        victims.push_back(f);
    for (auto& f : victims)
      cancelFlow(*f, Reason::Preempted, policy::Arbitration::preemptedBy(ruleName(by), p));
  }

  // The send was decided (sent or suppressed) now: its flow goes on from here, except that a
  // flow whose first send is outranked does not start.
  void decided(const PendingSend& ps, bool outranked) {
    std::shared_ptr<Flow> fp = ps.flow;
    Flow& f = *fp;
    if (f.state == Flow::State::Done) return;
    if (outranked && !f.anySendDecided) {
      endFlow(f);
      unwatchGoal(f);
      return;
    }
    f.anySendDecided = true;
    f.state = Flow::State::Running;
    advance(fp, now);
  }

  // ---- goals ------------------------------------------------------------------------------

  // The rule's goal now counts from this firing (a new instance replaces the watch of the old).
  void watchGoal(const std::shared_ptr<Flow>& fp) {
    Flow& f = *fp;
    if (!model.rules[f.rule].goalEvent) return;
    f.goalSince = f.firedAt;
    auto& watch = f.customer->sendState().goalWatch;
    std::erase_if(watch, [&](const std::shared_ptr<Flow>& w) { return w->rule == f.rule; });
    watch.push_back(fp);
  }

  // A send of the flow went out, or the flow reached a holdout point (empty `templ`), now: the
  // goal counts from here and converts that message (or holdout variant).
  void watchGoalAfter(Flow& f, const std::string& templ, const std::string& variant) {
    f.goalSince = now;
    f.goalAfterMessage = true;
    f.goalTemplate = templ;
    f.goalVariant = variant;
  }

  // A flow whose first send was outranked did not start: its goal watches nothing.
  void unwatchGoal(const Flow& f) {
    if (!f.customer->sends) return;
    std::erase_if(f.customer->sends->goalWatch,
                  [&](const std::shared_ptr<Flow>& w) { return w.get() == &f; });
  }

  // A goal event: for each rule whose goal it is, the customer's latest instance is reached when
  // `e` matches the goal within D after the instance's most recent send (or holdout point, or
  // firing while nothing went out). That is one conversion of the rule: of the send and its
  // variant, of the holdout variant, or of no message; and it ends the instance (pending steps
  // `converted`). An instance converts once.
  void goals(Customer& c, const Event& e) {
    if (!c.sends) return;
    for (uint32_t ri : goalRules[e.type]) {
      const auto& rule = model.rules[ri];
      auto& watch = c.sends->goalWatch;
      auto it = std::find_if(watch.begin(), watch.end(),
                             [&](const std::shared_ptr<Flow>& w) { return w->rule == ri; });
      if (it == watch.end()) continue;
      std::shared_ptr<Flow> fp = *it;
      Flow& f = *fp;
      if (e.time - f.goalSince > rule.goalWithin) continue;
      if (!refMatches(*rule.rule->goal->event, e, &f.anchor, c)) continue;
      watch.erase(it);
      auto& rs = stats.rules[ri];
      ++rs.conversions;
      if (f.goalAfterMessage)
        ++rs.variants[f.goalVariant].conversions;
      else
        ++rs.conversionsWithoutMessage;
      std::string what = !f.goalAfterMessage      ? std::string("the firing, before any send")
                         : f.goalTemplate.empty() ? "the holdout point of variant " + f.goalVariant
                                                  : "the send of " + f.goalTemplate;
      trace(TraceEntry::Kind::Conversion, c.id, ri, rule.rule->goal->loc, [&] {
        return fmt::format("goal reached: {} within {} after {} at {}{}", anchorName(e),
                           formatDuration(rule.goalWithin), what, formatTimestamp(f.goalSince),
                           f.goalAfterMessage && !f.goalTemplate.empty() && !f.goalVariant.empty()
                               ? " (variant " + f.goalVariant + ")"
                               : "");
      });
      if (f.state != Flow::State::Done)
        cancelFlow(f, Reason::Converted,
                   fmt::format("the goal was reached: {} within {} after {}", anchorName(e),
                               formatDuration(rule.goalWithin), what));
    }
  }

  // Forgets the instances whose goal can no longer be reached and whose steps are over.
  void pruneGoals(Customer& c) {
    if (!c.sends) return;
    std::erase_if(c.sends->goalWatch, [&](const std::shared_ptr<Flow>& w) {
      return w->state == Flow::State::Done && now - w->goalSince > model.rules[w->rule].goalWithin;
    });
  }

  // ---- timers -------------------------------------------------------------------------------

  void fireTimer(const Timer& t) {
    Customer& c = *t.customer;
    switch (t.kind) {
      case Timer::Kind::Idle: {
        auto it = std::find_if(c.idle.begin(), c.idle.end(),
                               [&](const Customer::Idle& p) { return p.rule == t.rule; });
        if (it == c.idle.end()) return;
        Event anchor = std::move(it->anchor);
        c.idle.erase(it);
        // A firing by a timer comes before every event stamped at its instant.
        evaluate(c, t.rule, anchor, -1);
        break;
      }
      case Timer::Kind::Step: onStepTimer(c, t.rule); break;
      case Timer::Kind::Deferred: {
        auto fp = activeFlowPtr(c, t.rule);
        if (!fp) return;
        if (auto ps = takeParked(*fp, Flow::State::Deferred)) becomeDue(std::move(*ps));
        break;
      }
      case Timer::Kind::Await: {
        auto fp = activeFlowPtr(c, t.rule);
        if (!fp) return;
        if (auto ps = takeParked(*fp, Flow::State::Awaiting)) awaitExpired(std::move(*ps));
        break;
      }
    }
    c.history.prune(now, plan, oldestFiring(c));
  }
};

Engine::Engine(const sema::Model& model, Evaluator& evaluator, EngineOptions options)
    : impl_(std::make_unique<Impl>(model, evaluator, std::move(options))) {}
Engine::~Engine() = default;

void Engine::process(const Event& e) {
  impl_->process(e);
}

void Engine::advanceTo(TimeMs t) {
  impl_->runUntil(t, true);
  impl_->setNow(t);
}

void Engine::finish(std::optional<TimeMs> until) {
  impl_->runUntil(until.value_or(INT64_MAX - 1), true);
  impl_->flush();
}

TimeMs Engine::now() const {
  return impl_->now;
}
size_t Engine::pendingTimers() const {
  return impl_->timers.size() + impl_->decisions.size();
}
const Stats& Engine::stats() const {
  return impl_->stats;
}

}  // namespace trig::engine
