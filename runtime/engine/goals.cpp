// Goals: a rule's `goal E within D` converts the customer's latest instance of the rule
// (docs/language.md, "Steps").
#include "runtime/engine/engine_impl.h"

#include <fmt/format.h>

#include <algorithm>

namespace trig::engine {

// The rule's goal now counts from this firing (a new instance replaces the watch of the old).
void Engine::Impl::watchGoal(const std::shared_ptr<Flow>& fp) {
  Flow& f = *fp;
  if (!rulePlan.rules[f.rule].hasGoal) return;
  f.goalSince = f.firedAt;
  auto& watch = f.customer->sendState().goalWatch;
  std::erase_if(watch, [&](const std::shared_ptr<Flow>& w) { return w->rule == f.rule; });
  watch.push_back(fp);
}

// A send of the flow went out, or the flow reached a holdout point (empty `templ`), now: the
// goal counts from here and converts that message (or holdout variant).
void Engine::Impl::watchGoalAfter(Flow& f, const std::string* templ, const std::string* variant) {
  f.goalSince = now;
  f.goalAfterMessage = true;
  f.goalTemplate = templ;
  f.goalVariant = variant;
}

// A flow whose first send was outranked did not start: its goal watches nothing.
void Engine::Impl::unwatchGoal(const Flow& f) {
  if (!f.customer->sends) return;
  std::erase_if(f.customer->sends->goalWatch,
                [&](const std::shared_ptr<Flow>& w) { return w.get() == &f; });
}

// A goal event: for each rule whose goal it is, the customer's latest instance is reached when
// `e` matches the goal within D after the instance's most recent send (or holdout point, or
// firing while nothing went out). That is one conversion of the rule: of the send and its
// variant, of the holdout variant, or of no message; and it ends the instance (pending steps
// `converted`). An instance converts once.
void Engine::Impl::goals(Customer& c, const Event& e) {
  if (!c.sends) return;
  for (uint32_t ri : rulePlan.events[e.type].goalRules) {
    const plan::Rule& rule = rulePlan.rules[ri];
    auto& watch = c.sends->goalWatch;
    auto it = std::find_if(watch.begin(), watch.end(),
                           [&](const std::shared_ptr<Flow>& w) { return w->rule == ri; });
    if (it == watch.end()) continue;
    // A copy, not a reference: watch.erase(it) below would destroy the element f refers through.
    std::shared_ptr<Flow> fp = *it;  // NOLINT(performance-unnecessary-copy-initialization)
    Flow& f = *fp;
    if (e.time - f.goalSince > rule.goalWithin) continue;
    if (!refMatches(rulePlan.goals[ri], e, &anchorOf(f), &c)) continue;
    watch.erase(it);
    auto& rs = stats.rules[ri];
    ++rs.conversions;
    if (f.goalAfterMessage)
      ++rs.variants[f.goalVariantName()].conversions;
    else
      ++rs.conversionsWithoutMessage;
    std::string what = !f.goalAfterMessage ? std::string("the firing, before any send")
                       : f.goalTemplate == nullptr
                           ? "the holdout point of variant " + f.goalVariantName()
                           : "the send of " + f.goalTemplateName();
    trace(TraceEntry::Kind::Conversion, c.id, ri, rule.goalLoc, [&] {
      return fmt::format("goal reached: {} within {} after {} at {}{}", anchorName(e),
                         formatDuration(rule.goalWithin), what, formatTimestamp(f.goalSince),
                         f.goalAfterMessage && f.goalTemplate != nullptr && f.goalVariant != nullptr
                             ? " (variant " + f.goalVariantName() + ")"
                             : "");
    });
    if (f.state != Flow::State::Done)
      cancelFlow(f, Reason::Converted,
                 fmt::format("the goal was reached: {} within {} after {}", anchorName(e),
                             formatDuration(rule.goalWithin), what));
  }
}

// Forgets the instances whose goal can no longer be reached and whose steps are over.
void Engine::Impl::pruneGoals(Customer& c) {
  if (!c.sends) return;
  std::erase_if(c.sends->goalWatch, [&](const std::shared_ptr<Flow>& w) {
    return w->state == Flow::State::Done && now - w->goalSince > rulePlan.rules[w->rule].goalWithin;
  });
}

}  // namespace trig::engine
