// The delivery policy's side of the engine: a firing and a send ask the chain of policies
// (runtime/policy/policy.h, registered in policies.cpp) at each moment, and the engine does what
// the answer says: a record, a deferral, a wait, a place in the customer's arbitration window.
// The window itself, its decision, and preemption after a send are here too.
#include "runtime/engine/engine_impl.h"

#include <fmt/format.h>

#include <algorithm>

namespace trig::engine {

// What a policy may know of the send in hand and its customer (runtime/policy/policy.h).
struct Engine::Impl::SendContext final : policy::Context {
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
  Reach reach() const override {
    const std::vector<Value>& traits = e.traitsOf(c);
    const size_t n = traits.size();
    const Value* sub = e.traitSubscribed < n ? &traits[e.traitSubscribed] : nullptr;
    const Value* email = e.traitEmail < n ? &traits[e.traitEmail] : nullptr;
    Reach r;
    r.unsubscribed = sub != nullptr && sub->kind == Value::Kind::Bool && !sub->b;
    r.hasEmail = email != nullptr && email->kind == Value::Kind::String && !email->s.empty();
    r.bounced = c.profile.bounced;
    return r;
  }
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

// The policy's word on a firing (the rule limit): false when a suppression stopped it.
bool Engine::Impl::mayFire(Customer& c, uint32_t ri) {
  if (!policies.asksAt(policy::Moment::Firing)) return true;  // no rule has a limit
  policy::Send s;
  s.moment = policy::Moment::Firing;
  s.now = now;
  s.rule = ri;
  s.step = 1;
  SendContext ctx(*this, c, nullptr);
  policy::Chain::Answer a = policies.check(s, ctx);
  // At a firing the only answer is a suppression: a firing is not a send that can wait.
  if (a.verdict.passes()) return true;
  const plan::Rule& rule = rulePlan.rules[ri];
  Record r;
  r.decision = Decision::Suppressed;
  r.reason = a.verdict.reason;
  r.customer = c.id;
  r.rule = ri;
  r.step = 1;
  auto [tmpl, variant] = describeStep(c, ri, rule.steps);
  r.templateName = tmpl;
  r.variant = variant;
  r.loc = a.verdict.loc != nullptr ? *a.verdict.loc : rule.loc;
  r.messageId = messageIdOf(ri, c.id, 1, now);
  r.detail = std::move(a.verdict.detail);
  emit(std::move(r));
  return false;
}

policy::Send Engine::Impl::policySend(const PendingSend& ps, policy::Moment moment) const {
  policy::Send s;
  s.moment = moment;
  s.now = now;
  s.rule = ps.flow->rule;
  s.step = ps.step;
  s.first = ps.first;
  s.templ = ps.templateIndex;
  s.templateName = ps.send->templateName;
  return s;
}

// A send becomes due now (first, or again after a deferral or a wait): the policies up to the
// arbitration have their say.
void Engine::Impl::becomeDue(PendingSend&& ps) {
  SendContext ctx(*this, *ps.flow->customer, &ps);
  policy::Chain::Answer a = policies.check(policySend(ps, policy::Moment::Due), ctx);
  apply(std::move(ps), policy::Moment::Due, a);
}

// The arbitration winner: the policies after the arbitration have their say, then it goes out.
void Engine::Impl::deliver(PendingSend&& ps) {
  if (ps.flow->state == Flow::State::Done) return;  // its flow ended while it waited
  SendContext ctx(*this, *ps.flow->customer, &ps);
  policy::Chain::Answer a = policies.check(policySend(ps, policy::Moment::Decision), ctx);
  apply(std::move(ps), policy::Moment::Decision, a);
}

// Does what the policy answered about `ps` at `moment`. A send every policy passes competes at
// its instant when it became due (as with a window of 0s), and goes out when it won.
void Engine::Impl::apply(PendingSend&& ps, policy::Moment moment, policy::Chain::Answer& a) {
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
      Record& r = sendRecord(ps, Decision::Deferred, Reason::None);
      r.until = v.until;
      r.detail = std::move(v.detail);
      emit(r);
      park(std::move(ps), Flow::State::Deferred, v.until);
      return;
    }
    case policy::Verdict::Kind::Await:
      trace(TraceEntry::Kind::StepDue, ps.flow->customer->id, ps.flow->rule, ps.send->loc, [&] {
        return fmt::format("{} (step {}) is due but {}: it waits until {}", ps.send->templateName,
                           ps.step, v.detail, formatTimestamp(v.until));
      });
      ps.awaitedBy = a.by;
      park(std::move(ps), Flow::State::Awaiting, v.until);
      return;
    case policy::Verdict::Kind::Compete: compete(std::move(ps), v.until); return;
  }
}

// The send waits, out of every window, until `until` (or, Awaiting, until profileChanged).
void Engine::Impl::park(PendingSend&& ps, Flow::State state, TimeMs until) {
  Flow& f = *ps.flow;
  f.state = state;
  f.timer = timers.schedule(
      until, Timer{state == Flow::State::Deferred ? Timer::Kind::Deferred : Timer::Kind::Await,
                   f.customer, f.rule});
  deferred[&f] = std::move(ps);
}

// The send joins the customer's arbitration window, or opens one that closes at `closes`.
void Engine::Impl::compete(PendingSend&& ps, TimeMs closes) {
  Flow& f = *ps.flow;
  Customer& c = *f.customer;
  f.state = Flow::State::InWindow;
  if (!c.window) {
    if (spareWindows.empty()) {
      c.window = std::make_unique<Customer::Window>();
    } else {
      c.window = std::move(spareWindows.back());
      spareWindows.pop_back();
    }
    c.window->closes = closes;
    decisions.schedule(c.window->closes, &c);
  }
  if (closes > now)
    trace(TraceEntry::Kind::StepDue, c.id, f.rule, ps.send->loc, [&] {
      return fmt::format("{} (step {}) is due: it competes in the arbitration window until {}",
                         ps.send->templateName, ps.step, formatTimestamp(c.window->closes));
    });
  c.window->members.push_back(std::move(ps));
}

policy::Arbitration::Contender Engine::Impl::contender(const PendingSend& ps) const {
  const Flow& f = *ps.flow;
  return {&f.priority, f.anchorTime, rulePlan.rules[f.rule].order, ps.step, ps.order};
}

// The arbitration window of `c` closes now: the winner goes on to the policies after the
// arbitration, every other member is outranked.
void Engine::Impl::decide(Customer& c) {
  if (!c.window) return;
  // The window is closed (a send decided now that competes opens a new one), and kept for reuse
  // once its members are decided.
  std::unique_ptr<Customer::Window> window = std::move(c.window);
  std::vector<PendingSend>& members = window->members;
  if (!members.empty()) {
    // Most windows hold one send, and std::stable_sort allocates its buffer even then.
    if (members.size() > 1)
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
  members.clear();
  if (spareWindows.size() < kSpares) spareWindows.push_back(std::move(window));
}

// The send goes out now.
void Engine::Impl::goOut(PendingSend&& ps) {
  Flow& f = *ps.flow;
  Customer& c = *f.customer;
  // The record is a reused slot (draft): its strings take these bytes without allocating.
  Record& r = sendRecord(ps, Decision::Send, Reason::None);
  r.to.assign(trait(c, traitEmail).s);
  r.subject.assign(ps.rendered.subject);
  r.body.assign(ps.rendered.body);
  // Their room goes to the spares, for the next sends to render into.
  keepRoom(ps.rendered.subject);
  if (!ps.rendered.body.empty()) keepRoom(ps.rendered.body);
  r.detail.assign("sent ").append(ps.send->templateName);
  emit(r);
  if (policies.hearsSends()) {
    SendContext ctx(*this, c, &ps);
    policies.sent(policySend(ps, policy::Moment::Decision), ctx);
  }
  const plan::Rule& rule = rulePlan.rules[f.rule];
  auto& rs = stats.rules[f.rule];
  ++rs.sends;
  if (ps.variant != nullptr) {
    ++rs.variants[*ps.variant].sends;
  } else {
    if (noVariantStats.empty()) noVariantStats.assign(stats.rules.size(), nullptr);
    Stats::PerVariant*& counts = noVariantStats[f.rule];
    if (counts == nullptr) counts = &rs.variants[std::string()];
    ++counts->sends;
  }
  if (opt.coverage) ++opt.coverage->ruleSent[f.rule];
  if (rule.hasGoal) watchGoalAfter(f, &ps.send->templateName, f.variant);
  preempt(c, f.priority, f.rule);
  decided(ps, false);
}

void Engine::Impl::keepRoom(std::string& text) {
  static const size_t kShort = std::string().capacity();  // the short-string buffer's
  if (text.capacity() > kShort && spareTexts.size() < kSpares)
    spareTexts.push_back(std::move(text));
}

// A send with priority p went out: the pending later steps it preempts are cancelled.
void Engine::Impl::preempt(Customer& c, const Value& p, uint32_t by) {
  std::vector<std::shared_ptr<Flow>> victims;
  for (auto& f : c.flows)
    if (policy::Arbitration::preempts(p, f->priority) && f->state != Flow::State::Running)
      victims.push_back(f);
  for (auto& f : victims)
    cancelFlow(*f, Reason::Preempted, policy::Arbitration::preemptedBy(ruleName(by), p));
}

// The send was decided (sent or suppressed) now: its flow goes on from here, except that a
// flow whose first send is outranked does not start.
void Engine::Impl::decided(const PendingSend& ps, bool outranked) {
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

// A customer's profile changed (an identify): the sends waiting for it whose policy is now
// ready become due again, to be rendered then.
void Engine::Impl::profileChanged(Customer& c) {
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
void Engine::Impl::awaitExpired(PendingSend&& ps) {
  SendContext ctx(*this, *ps.flow->customer, &ps);
  policy::Chain::Answer a{
      policies.at(ps.awaitedBy).expired(policySend(ps, policy::Moment::Due), ctx), ps.awaitedBy};
  if (a.verdict.passes())
    wake(std::move(ps));
  else
    apply(std::move(ps), policy::Moment::Due, a);
}

// An awaited send becomes due again, and is rendered then (what it waited for may be in it).
void Engine::Impl::wake(PendingSend&& ps) {
  ps.isRendered = false;
  becomeDue(std::move(ps));
}

// The send parked for the flow in `state` (a quiet-hours deferral, a wait for an address),
// taken out of the parking, its timer cancelled.
std::optional<PendingSend> Engine::Impl::takeParked(Flow& f, Flow::State state) {
  if (f.state != state) return std::nullopt;
  auto it = deferred.find(&f);
  if (it == deferred.end()) return std::nullopt;
  PendingSend ps = std::move(it->second);
  deferred.erase(it);
  timers.cancel(f.timer);
  f.timer = TimerHandle{};
  return ps;
}

// Renders the send's template: the variable that had no value, if any.
std::optional<policy::RenderGap> Engine::Impl::render(PendingSend& ps, deliver::RenderError& err) {
  Flow& f = *ps.flow;
  Customer& c = *f.customer;
  if (ps.templateIndex == core::kNone) return policy::RenderGap{true, {}, nullptr};
  EvalEnv env = flowEnv(f);
  const plan::Step& send = *ps.send;
  std::vector<Value> bindings;
  bindings.reserve(send.bindings.size());
  for (ExprId b : send.bindings) bindings.push_back(eval.value(b, env));
  // What each variable is was decided by sema (plan::SendVar): nothing is looked up by name.
  static const Value kAbsent;
  auto lookup = [&](const plan::Placeholder& p) -> const Value* {
    const plan::SendVar& v = send.vars[p.index];
    switch (v.kind) {
      case plan::SendVar::Kind::Binding: return &bindings[v.index];
      case plan::SendVar::Kind::Trait: return &trait(c, v.index);
      case plan::SendVar::Kind::AnchorField: {
        const Event& anchor = *env.anchor;  // flowEnv unpacked it once for this render
        for (const auto& [type, slot] : v.anchorSlots)
          if (type == anchor.type)
            return slot < anchor.fields.size() ? &anchor.fields[slot] : &kAbsent;
        return &kAbsent;
      }
      case plan::SendVar::Kind::None: break;
    }
    return nullptr;
  };
  if (!deliver::renderTemplate(rulePlan.templates[ps.templateIndex], lookup, ps.rendered, err,
                               opt.bodies ? deliver::Body::Render : deliver::Body::Check))
    return policy::RenderGap{false, err.variable, &err.loc};
  ps.isRendered = true;
  return std::nullopt;
}

}  // namespace trig::engine
