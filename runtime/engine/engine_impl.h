#pragma once
// Inside the engine (engine.h is the outside): the state it keeps per customer and per flow, and
// Engine::Impl, whose work is split by responsibility, one file each:
//
//   engine.cpp     the public API, the indexes built from the rules, and the path of an event:
//                  deduplication, activity, anchors, idle timers, rule conditions
//   clock.cpp      the clock: timers and arbitration decisions in time order
//   customers.cpp  customers: their flows, traits and profile
//   flows.cpp      flows: a firing, its steps, splits and holdouts, cancellation
//   goals.cpp      goals: the conversions of a rule's instances
//   delivery.cpp   the delivery policy's side: a send asks the chain (policies.cpp) and does
//                  what it answers, arbitration windows, preemption
//   records.cpp    records: emitting, counting and ordering them
#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "compiler/core/event.h"
#include "compiler/plan/plan.h"
#include "runtime/deliver/render.h"
#include "runtime/engine/engine.h"
#include "runtime/engine/filter_index.h"
#include "runtime/engine/id_table.h"
#include "runtime/ingest/dedup.h"
#include "runtime/policy/policy.h"
#include "runtime/policy/priority.h"
#include "runtime/state/compact_vector.h"
#include "runtime/state/history.h"
#include "runtime/state/kept_event.h"
#include "runtime/state/profile.h"
#include "runtime/timers/later.h"
#include "runtime/timers/timer_queue.h"

namespace trig::engine {

using timers::TimerHandle;

struct Customer;

using timers::later;

// The step lists a flow entered, innermost last (the rule's own, then one per split reached),
// the subset of std::vector that Flow::pos uses. Most flows never enter a split: the first two
// lists are inline, and a firing allocates nothing for them.
class StepPath {
 public:
  bool empty() const { return size_ == 0; }
  plan::StepRange& back() { return size_ <= kInline ? inline_[size_ - 1] : deeper_.back(); }
  void push_back(plan::StepRange r) {
    if (size_ < kInline)
      inline_[size_] = r;
    else
      deeper_.push_back(r);
    ++size_;
  }
  void pop_back() {
    if (size_ > kInline) deeper_.pop_back();
    --size_;
  }

 private:
  static constexpr uint32_t kInline = 2;
  std::array<plan::StepRange, kInline> inline_{};
  uint32_t size_ = 0;
  std::vector<plan::StepRange> deeper_;  // past the first kInline
};

// One flow instance: a firing of a rule for a customer, walking its steps.
struct Flow {
  uint32_t rule = 0;
  Customer* customer = nullptr;
  TimeMs firedAt = 0;
  int64_t firedAfterSeq = -1;
  // The anchor: its kind, type, time and input order always; the whole event only when
  // something may read its fields after the firing (Engine::Impl::keepsAnchor), kept in cells
  // as an idle wait keeps its anchor (a million flows in flight hold a million anchors;
  // Engine::Impl::anchorOf unpacks one when a step reads it). While the firing runs,
  // `liveAnchor` is the event itself, which the first send renders from.
  Event::Kind anchorKind = Event::Kind::Track;
  uint32_t anchorType = core::kNone;
  TimeMs anchorTime = 0;
  uint64_t anchorSeq = 0;
  state::KeptEvent keptAnchor;  // empty unless keepsAnchor
  const Event* liveAnchor = nullptr;
  Value priority;               // the rule's priority, evaluated at the firing
  uint32_t stepsTaken = 0;      // steps reached (the record's `step`)
  bool anySendDecided = false;  // "a flow whose first send is outranked does not start"
  bool sendReached = false;     // a send step was reached: later ones are not first sends
  // The goal (spec section 5) is reached by its event within D after `goalSince`: the
  // instance's most recent send that went out, or its holdout point, or else its firing.
  TimeMs goalSince = 0;
  bool goalAfterMessage = false;  // goalSince is a send or a holdout point, not the firing
  // Names as the rules spell them (the engine's plan outlives its flows): pointers, not copies,
  // in a state a million customers may hold at once. Null: none.
  const std::string* goalTemplate = nullptr;  // that send's template (null: a holdout point)
  const std::string* goalVariant = nullptr;   // that send's variant, or the holdout variant
  const std::string* variant = nullptr;       // the variant of the innermost split reached
  static const std::string& nameOf(const std::string* s) {
    static const std::string kNone;
    return s != nullptr ? *s : kNone;
  }
  const std::string& variantName() const { return nameOf(variant); }
  const std::string& goalTemplateName() const { return nameOf(goalTemplate); }
  const std::string& goalVariantName() const { return nameOf(goalVariant); }
  // Where the flow stands: the step lists entered (the rule's, then a split variant's), each as
  // the index of its next step in plan::Plan::steps and the end of the list.
  StepPath pos;
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

// The blocks of flows that ended, for the next firings' (a flow and its shared_ptr's counts are
// one block: std::allocate_shared with FlowAllocator); a firing allocated and freed one.
struct FlowBlocks {
  static constexpr size_t kKept = 64;
  std::vector<void*> free;
  size_t size = 0;  // of each block (allocate_shared allocates one type)
  FlowBlocks() { free.reserve(kKept); }
  FlowBlocks(const FlowBlocks&) = delete;
  FlowBlocks& operator=(const FlowBlocks&) = delete;
  ~FlowBlocks() {
    for (void* p : free) ::operator delete(p);
  }
};

template <typename T>
struct FlowAllocator {
  using value_type = T;
  FlowBlocks* blocks;
  explicit FlowAllocator(FlowBlocks* b) : blocks(b) {}
  template <typename U>
  FlowAllocator(const FlowAllocator<U>& other) : blocks(other.blocks) {}  // NOLINT: rebinding
  T* allocate(size_t n) {
    if (n == 1 && sizeof(T) == blocks->size && !blocks->free.empty()) {
      void* p = blocks->free.back();
      blocks->free.pop_back();
      return static_cast<T*>(p);
    }
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) {
    if (n == 1 && (blocks->size == 0 || blocks->size == sizeof(T)) &&
        blocks->free.size() < FlowBlocks::kKept) {
      blocks->size = sizeof(T);
      blocks->free.push_back(p);
      return;
    }
    std::allocator<T>().deallocate(p, n);
  }
  friend bool operator==(const FlowAllocator& a, const FlowAllocator& b) {
    return a.blocks == b.blocks;
  }
};

// A message id as messageId() spells it ("trig-" and 16 hex digits), held without an allocation:
// a send carries one from its firing to its record.
struct MessageIdText {
  static constexpr size_t kSize = 21;
  std::array<char, kSize> text{};
  std::string_view view() const { return {text.data(), kSize}; }
};

// A send on its way through the delivery policy.
struct PendingSend {
  std::shared_ptr<Flow> flow;
  uint32_t step = 0;
  bool first = false;                // the flow's first send (policy::Send::first)
  const plan::Step* send = nullptr;  // the send step (its template, bindings and variables)
  uint32_t templateIndex = core::kNone;
  // The flow's variant when the send was reached (a name of the plan; null: none).
  const std::string* variant = nullptr;
  const std::string& variantName() const { return Flow::nameOf(variant); }
  MessageIdText messageId;
  deliver::RenderedTemplate rendered;
  bool isRendered = false;  // rendered when it became due, and not since waiting for an address
  size_t awaitedBy = 0;     // Awaiting: the policy that made it wait
  uint64_t order = 0;
};

// A customer's table entry: 72 bytes, most of them pointers that stay null for the usual
// customer of an event stream (seen once or twice, an idle wait armed and then fired or
// cancelled, never identified, never sent to): W3's ten million events make six million of
// them. What only some customers use lives out of line, allocated when first used: the profile's
// traits, the remembered events, the lists of pending waits and flows (which give their room
// back when emptied), the arbitration window, what sends leave behind.
struct Customer {
  TableId id;  // set by the table that holds the customer (its only copy of the id)
  state::EventHistory history;
  state::Profile profile;
  struct Idle {
    uint32_t rule;
    TimerHandle timer;
    // A million pending waits hold a million anchors: kept in cells, and once for the rules
    // one event arms (state/kept_event.h).
    state::KeptEvent anchor;
  };
  state::CompactVector<Idle> idle;
  state::CompactVector<std::shared_ptr<Flow>> flows;  // active instances, at most one per rule
  // Its decision is a timer of `decisions`, never cancelled: a window closes even when its
  // members left it.
  struct Window {
    TimeMs closes = 0;
    std::vector<PendingSend> members;
  };
  std::unique_ptr<Window> window;  // while a send is due
  // What sends leave behind, allocated by the first send (or the first policy memory): most
  // customers of an event stream never get one, and every member here costs each of them when
  // inline.
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
static_assert(sizeof(Customer) <= 72, "every byte here is paid by every customer: keep it small");

// The customer of the event being processed, looked up by the first use that needs it
// (Engine::Impl::need): an event of a type that needs nothing of its customer before a rule
// anchors (Engine::Impl::lazyTypes) looks nobody up unless one does. That look-up, a cache miss
// on the customer's entry, was the main cost of such an event.
struct EventCustomer {
  const std::string& id;
  Customer* found = nullptr;
};

// What a timer of `timers` does when due. 16 bytes (a million are pending in W3): the pointer
// first, so that the rule and the kind share its second word.
struct Timer {
  enum class Kind : uint8_t { Idle, Step, Deferred, Await };
  Timer() = default;
  Timer(Kind k, Customer* c, uint32_t r) : customer(c), rule(r), kind(k) {}
  Customer* customer = nullptr;
  uint32_t rule = 0;
  Kind kind = Kind::Idle;
};

struct Engine::Impl {
  // First: destroyed last, after every flow (customers, parked sends and windows hold them).
  FlowBlocks flowBlocks;
  // The program: by event type the rules it anchors (with their filters) and the rules whose
  // goal it is, in declaration order (an event looks only at its own rules, however many the
  // program has); the rules, their steps, the settings, what the policies, profiles and splits
  // read, as values and by index.
  const plan::Plan rulePlan;
  Evaluator& eval;
  EngineOptions opt;
  std::vector<Value> defaults;
  ingest::Deduplicator dedup;
  policy::Chain policies;
  // Customers never move once added: timers and flows point at them (see id_table.h).
  IdTable<Customer> customers;
  timers::TimerQueue<Timer> timers;
  timers::TimerQueue<Customer*> decisions;
  // The records of the instant so far: the first `kept` of `buffer`. The slots past them are
  // reused, with the room of their strings (a send's record allocates nothing once the engine
  // has run a while): see draft().
  std::vector<Record> buffer;
  size_t kept = 0;
  Stats stats;
  std::array<uint64_t*, static_cast<size_t>(Reason::DuplicateContent) + 1> suppressedCount{};
  TimeMs now = INT64_MIN;
  uint64_t nextOrder = 0;
  uint32_t traitEmail, traitSubscribed, traitTimezone;
  uint32_t unsubscribeEvent, bounceEvent, bounceKindSlot;
  std::vector<FilterIndex> filterIndex;  // by event type, over rulePlan's filters
  std::vector<uint32_t> candidateFilters;
  std::vector<uint8_t> filterResults;
  std::vector<uint32_t> visit;
  // By event type: 1 when an accepted Track event of the type needs nothing of its customer
  // before a rule anchors (needsCustomer), and process() looks the customer up only then.
  std::vector<uint8_t> lazyTypes;

  Impl(plan::Plan program, Evaluator& e, EngineOptions o);

  // ---- events (engine.cpp) -------------------------------------------------------------------
  void process(const Event& e);
  bool needsCustomer(uint32_t type) const;
  void track(Customer& c, const Event& e);
  void cancelIdle(Customer& c, const Event& e);
  std::string anchorName(const Event& e) const;
  bool refMatches(const plan::RefMatch& m, const Event& e, const Event* anchor, const Customer* c);
  bool anyRefPasses(const plan::AnchorRule& a, const Customer* c, const Event& e);
  void anchors(EventCustomer& c, const Event& e);
  void anchored(Customer& c, uint32_t ri, const Event& e);
  void arm(Customer& c, uint32_t ri, const Event& e);
  std::string conditionValues(const plan::Condition& cond, const EvalEnv& env);
  void evaluate(Customer& c, uint32_t ri, const Event& anchor, int64_t firedAfterSeq);

  // ---- clock and timers (clock.cpp) ----------------------------------------------------------
  void setNow(TimeMs t);
  void runUntil(TimeMs t, bool decisionsAtT);
  void fireTimer(const Timer& t);
  void prefetchIdle(uint32_t lane) const;
  Event idleAnchor;  // the anchor of the idle wait firing (fireTimer)

  // ---- customers (customers.cpp) -------------------------------------------------------------
  void identify(Customer& c, const Event& e);
  // Anonymous visitors (spec section 8): each anonymousId merged, and the user it went to. A
  // merge happens once per anonymous id; the map holds only ids that were merged.
  std::unordered_map<std::string, std::string> mergedInto;
  bool resolve(const Event& e, Event& user) const;
  void merge(Customer& user, const std::string& anonymousId);
  void endAnonymous(Customer& anon);
  bool adoptTraits(Customer& user, const Customer& anon);
  std::shared_ptr<Flow> activeFlow(Customer& c, uint32_t rule);
  std::vector<Value>& ownTraits(Customer& c);
  bool hardBounce(const Event& e) const;

  // The firing time of the customer's oldest active flow (INT64_MAX: none), which the history
  // keeps events for (every event asks).
  TimeMs oldestFiring(const Customer& c) const {
    TimeMs t = INT64_MAX;
    for (const auto& f : c.flows) t = std::min(t, f->firedAt);
    return t;
  }

  Customer& customer(const std::string& id) { return customers.findOrAdd(id); }
  Customer& need(EventCustomer& c) {
    if (c.found == nullptr) c.found = &customer(c.id);
    return *c.found;
  }

  // A customer shares the declared defaults until an identify (or an unsubscribe) changes a
  // trait: most customers of an event stream are never identified, and a row of defaults per
  // customer was half of the state of one who was not.
  const std::vector<Value>& traitsOf(const Customer& c) const {
    return c.profile.ownsTraits() ? c.profile.traits() : defaults;
  }

  const Value& trait(const Customer& c, uint32_t slot) const {
    static const Value kAbsent;
    const auto& traits = traitsOf(c);
    return slot < traits.size() ? traits[slot] : kAbsent;
  }

  EvalEnv ruleEnv(const Customer& c, const Event& anchor) const { return ruleEnv(&c, anchor); }
  // With no customer (not looked up: see EventCustomer), no traits and no history: for the
  // filters of a type whose filters read neither.
  EvalEnv ruleEnv(const Customer* c, const Event& anchor) const {
    EvalEnv env;
    env.anchor = &anchor;
    if (c != nullptr) {
      env.traits = &traitsOf(*c);
      env.history = &c->history;
    }
    env.now = now;
    return env;
  }

  // The flow's anchor as an Event: the live one during its firing, else its kept copy
  // unpacked into one scratch event (valid until the next call: read it, do not keep it); a
  // flow that kept no copy gives its kind, type, time and input order, with no fields.
  const Event& anchorOf(const Flow& f) const {
    if (f.liveAnchor != nullptr) return *f.liveAnchor;
    if (!f.keptAnchor.empty()) {
      f.keptAnchor.unpackInto(anchorScratch);
      return anchorScratch;
    }
    anchorScratch.kind = f.anchorKind;
    anchorScratch.type = f.anchorType;
    anchorScratch.time = f.anchorTime;
    anchorScratch.seq = f.anchorSeq;
    anchorScratch.fields.clear();
    return anchorScratch;
  }
  mutable Event anchorScratch;

  EvalEnv flowEnv(Flow& f) const {
    EvalEnv env = ruleEnv(*f.customer, anchorOf(f));
    env.firedAt = f.firedAt;
    env.firedAfterSeq = f.firedAfterSeq;
    return env;
  }

  // ---- flows (flows.cpp) ---------------------------------------------------------------------
  std::pair<std::string, std::string> describeStep(const Customer& c, uint32_t ri,
                                                   plan::StepRange steps);
  const plan::Step& step(uint32_t i) const { return rulePlan.steps[i]; }
  void fire(Customer& c, uint32_t ri, const Event& anchor, int64_t firedAfterSeq);
  void endFlow(Flow& f);
  void advance(const std::shared_ptr<Flow>& fp, TimeMs base);
  bool execute(const std::shared_ptr<Flow>& fp, const plan::Step& s);
  void holdout(Flow& f, const plan::Variant& v);
  void onStepTimer(Customer& c, uint32_t ri);
  void cancelFlow(Flow& f, Reason reason, const std::string& detail);
  PendingSend* pendingSendOf(Flow& f);
  void removeFromWindow(Customer& c, Flow& f);

  const std::string& ruleName(uint32_t rule) const { return rulePlan.rules[rule].name; }
  // messageId(ruleName(rule), customer, step, firedAt), the same bytes, with the rule's part of
  // the hash computed once per rule (a send's id is made at every firing).
  std::string messageIdOf(uint32_t rule, std::string_view customer, uint32_t step, TimeMs firedAt);
  MessageIdText messageIdTextOf(uint32_t rule, std::string_view customer, uint32_t step,
                                TimeMs firedAt);
  std::vector<uint64_t> ruleIdHash;  // by rule: FNV-1a-64 of "name\x1f", filled on first use
  // The decimal digits of the last firing time hashed (most ids of an instant share it).
  TimeMs idTime = INT64_MIN;
  std::array<char, 24> idTimeDigits{};
  size_t idTimeLength = 0;
  // Whether a flow of the rule may read its anchor's fields after the firing: a goal (its filter
  // may compare with the anchor), a step after the first, a first step that is not a send or
  // waits (`after`), or `await_email` (a send that waited for an address is rendered again).
  // Otherwise the one send is rendered while the firing runs, and the copy is not made.
  bool keepsAnchor(uint32_t rule);
  std::vector<uint8_t> keepsAnchor_;  // by rule: 0 unknown, 1 no, 2 yes

  // ---- goals (goals.cpp) ---------------------------------------------------------------------
  void watchGoal(const std::shared_ptr<Flow>& fp);
  void watchGoalAfter(Flow& f, const std::string* templ, const std::string* variant);
  void unwatchGoal(const Flow& f);
  void goals(Customer& c, const Event& e);
  void pruneGoals(Customer& c);

  // ---- delivery policy (delivery.cpp) --------------------------------------------------------
  struct SendContext;
  // A send is handed on by reference from its step to its window, and from its window to its
  // record (`PendingSend&&`: the callee may take it; the caller never reads it after): each copy
  // of its strings was a cost of every send.
  // Parked sends (deferred, or awaiting a change of the customer's profile), by flow.
  std::unordered_map<const Flow*, PendingSend> deferred;
  bool mayFire(Customer& c, uint32_t ri);
  policy::Send policySend(const PendingSend& ps, policy::Moment moment) const;
  void becomeDue(PendingSend&& ps);
  void deliver(PendingSend&& ps);
  void apply(PendingSend&& ps, policy::Moment moment, policy::Chain::Answer& a);
  void park(PendingSend&& ps, Flow::State state, TimeMs until);
  void compete(PendingSend&& ps, TimeMs closes);
  policy::Arbitration::Contender contender(const PendingSend& ps) const;
  void decide(Customer& c);
  void goOut(PendingSend&& ps);
  // Closed windows, each kept with its vector's room for the next send that opens one (a window
  // made and freed per send was two allocations); at most kSpares.
  std::vector<std::unique_ptr<Customer::Window>> spareWindows;
  // The room of subjects (and bodies) that went out into records, for the next sends to render
  // into (a subject past the short-string buffer was an allocation per send); at most kSpares.
  std::vector<std::string> spareTexts;
  static constexpr size_t kSpares = 16;
  void keepRoom(std::string& text);  // to spareTexts, when it has room past the short buffer
  void preempt(Customer& c, const Value& p, uint32_t by);
  void decided(const PendingSend& ps, bool outranked);
  // By rule: the counts of sends of no variant, the node of Stats::PerRule::variants[""] once a
  // send made it (a look-up by name per send otherwise).
  std::vector<Stats::PerVariant*> noVariantStats;
  void profileChanged(Customer& c);
  void awaitExpired(PendingSend&& ps);
  void wake(PendingSend&& ps);
  std::optional<PendingSend> takeParked(Flow& f, Flow::State state);
  std::optional<policy::RenderGap> render(PendingSend& ps, deliver::RenderError& err);

  // ---- records and tracing (records.cpp) -----------------------------------------------------
  // The records of the instant that ended, in output order (see flush).
  std::vector<const Record*> ordered;
  void flush();
  // A record to fill and emit: the next free slot of `buffer`, emptied, its strings' room kept.
  // Emit it (emit(Record&)) before the next draft.
  Record& draft();
  void emit(Record& r);  // a draft
  void emit(Record&& r);
  Record& sendRecord(const PendingSend& ps, Decision d, Reason reason);
  void suppress(const PendingSend& ps, Reason reason, std::string detail, Loc loc = Loc{});

  bool tracing(std::string_view customer) const {
    return opt.trace && (opt.traceCustomer.empty() || opt.traceCustomer == customer);
  }
  bool tracing(TraceEntry::Kind kind, std::string_view customer) const {
    return (opt.traceKinds >> static_cast<unsigned>(kind) & 1u) != 0 && tracing(customer);
  }

  // `text` makes the sentence; it runs only when this customer is traced (formatting every
  // sentence for nobody cost 40% of the replay).
  template <typename MakeText>
  void trace(TraceEntry::Kind kind, std::string_view customer, uint32_t rule, Loc loc,
             MakeText&& text) {
    if (!tracing(kind, customer)) return;
    TraceEntry t;
    t.kind = kind;
    t.time = now;
    t.customer = customer;
    t.rule = rule;
    t.loc = loc;
    t.text = text();
    opt.trace(t);
  }

  void noteCondition(const plan::Condition& e, bool held) {
    if (opt.coverage) opt.coverage->conditions[e.id] |= held ? 1 : 2;
  }
};

}  // namespace trig::engine
