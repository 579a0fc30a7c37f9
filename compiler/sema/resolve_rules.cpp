// Rules: resolves each rule's anchor, then names and types in its terms, `unless` conditions,
// priority, goal, step conditions and `with` bindings, and fills its RuleInfo (anchor events, idle,
// conditions, unless, goal).
#include <algorithm>
#include <map>

#include "compiler/sema/context.h"

namespace trig::sema::detail {
namespace {

// A condition: checked, and it must be true or false.
void condition(Context& c, const ast::Expr& e, const Scope& s) {
  Typed t = checkExpr(c, e, s);
  if (t.type.isError() || t.type.kind == TypeKind::Bool) return;
  std::string what =
      t.type.kind == TypeKind::List
          ? "a list " + typeName(t.type)
          : std::string(t.type.kind == TypeKind::Int ? "an " : "a ") + typeName(t.type) + " value";
  c.diags
      .report(DiagKind::NotBoolean, e.loc, "a condition must be true or false, but this is {}",
              what)
      .help("compare it with something, e.g. `quantity > 1` or `category == \"shoes\"`");
}

void steps(Context& c, const std::vector<ast::Step>& list, const Scope& s) {
  forEachStep(list, [&](const ast::Step& st) {
    for (const auto* u : st.unless) condition(c, *u, s);
    std::map<std::string, Loc> seen;
    for (const auto& b : st.bindings) {
      if (b.value != nullptr) checkExpr(c, *b.value, s);
      if (b.name.text.empty()) continue;
      auto [it, fresh] = seen.emplace(b.name.text, b.name.loc);
      if (!fresh)
        c.diags
            .report(DiagKind::DuplicateDecl, b.name.loc, "'{}' is already bound in this send",
                    b.name.text)
            .note(it->second, "previous binding is here");
    }
  });
}

void rule(Context& c, RuleInfo& ri, uint8_t& resolved) {
  const ast::Rule& r = *ri.rule;
  // The anchor's events first: names in every condition (and in the anchor's own filter,
  // through the alias) are resolved against them.
  bool ok = !r.anchor.events.empty();
  for (const auto* ref : r.anchor.events) {
    auto it = c.model.eventByName.find(ref->name.text);
    if (it == c.model.eventByName.end()) {
      ok = false;
      continue;
    }
    if (std::find(ri.anchorEvents.begin(), ri.anchorEvents.end(), it->second) !=
        ri.anchorEvents.end()) {
      c.diags.report(DiagKind::DuplicateDecl, ref->name.loc,
                     "'{}' is already an alternative of this anchor", ref->name.text);
      continue;
    }
    ri.anchorEvents.push_back(it->second);
  }
  resolved = ok ? 1 : 0;
  RuleScope rs{&ri, ok, r.anchor.alias ? &*r.anchor.alias : nullptr};
  Scope s{&rs, kNone};
  for (const auto* ref : r.anchor.events) checkEventRef(c, *ref, s, nullptr);

  for (const auto* t : r.terms) {
    condition(c, *t, s);
    if (t->kind == ast::ExprKind::Idle) {
      if (!ri.idle && t->window) ri.idle = t->window->ms;
    } else {
      ri.conditions.push_back(t);
    }
  }
  for (const auto* u : r.unless) {
    condition(c, *u, s);
    ri.unless.push_back(u);
  }
  if (r.priorityExpr != nullptr) {
    Typed t = checkExpr(c, *r.priorityExpr, s);
    if (!t.type.isError() && !t.type.isNumeric())
      c.diags
          .report(DiagKind::TypeMismatch, r.priorityExpr->loc,
                  "a priority must be a number, but this is {}", typeName(t.type))
          .help("for example: priority 1 + cart_value / 100");
  }
  if (r.goal) {
    uint32_t ev = checkEventRef(c, *r.goal->event, s, nullptr);
    if (ev != kNone) ri.goalEvent = ev;
    ri.goalWithin = r.goal->within.ms;
  }
  steps(c, r.steps, s);
}

}  // namespace

void resolveRules(Context& c) {
  c.anchorResolved.assign(c.model.rules.size(), 0);
  for (size_t i = 0; i < c.model.rules.size(); ++i) rule(c, c.model.rules[i], c.anchorResolved[i]);
}

}  // namespace trig::sema::detail
