// Which event types the rules use: anchors, terms, aggregates, `last`, bare event names and goals,
// at any depth (the unused-event lint). What the runtime keeps of each is the rule plan's
// retention (compiler/plan/retention.cpp).
#include "compiler/sema/context.h"

namespace trig::sema::detail {
namespace {

class Uses {
 public:
  explicit Uses(Model& m) : m_(m) {}

  void rule(const RuleInfo& ri) {
    const ast::Rule& r = *ri.rule;
    for (uint32_t ev : ri.anchorEvents) m_.events[ev].usedByRules = true;
    for (const auto* ref : r.anchor.events) filter(*ref);
    for (const auto* t : r.terms) walk(*t);
    for (const auto* u : r.unless) walk(*u);
    if (r.priorityExpr != nullptr) walk(*r.priorityExpr);
    if (r.goal && ri.goalEvent) {
      m_.events[*ri.goalEvent].usedByRules = true;
      filter(*r.goal->event);
    }
    forEachStep(r.steps, [&](const ast::Step& st) {
      for (const auto* u : st.unless) walk(*u);
      for (const auto& b : st.bindings)
        if (b.value != nullptr) walk(*b.value);
    });
  }

 private:
  void filter(const ast::EventRef& ref) {
    if (ref.filter != nullptr) walk(*ref.filter);
  }

  void use(uint32_t ev) {
    if (ev != kNone) m_.events[ev].usedByRules = true;
  }

  void walk(const ast::Expr& e) {
    using K = ast::ExprKind;
    if (e.kind == K::EventTerm || e.kind == K::Aggregate || e.kind == K::Last) {
      use(m_.exprEvent[e.id]);
      filter(*e.event);
      return;
    }
    if (e.kind == K::Name) {
      if (const Ref& ref = m_.exprRef[e.id]; ref.kind == RefKind::BareEvent) use(ref.event);
      return;
    }
    if (e.lhs != nullptr) walk(*e.lhs);
    if (e.rhs != nullptr) walk(*e.rhs);
    for (const auto* item : e.items) walk(*item);
  }

  Model& m_;
};

}  // namespace

void markUses(Context& c) {
  Uses u(c.model);
  for (const auto& ri : c.model.rules) u.rule(ri);
}

}  // namespace trig::sema::detail
