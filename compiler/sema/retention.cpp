// Retention: what the runtime must remember of each event type for the rules to be evaluated.
// `lookback` is the longest window any rule looks back over it (within, count/sum/..., goal);
// `keepLast` when some `last(E)` needs the latest one at any age; `sinceFiring` when a step
// condition without a window asks about events since the rule fired; `usedByRules` when any
// rule mentions it (the unused-event lint).
#include <algorithm>

#include "compiler/sema/context.h"

namespace trig::sema::detail {
namespace {

enum class Level { Rule, Step };

class Retention {
 public:
  explicit Retention(Model& m) : m_(m) {}

  void rule(const RuleInfo& ri) {
    const ast::Rule& r = *ri.rule;
    for (uint32_t ev : ri.anchorEvents) m_.events[ev].usedByRules = true;
    for (const auto* ref : r.anchor.events) filter(*ref, Level::Rule);
    for (const auto* t : r.terms) walk(*t, Level::Rule);
    for (const auto* u : r.unless) walk(*u, Level::Rule);
    if (r.priorityExpr != nullptr) walk(*r.priorityExpr, Level::Rule);
    if (r.goal && ri.goalEvent) {
      EventInfo& ev = m_.events[*ri.goalEvent];
      ev.usedByRules = true;
      ev.lookback = std::max(ev.lookback, r.goal->within.ms);
      filter(*r.goal->event, Level::Rule);
    }
    forEachStep(r.steps, [&](const ast::Step& st) {
      for (const auto* u : st.unless) walk(*u, Level::Step);
      for (const auto& b : st.bindings)
        if (b.value != nullptr) walk(*b.value, Level::Step);
    });
  }

 private:
  void filter(const ast::EventRef& ref, Level level) {
    if (ref.filter != nullptr) walk(*ref.filter, level);
  }

  EventInfo* eventOf(const ast::Expr& e) {
    uint32_t ev = m_.exprEvent[e.id];
    return ev == kNone ? nullptr : &m_.events[ev];
  }

  void walk(const ast::Expr& e, Level level) {
    using K = ast::ExprKind;
    switch (e.kind) {
      case K::EventTerm:
      case K::Aggregate:
        if (EventInfo* ev = eventOf(e)) {
          ev->usedByRules = true;
          if (e.window)
            ev->lookback = std::max(ev->lookback, e.window->ms);
          else if (level == Level::Step)
            ev->sinceFiring = true;
        }
        filter(*e.event, level);
        return;
      case K::Last:
        if (EventInfo* ev = eventOf(e)) {
          ev->usedByRules = true;
          ev->keepLast = true;
        }
        filter(*e.event, level);
        return;
      case K::Name:
        if (const Ref& ref = m_.exprRef[e.id];
            ref.kind == RefKind::BareEvent && ref.event != kNone) {
          m_.events[ref.event].usedByRules = true;
          if (level == Level::Step) m_.events[ref.event].sinceFiring = true;
        }
        return;
      default: break;
    }
    if (e.lhs != nullptr) walk(*e.lhs, level);
    if (e.rhs != nullptr) walk(*e.rhs, level);
    for (const auto* item : e.items) walk(*item, level);
  }

  Model& m_;
};

}  // namespace

void computeRetention(Context& c) {
  Retention r(c.model);
  for (const auto& ri : c.model.rules) r.rule(ri);
}

}  // namespace trig::sema::detail
