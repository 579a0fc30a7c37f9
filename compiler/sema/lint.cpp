// Lint (warnings): templates nothing sends, events no rule uses, rules that can never fire
// because their own `unless` always excludes their anchor, and rules on one anchor event with one
// priority, whose precedence falls to declaration order.
#include <algorithm>
#include <map>

#include "compiler/sema/context.h"

namespace trig::sema::detail {
namespace {

void unusedDeclarations(Context& c) {
  const Model& m = c.model;
  for (size_t i = 0; i < m.templates.size() && !c.unknownTemplateSeen; ++i) {
    const TemplateInfo& t = m.templates[i];
    if (t.decl == nullptr || (i < c.templateSent.size() && c.templateSent[i])) continue;
    c.diags.report(DiagKind::UnusedTemplate, t.loc, "template '{}' is never sent", t.name)
        .help("send it from a rule, or remove it");
  }
  for (const auto& ev : m.events) {
    if (ev.stdlib || ev.usedByRules || c.unknownEventSeen) continue;
    c.diags.report(DiagKind::UnusedEvent, ev.decl->name.loc, "event '{}' is not used by any rule", ev.name)
        .help("use it in a rule, or remove it");
  }
}

// The top-level alternatives of a condition: `A or B or C`.
void disjuncts(const ast::Expr& e, std::vector<const ast::Expr*>& out) {
  if (e.kind == ast::ExprKind::Binary && e.op == ast::Op::Or) {
    disjuncts(*e.lhs, out);
    disjuncts(*e.rhs, out);
    return;
  }
  out.push_back(&e);
}

// `when purchased unless purchased within 1d`: the anchor itself is always inside the window
// of an unfiltered term on its own event (with `idle I`, when the window is at least I).
void neverFires(Context& c, const RuleInfo& ri) {
  if (ri.anchorEvents.empty()) return;
  std::vector<uint8_t> excluded(ri.anchorEvents.size(), 0);
  const ast::Expr* culprit = nullptr;
  for (const auto* u : ri.unless) {
    std::vector<const ast::Expr*> alts;
    disjuncts(*u, alts);
    for (const auto* a : alts) {
      if (a->kind != ast::ExprKind::EventTerm || !a->window || a->event == nullptr) continue;
      if (a->event->filter != nullptr || !a->event->same.empty()) continue;
      if (ri.idle && a->window->ms < *ri.idle) continue;
      uint32_t ev = c.model.exprEvent[a->id];
      for (size_t k = 0; k < ri.anchorEvents.size(); ++k) {
        if (ri.anchorEvents[k] != ev) continue;
        excluded[k] = 1;
        if (culprit == nullptr) culprit = a;
      }
    }
  }
  for (uint8_t x : excluded)
    if (!x) return;
  std::string arms = ri.anchorEvents.size() == 1
                         ? "the '" + c.model.events[ri.anchorEvents.front()].name + "' that arms it"
                         : "every event that arms it";
  c.diags.report(DiagKind::RuleNeverFires, culprit->loc,
                 "rule '{}' can never fire: {} always counts for its own 'unless'", ri.name, arms)
      .note(ri.rule->anchor.loc, "the anchor is here")
      .help("narrow the condition with a filter or `same f` (only other events then count), or remove it");
}

void ambiguousPriority(Context& c) {
  std::map<std::pair<uint32_t, int64_t>, uint32_t> first;
  for (const auto& ri : c.model.rules) {
    for (uint32_t ev : ri.anchorEvents) {
      auto [it, fresh] = first.emplace(std::make_pair(ev, ri.priority), ri.order);
      if (fresh) continue;
      const RuleInfo& other = c.model.rules[it->second];
      c.diags.report(DiagKind::AmbiguousPriority, ruleLoc(*ri.rule),
                     "rules '{}' and '{}' both start on '{}' with priority {}: which one wins falls to "
                     "declaration order",
                     other.name, ri.name, c.model.events[ev].name, ri.priority)
          .note(ruleLoc(*other.rule), fmt::format("'{}' is declared here", other.name))
          .help("give one of them a different priority");
      break;
    }
  }
}

}  // namespace

void lint(Context& c) {
  // A declaration that did not parse is missing from the program: it may be what uses the
  // template or event, so "unused" would be a false alarm on top of the syntax error.
  bool dropped = std::any_of(c.diags.all().begin(), c.diags.all().end(), [](const Diagnostic& d) {
    return d.kind == DiagKind::SyntaxError || d.kind == DiagKind::UnterminatedString ||
           d.kind == DiagKind::NestingTooDeep || d.kind == DiagKind::BadDuration;
  });
  if (!dropped) unusedDeclarations(c);
  for (const auto& ri : c.model.rules) neverFires(c, ri);
  ambiguousPriority(c);
}

}  // namespace trig::sema::detail
