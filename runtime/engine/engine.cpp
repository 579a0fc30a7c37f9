#include "runtime/engine/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <deque>

#include "compiler/core/ops.h"
#include "runtime/deliver/render.h"
#include "runtime/engine/filter_index.h"
#include "runtime/engine/id_table.h"
#include "runtime/ingest/dedup.h"
#include "runtime/policy/cooldown.h"
#include "runtime/policy/priority.h"
#include "runtime/policy/quiet_hours.h"
#include "runtime/policy/rolling.h"
#include "runtime/policy/split.h"
#include "runtime/state/history.h"
#include "runtime/state/profile.h"
#include "runtime/state/retention.h"
#include "runtime/timers/timer_queue.h"

namespace trig::engine {

const char* reasonName(Reason r) {
  switch (r) {
    case Reason::None: return "none";
    case Reason::OptedOut: return "opted_out";
    case Reason::NoEmail: return "no_email";
    case Reason::Bounced: return "bounced";
    case Reason::MissingData: return "missing_data";
    case Reason::RuleLimit: return "rule_limit";
    case Reason::Outranked: return "outranked";
    case Reason::Preempted: return "preempted";
    case Reason::Restarted: return "restarted";
    case Reason::Converted: return "converted";
    case Reason::Cooldown: return "cooldown";
    case Reason::FrequencyCap: return "frequency_cap";
    case Reason::Condition: return "condition";
    case Reason::Holdout: return "holdout";
    case Reason::DuplicateId: return "duplicate_message_id";
    case Reason::DuplicateContent: return "duplicate_content";
  }
  return "?";
}

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

// t + d, saturating: a due time past the end of representable time never wraps into the past.
TimeMs later(TimeMs t, DurationMs d) {
  TimeMs out;
  if (__builtin_add_overflow(t, d, &out)) return d > 0 ? INT64_MAX - 1 : INT64_MIN;
  return std::min<TimeMs>(out, INT64_MAX - 1);
}

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
    AwaitingEmail,
    Done
  } state = State::Running;
  TimerHandle timer;  // WaitingStep, Deferred, AwaitingEmail
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
    std::optional<policy::RollingWindow> cap;
    policy::Cooldown cooldown;
    std::vector<std::pair<uint32_t, policy::RollingWindow>> limits;  // first sends, by rule
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
  enum class Kind : uint8_t { Idle, Step, Deferred, AwaitEmail } kind = Kind::Idle;
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
  std::optional<policy::QuietHours> quiet;
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
        dedup(m.settings.dedup) {
    if (m.settings.quietHours)
      quiet.emplace(*m.settings.quietHours, [this](std::string_view zone) {
        if (opt.warn)
          opt.warn(fmt::format("unknown time zone '{}': quiet hours use UTC for it", zone));
      });
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
        emailArrived(c);
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
          if (!core::compare(ast::Op::Eq, mine, *theirs)) return false;
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
    if (ar.limit) {
      policy::RollingWindow& w = limitWindow(c, ri);
      if (!w.allows(now, ar.limit->count, ar.limit->per.ms)) {
        Record r;
        r.decision = Decision::Suppressed;
        r.reason = Reason::RuleLimit;
        r.customer = c.id;
        r.rule = ri;
        r.step = 1;
        auto [tmpl, variant] = describeStep(c, ri, ar.steps, 0);
        r.templateName = tmpl;
        r.variant = variant;
        r.loc = ar.limit->loc;
        r.messageId = messageId(rule.name, c.id, 1, now);
        r.detail =
            fmt::format("the rule already sent {} first message(s) to this customer within {}",
                        w.count(now, ar.limit->per.ms), formatDuration(ar.limit->per.ms));
        emit(std::move(r));
        return;
      }
    }
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

  policy::RollingWindow& limitWindow(Customer& c, uint32_t ri) {
    auto& limits = c.sendState().limits;
    for (auto& [r, w] : limits)
      if (r == ri) return w;
    limits.emplace_back(ri, policy::RollingWindow{});
    return limits.back().second;
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
    becomeDue(std::move(ps), true);
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
      case Flow::State::AwaitingEmail: {
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
      default: pending = false; break;
    }
    if (pending) {
      r.messageId = messageId(ruleName(f.rule), c.id, r.step, f.firedAt);
      emit(std::move(r));
    }
    endFlow(f);
  }

  // Sends waiting for quiet hours to end, by flow.
  std::unordered_map<const Flow*, PendingSend> deferred;

  PendingSend* pendingSendOf(Flow& f) {
    if (f.state == Flow::State::Deferred || f.state == Flow::State::AwaitingEmail) {
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

  // The opt-out rule (policy 1): never to a customer who unsubscribed, has no email, or whose
  // address hard bounced; unsubscribed comes first, whatever else holds.
  bool optedOut(const PendingSend& ps) {
    Customer& c = *ps.flow->customer;
    const Value& sub = trait(c, traitSubscribed);
    if (sub.kind == Value::Kind::Bool && !sub.b) {
      suppress(ps, Reason::OptedOut, "the customer is not subscribed");
      return true;
    }
    const Value& email = trait(c, traitEmail);
    if (email.kind != Value::Kind::String || email.s.empty()) {
      suppress(ps, Reason::NoEmail, "the customer has no email address");
      return true;
    }
    if (c.profile.bounced) {
      suppress(ps, Reason::Bounced, "the customer's email address hard bounced");
      return true;
    }
    return false;
  }

  bool hasEmail(const Customer& c) const {
    const Value& email = trait(c, traitEmail);
    return email.kind == Value::Kind::String && !email.s.empty();
  }

  // `await_email D`: a send that becomes due for a subscribed customer without an address waits
  // up to D (parked like a quiet-hours deferral); an identify that supplies one makes it due again
  // at that moment, and the timer at due + D suppresses it (`no_email`).
  bool awaitsEmail(PendingSend& ps) {
    Flow& f = *ps.flow;
    Customer& c = *f.customer;
    const Value& sub = trait(c, traitSubscribed);
    if (model.settings.awaitEmail <= 0 || hasEmail(c) || (sub.kind == Value::Kind::Bool && !sub.b))
      return false;
    TimeMs until = later(now, model.settings.awaitEmail);
    trace(TraceEntry::Kind::StepDue, c.id, f.rule, ps.ast->loc, [&] {
      return fmt::format(
          "{} (step {}) is due but the customer has no email address: it waits until {}",
          ps.ast->templateName.text, ps.step, formatTimestamp(until));
    });
    f.state = Flow::State::AwaitingEmail;
    f.timer = timers.schedule(until, Timer{Timer::Kind::AwaitEmail, &c, f.rule});
    deferred[&f] = std::move(ps);
    return true;
  }

  void emailArrived(Customer& c) {
    if (!hasEmail(c)) return;
    std::vector<std::shared_ptr<Flow>> waiting;
    for (auto& f : c.flows)
      if (f->state == Flow::State::AwaitingEmail) waiting.push_back(f);
    for (auto& f : waiting)
      if (auto ps = takeParked(*f, Flow::State::AwaitingEmail)) becomeDue(std::move(*ps), true);
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

  bool render(PendingSend& ps) {
    Flow& f = *ps.flow;
    Customer& c = *f.customer;
    if (ps.templateIndex == sema::kNone) {
      suppress(ps, Reason::MissingData,
               fmt::format("template '{}' does not exist", ps.ast->templateName.text));
      return false;
    }
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
    deliver::RenderError err;
    if (!deliver::renderTemplate(model.templates[ps.templateIndex], lookup, ps.rendered, err)) {
      suppress(ps, Reason::MissingData,
               fmt::format("template variable '{}' has no value and no default", err.variable),
               err.loc);
      return false;
    }
    return true;
  }

  Value anchorFieldByName(const Event& anchor, const std::string& name) const {
    if (anchor.type >= model.events.size()) return Value::absent();
    uint32_t idx = model.events[anchor.type].fieldIndex(name);
    return idx != sema::kNone && idx < anchor.fields.size() ? anchor.fields[idx] : Value::absent();
  }

  // A send becomes due now: opt-out, missing data, then it joins (or opens) the customer's
  // arbitration window. `fresh` is false for a send coming back after a quiet-hours deferral
  // (already rendered).
  void becomeDue(PendingSend ps, bool fresh) {
    Flow& f = *ps.flow;
    Customer& c = *f.customer;
    ps.dueAt = now;
    if (awaitsEmail(ps)) return;
    if (optedOut(ps) || (fresh && !render(ps))) {
      decided(ps, Reason::None);
      return;
    }
    f.state = Flow::State::InWindow;
    if (!c.window) {
      c.window = std::make_unique<Customer::Window>();
      c.window->opened = now;
      c.window->closes = later(now, model.settings.arbitration);
      c.window->timer = decisions.schedule(c.window->closes, &c);
    }
    if (model.settings.arbitration > 0)
      trace(TraceEntry::Kind::StepDue, c.id, f.rule, ps.ast->loc, [&] {
        return fmt::format("{} (step {}) is due: it competes in the arbitration window until {}",
                           ps.ast->templateName.text, ps.step, formatTimestamp(c.window->closes));
      });
    c.window->members.push_back(std::move(ps));
  }

  // The arbitration window of `c` closes now: the winner goes on through the cap and quiet
  // hours, every other member is outranked.
  void decide(Customer& c) {
    if (!c.window) return;
    std::vector<PendingSend> members = std::move(c.window->members);
    c.window.reset();
    if (members.empty()) return;
    std::stable_sort(
        members.begin(), members.end(), [this](const PendingSend& a, const PendingSend& b) {
          const auto& ra = model.rules[a.flow->rule];
          const auto& rb = model.rules[b.flow->rule];
          if (int p = policy::comparePriority(a.flow->priority, b.flow->priority); p != 0)
            return p > 0;
          if (a.flow->anchor.time != b.flow->anchor.time)
            return a.flow->anchor.time > b.flow->anchor.time;
          if (ra.order != rb.order) return ra.order < rb.order;
          if (a.step != b.step) return a.step < b.step;
          return a.order < b.order;
        });
    const PendingSend& winner = members.front();
    for (size_t i = 1; i < members.size(); ++i) {
      PendingSend& loser = members[i];
      suppress(loser, Reason::Outranked,
               fmt::format("outranked by {} (priority {}, step {})", ruleName(winner.flow->rule),
                           deliver::formatValue(winner.flow->priority), winner.step));
      decided(loser, Reason::Outranked);
    }
    deliver(std::move(members.front()));
  }

  // The arbitration winner: frequency cap, quiet hours, then it goes out.
  void deliver(PendingSend ps) {
    Flow& f = *ps.flow;
    Customer& c = *f.customer;
    if (f.state == Flow::State::Done) return;  // its flow ended while it waited
    if (optedOut(ps)) {
      decided(ps, Reason::None);
      return;
    }
    if (const auto& cooldown = model.settings.cooldown; cooldown && c.sends) {
      if (auto last = c.sends->cooldown.blocking(ps.templateIndex, now, *cooldown)) {
        suppress(ps, Reason::Cooldown,
                 fmt::format("{} was sent to the customer at {}, within the cooldown of {}",
                             ps.ast->templateName.text, formatTimestamp(*last),
                             formatDuration(*cooldown)));
        decided(ps, Reason::Cooldown);
        return;
      }
    }
    if (const auto& cap = model.settings.cap) {
      if (c.sends && c.sends->cap && !c.sends->cap->allows(now, cap->count, cap->per)) {
        suppress(ps, Reason::FrequencyCap,
                 fmt::format("the customer already got {} message(s) within {}",
                             c.sends->cap->count(now, cap->per), formatDuration(cap->per)));
        decided(ps, Reason::FrequencyCap);
        return;
      }
    }
    if (quiet) {
      const Value& tz = trait(c, traitTimezone);
      auto q = quiet->check(
          now, tz.kind == Value::Kind::String ? std::string_view(tz.s) : std::string_view());
      if (q.quiet) {
        Record r = sendRecord(ps, Decision::Deferred, Reason::None);
        r.until = q.until;
        r.detail = fmt::format("quiet hours: deferred until {}", formatTimestamp(q.until));
        emit(std::move(r));
        f.state = Flow::State::Deferred;
        f.timer = timers.schedule(q.until, Timer{Timer::Kind::Deferred, &c, f.rule});
        deferred[&f] = std::move(ps);
        return;
      }
    }
    Record r = sendRecord(ps, Decision::Send, Reason::None);
    r.to = trait(c, traitEmail).s;
    r.subject = ps.rendered.subject;
    r.body = ps.rendered.body;
    r.detail = fmt::format("sent {}", ps.ast->templateName.text);
    emit(std::move(r));
    const auto& rule = model.rules[f.rule];
    if (const auto& cap = model.settings.cap) {
      auto& window = c.sendState().cap;
      if (!window) window.emplace();
      window->record(now, cap->per, cap->count);
    }
    if (const auto& cooldown = model.settings.cooldown)
      c.sendState().cooldown.record(ps.templateIndex, now, *cooldown);
    if (ps.step == 1 && rule.rule->limit)
      limitWindow(c, f.rule).record(now, rule.rule->limit->per.ms, rule.rule->limit->count);
    auto& rs = stats.rules[f.rule];
    ++rs.sends;
    ++rs.variants[ps.variant].sends;
    if (opt.coverage) ++opt.coverage->ruleSent[f.rule];
    if (rule.goalEvent) watchGoalAfter(f, ps.ast->templateName.text, ps.variant);
    preempt(c, f.priority, f.rule);
    decided(ps, Reason::None);
  }

  // A send with priority p went out: pending later steps of lower-priority flows are cancelled.
  void preempt(Customer& c, const Value& p, uint32_t by) {
    std::vector<std::shared_ptr<Flow>> victims;
    for (auto& f : c.flows)
      if (policy::comparePriority(f->priority, p) < 0 && f->state != Flow::State::Running)
        victims.push_back(f);
    for (auto& f : victims)
      cancelFlow(*f, Reason::Preempted,
                 fmt::format("preempted by a send of {} (priority {})", ruleName(by),
                             deliver::formatValue(p)));
  }

  // The send was decided (sent or suppressed) now: its flow goes on from here, except that a
  // flow whose first send is outranked does not start.
  void decided(const PendingSend& ps, Reason outcome) {
    std::shared_ptr<Flow> fp = ps.flow;
    Flow& f = *fp;
    if (f.state == Flow::State::Done) return;
    if (outcome == Reason::Outranked && !f.anySendDecided) {
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
        if (auto ps = takeParked(*fp, Flow::State::Deferred)) becomeDue(std::move(*ps), false);
        break;
      }
      case Timer::Kind::AwaitEmail: {
        auto fp = activeFlowPtr(c, t.rule);
        if (!fp) return;
        if (auto ps = takeParked(*fp, Flow::State::AwaitingEmail)) {
          suppress(*ps, Reason::NoEmail,
                   fmt::format("the customer had no email address within {} (await_email)",
                               formatDuration(model.settings.awaitEmail)));
          decided(*ps, Reason::NoEmail);
        }
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
