// Flows: a firing starts an instance of the rule's steps; each step is scheduled after the one
// before, a split enters its variant, a send goes to the delivery policy (delivery.cpp), and a
// flow can be cancelled (restarted, preempted, converted).
#include "runtime/engine/engine_impl.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "runtime/policy/split.h"

namespace trig::engine {

namespace {
// "00" to "99": decimal digits written two at a time.
constexpr auto kDecimalPairs = [] {
  std::array<char, 200> t{};
  for (size_t n = 0; n < 100; ++n) {
    t[2 * n] = static_cast<char>('0' + n / 10);
    t[2 * n + 1] = static_cast<char>('0' + n % 10);
  }
  return t;
}();
}  // namespace

MessageIdText Engine::Impl::messageIdTextOf(uint32_t rule, std::string_view customer, uint32_t step,
                                            TimeMs firedAt) {
  if (ruleIdHash.size() != rulePlan.rules.size()) {
    ruleIdHash.clear();
    for (const plan::Rule& r : rulePlan.rules)
      ruleIdHash.push_back(
          policy::fnvAppend(policy::fnvAppend(policy::kFnvOffset, r.name), "\x1f"));
  }
  // FNV-1a-64 of "rule\x1fcustomer\x1fstep\x1ffiredAt", as messageId (engine.cpp) hashes it.
  uint64_t h = ruleIdHash[rule];
  auto mix = [&h](const char* p, const char* end) {
    for (; p < end; ++p) h = (h ^ static_cast<unsigned char>(*p)) * 0x100000001b3ULL;
  };
  static constexpr char kSep = '\x1f';
  mix(customer.data(), customer.data() + customer.size());
  mix(&kSep, &kSep + 1);
  if (step < 10) {
    const char digit = static_cast<char>('0' + step);
    mix(&digit, &digit + 1);
  } else {
    char digits[12];  // a uint32_t in decimal
    mix(digits, std::to_chars(digits, digits + sizeof digits, step).ptr);
  }
  mix(&kSep, &kSep + 1);
  if (firedAt != idTime) {
    // Firings come in time order: most share all but the last six digits with the one before
    // (a thousand seconds), and only those are written again.
    constexpr int64_t kLow = 1'000'000;
    if (firedAt >= kLow && idTime >= kLow && firedAt / kLow == idTime / kLow) {
      auto low = static_cast<uint32_t>(firedAt % kLow);
      char* q = idTimeDigits.data() + idTimeLength;
      for (int i = 0; i < 3; ++i, low /= 100) {
        q -= 2;
        std::memcpy(q, &kDecimalPairs[2 * (low % 100)], 2);
      }
    } else {
      idTimeLength = static_cast<size_t>(
          std::to_chars(idTimeDigits.data(), idTimeDigits.data() + idTimeDigits.size(), firedAt)
              .ptr -
          idTimeDigits.data());
    }
    idTime = firedAt;
  }
  mix(idTimeDigits.data(), idTimeDigits.data() + idTimeLength);
  MessageIdText id;
  std::memcpy(id.text.data(), "trig-", 5);
  // The hash's 16 hex digits, most significant first, a byte (two digits) at a time.
  static constexpr auto kHexPairs = [] {
    std::array<char, 512> t{};
    for (size_t b = 0; b < 256; ++b) {
      t[2 * b] = "0123456789abcdef"[b >> 4];
      t[2 * b + 1] = "0123456789abcdef"[b & 15];
    }
    return t;
  }();
  for (size_t i = MessageIdText::kSize; i > 5; i -= 2, h >>= 8)
    std::memcpy(&id.text[i - 2], &kHexPairs[2 * (h & 0xff)], 2);
  return id;
}

std::string Engine::Impl::messageIdOf(uint32_t rule, std::string_view customer, uint32_t step,
                                      TimeMs firedAt) {
  return std::string(messageIdTextOf(rule, customer, step, firedAt).view());
}

// The template and variant the first step of `steps` would send (splits resolved for `c`).
std::pair<std::string, std::string> Engine::Impl::describeStep(const Customer& c, uint32_t ri,
                                                               plan::StepRange steps) {
  if (steps.empty()) return {};
  const plan::Step& s = step(steps.first);
  if (s.kind == plan::Step::Kind::Send) return {s.templateName, ""};
  if (s.variants.empty()) return {};
  const plan::SplitArms& arms = s.arms;
  size_t v = policy::variantFor(opt.pins, c.id, ruleName(ri), arms.name, arms.variants,
                                arms.percents, policy::splitBucket(c.id, ruleName(ri), arms.name));
  auto inner = describeStep(c, ri, s.variants[v].steps);
  return {inner.first, s.variants[v].name};
}

void Engine::Impl::fire(Customer& c, uint32_t ri, const Event& anchor, int64_t firedAfterSeq) {
  const plan::Rule& rule = rulePlan.rules[ri];
  if (!mayFire(c, ri)) return;
  if (auto old = activeFlow(c, ri))
    cancelFlow(*old, Reason::Restarted, "a new firing of the rule restarted its flow");
  ++stats.rules[ri].fired;
  if (opt.coverage) ++opt.coverage->ruleFired[ri];
  auto f = std::allocate_shared<Flow>(FlowAllocator<Flow>(&flowBlocks));
  f->rule = ri;
  f->customer = &c;
  f->firedAt = now;
  f->firedAfterSeq = firedAfterSeq;
  f->anchorKind = anchor.kind;
  f->anchorType = anchor.type;
  f->anchorTime = anchor.time;
  f->anchorSeq = anchor.seq;
  if (keepsAnchor(ri)) f->keptAnchor = state::KeptEvent(anchor);
  f->liveAnchor = &anchor;
  if (rule.priorityExpr != core::kNone) {
    Value computed = eval.value(rule.priorityExpr, ruleEnv(c, anchor));
    policy::assignPriority(f->priority, rule.priority, &computed);
  } else {
    policy::assignPriority(f->priority, rule.priority, nullptr);
  }
  f->pos.push_back(rule.steps);
  c.flows.push_back(f);
  watchGoal(f);
  trace(TraceEntry::Kind::Fired, c.id, ri, rule.loc, [&] {
    return fmt::format("fired (anchor {} at {})", anchorName(anchor), formatTimestamp(anchor.time));
  });
  advance(f, now);
  f->liveAnchor = nullptr;
}

bool Engine::Impl::keepsAnchor(uint32_t ri) {
  if (keepsAnchor_.size() != rulePlan.rules.size()) keepsAnchor_.assign(rulePlan.rules.size(), 0);
  uint8_t& known = keepsAnchor_[ri];
  if (known == 0) {
    const plan::Rule& rule = rulePlan.rules[ri];
    const plan::StepRange steps = rule.steps;
    const bool oneSend = steps.size() == 1 && step(steps.first).kind == plan::Step::Kind::Send &&
                         !step(steps.first).after && step(steps.first).unless.empty();
    known = !oneSend || rule.hasGoal || rulePlan.settings.awaitEmail > 0 ? 2 : 1;
  }
  return known == 2;
}

void Engine::Impl::endFlow(Flow& f) {
  f.state = Flow::State::Done;
  timers.cancel(f.timer);
  auto& flows = f.customer->flows;
  flows.eraseIf([&](const std::shared_ptr<Flow>& x) { return x.get() == &f; });
}

// Walks the flow from `base` (the firing, or the decision of the previous send) to its next
// pending step: schedules it, or runs it now when it has no `after`.
void Engine::Impl::advance(const std::shared_ptr<Flow>& fp, TimeMs base) {
  Flow& f = *fp;
  for (;;) {
    if (f.state == Flow::State::Done) return;
    while (!f.pos.empty() && f.pos.back().empty()) f.pos.pop_back();
    if (f.pos.empty()) {
      endFlow(f);
      return;
    }
    const plan::Step& s = step(f.pos.back().first);
    if (s.after) {
      f.state = Flow::State::WaitingStep;
      f.timer =
          timers.schedule(later(base, *s.after), Timer{Timer::Kind::Step, f.customer, f.rule});
      if (tracing(TraceEntry::Kind::StepDue, f.customer->id)) {
        auto [tmpl, variant] = describeStep(*f.customer, f.rule, f.pos.back());
        trace(TraceEntry::Kind::StepDue, f.customer->id, f.rule, s.loc, [&] {
          return fmt::format("step {} ({}) due at {} (after {})", f.stepsTaken + 1,
                             tmpl.empty() ? "split" : "send " + tmpl,
                             formatTimestamp(later(base, *s.after)), formatDuration(*s.after));
        });
      }
      return;
    }
    if (!execute(fp, s)) return;
  }
}

// Runs the step now. True when the flow goes on at once (a split entered its variant).
bool Engine::Impl::execute(const std::shared_ptr<Flow>& fp, const plan::Step& s) {
  Flow& f = *fp;
  f.state = Flow::State::Running;
  ++f.pos.back().first;
  if (s.kind == plan::Step::Kind::Split) {
    // A split is a step of its own: its variant's first step is the split's step + 1
    // (docs/language.md, "Steps and flows").
    ++f.stepsTaken;
    if (s.variants.empty()) return true;
    const plan::SplitArms& arms = s.arms;
    uint32_t bucket = policy::splitBucket(f.customer->id, ruleName(f.rule), arms.name);
    size_t v = policy::variantFor(opt.pins, f.customer->id, ruleName(f.rule), arms.name,
                                  arms.variants, arms.percents, bucket);
    f.variant = &s.variants[v].name;
    if (opt.coverage) {
      ++opt.coverage->steps[s.id];
      ++opt.coverage->variants[Coverage::variantKey(s.id, v)];
    }
    trace(TraceEntry::Kind::Variant, f.customer->id, f.rule, s.variants[v].loc, [&] {
      return fmt::format("split {}: bucket {} chooses variant {}", arms.name, bucket,
                         f.variantName());
    });
    if (s.variants[v].holdout) {
      holdout(f, s.variants[v]);
      return false;
    }
    f.pos.push_back(s.variants[v].steps);
    return true;
  }
  ++f.stepsTaken;
  if (opt.coverage) ++opt.coverage->steps[s.id];
  PendingSend ps;
  ps.flow = fp;
  ps.step = f.stepsTaken;
  ps.first = !f.sendReached;
  f.sendReached = true;
  ps.send = &s;
  ps.variant = f.variant;
  ps.templateIndex = s.templateIndex;
  ps.messageId = messageIdTextOf(f.rule, f.customer->id, ps.step, f.firedAt);
  ps.order = nextOrder++;
  // The room of texts that went out, for this send's to render into.
  for (std::string* room : {&ps.rendered.subject, &ps.rendered.body}) {
    if (spareTexts.empty() || (room == &ps.rendered.body && !opt.bodies)) break;
    *room = std::move(spareTexts.back());
    spareTexts.pop_back();
  }
  becomeDue(std::move(ps));
  return false;
}

// The flow reached a `holdout` variant: the customer gets nothing from here on (not even the
// steps after the split), and the goal counts from this point as a conversion of the variant.
void Engine::Impl::holdout(Flow& f, const plan::Variant& v) {
  Record r;
  r.decision = Decision::Suppressed;
  r.reason = Reason::Holdout;
  r.customer = f.customer->id;
  r.rule = f.rule;
  r.step = f.stepsTaken;  // the split's step: the holdout is recorded where the split is reached
  r.variant = v.name;
  r.loc = v.loc;
  r.messageId = messageIdOf(f.rule, f.customer->id, r.step, f.firedAt);
  r.detail = fmt::format("variant {} is a holdout: no message from this point", v.name);
  emit(std::move(r));
  f.anySendDecided = true;
  ++stats.rules[f.rule].variants[v.name].heldOut;
  if (rulePlan.rules[f.rule].hasGoal) watchGoalAfter(f, nullptr, &v.name);
  endFlow(f);
}

void Engine::Impl::onStepTimer(Customer& c, uint32_t ri) {
  auto fp = activeFlow(c, ri);
  if (!fp || fp->state != Flow::State::WaitingStep) return;
  Flow& f = *fp;
  f.timer = TimerHandle{};
  const plan::Step& s = step(f.pos.back().first);
  EvalEnv env = flowEnv(f);
  for (const plan::Condition& u : s.unless) {
    bool held = eval.test(u.id, env);
    noteCondition(u, held);
    if (!held) continue;
    if (opt.coverage) ++opt.coverage->steps[s.id];
    ++f.pos.back().first;
    ++f.stepsTaken;
    auto [tmpl, variant] = describeStep(c, ri, {f.pos.back().first - 1, f.pos.back().end});
    Record r;
    r.decision = Decision::Suppressed;
    r.reason = Reason::Condition;
    r.customer = c.id;
    r.rule = ri;
    r.step = f.stepsTaken;
    r.templateName = tmpl;
    r.variant = variant.empty() ? f.variantName() : variant;
    r.loc = u.loc;
    r.messageId = messageIdOf(ri, c.id, r.step, f.firedAt);
    r.detail = "the step's `unless` held when it was due" + conditionValues(u, env);
    f.anySendDecided = true;
    emit(std::move(r));
    advance(fp, now);
    return;
  }
  if (execute(fp, s)) advance(fp, now);
}

// Records the cancellation of the flow's pending step (if any) and ends the flow.
void Engine::Impl::cancelFlow(Flow& f, Reason reason, const std::string& detail) {
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
      auto [tmpl, variant] = describeStep(c, f.rule, f.pos.back());
      r.step = f.stepsTaken + 1;
      r.templateName = tmpl;
      r.variant = variant.empty() ? f.variantName() : variant;
      r.loc = step(f.pos.back().first).loc;
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
      r.templateName = ps->send->templateName;
      r.variant = ps->variantName();
      r.loc = ps->send->loc;
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
    r.messageId = messageIdOf(f.rule, c.id, r.step, f.firedAt);
    emit(std::move(r));
  }
  endFlow(f);
}

PendingSend* Engine::Impl::pendingSendOf(Flow& f) {
  if (f.state == Flow::State::Deferred || f.state == Flow::State::Awaiting) {
    auto it = deferred.find(&f);
    return it == deferred.end() ? nullptr : &it->second;
  }
  if (f.state == Flow::State::InWindow && f.customer->window)
    for (auto& m : f.customer->window->members)
      if (m.flow.get() == &f) return &m;
  return nullptr;
}

void Engine::Impl::removeFromWindow(Customer& c, Flow& f) {
  if (!c.window) return;
  std::erase_if(c.window->members, [&](const PendingSend& m) { return m.flow.get() == &f; });
}

}  // namespace trig::engine
