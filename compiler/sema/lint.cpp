// Lint (warnings): templates nothing sends, events no rule uses, rules that can never fire
// because their own `unless` always excludes their anchor, and rules on one anchor event with one
// priority, whose precedence falls to declaration order (unless their anchor filters pin a field
// to different values, so that no one event anchors both).
#include <algorithm>
#include <iterator>
#include <map>

#include "compiler/sema/context.h"
#include "compiler/sema/pins.h"

namespace trig::sema::detail {
namespace {

// Whether a lint about some declarations may be reported. Not when an error was reported in one
// of them (at it or in a note pointing into it): the lint would be a follow-on of the error (a
// duplicate name and "ambiguous priority" on the same pair). Not when the declaration it is
// about carries `# trig: allow KIND` on the line before it or at the end of its first line.
class LintGate {
 public:
  explicit LintGate(Context& c) : c_(c) {
    for (const auto& d : c.diags.all()) {
      if (d.severity != Severity::Error) continue;
      errors_.push_back(d.loc);
      for (const auto& n : d.notes) errors_.push_back(n.loc);
    }
    for (const auto& f : c.program.files)
      for (const auto& a : f.lintAllows) allows_.push_back({f.id, &a});
  }

  // `about`: the declaration the lint is reported on; `others`: declarations it also names.
  bool open(DiagKind kind, Loc about, std::initializer_list<Loc> others = {}) const {
    if (hasError(about)) return false;
    for (Loc o : others)
      if (hasError(o)) return false;
    return !allowed(kind, about);
  }

  // Every kind an allow comment names is a lint kind.
  void checkAllows() const {
    std::vector<std::string> lints;
    for (DiagKind k : allDiagKinds())
      if (defaultSeverity(k) == Severity::Warning) lints.push_back(kindName(k));
    for (const auto& [file, a] : allows_)
      for (const auto& k : a->kinds) {
        if (std::find(lints.begin(), lints.end(), k.text) != lints.end()) continue;
        bool error = std::any_of(allDiagKinds().begin(), allDiagKinds().end(),
                                 [&](DiagKind d) { return k.text == kindName(d); });
        auto b = c_.diags.add(DiagKind::BadAllow, k.loc,
                              error ? "'" + k.text + "' is an error, and errors cannot be allowed"
                                    : "'" + k.text + "' is not a kind of warning");
        if (error)
          b.help("fix what the error says; `# trig: allow` silences warnings only");
        else if (auto hint = didYouMean(k.text, lints); !hint.empty())
          b.help(hint);
      }
  }

 private:
  bool hasError(Loc decl) const {
    return std::any_of(errors_.begin(), errors_.end(), [&](Loc e) {
      return e.valid() && e.file == decl.file && e.begin >= decl.begin &&
             e.begin < std::max(decl.end, decl.begin + 1);
    });
  }

  bool allowed(DiagKind kind, Loc decl) const {
    if (!decl.valid()) return false;
    uint32_t line = c_.sources.file(decl.file).lineCol(decl.begin).line;
    for (const auto& [file, a] : allows_) {
      if (file != decl.file || !(a->ownLine ? a->line + 1 == line : a->line == line)) continue;
      for (const auto& k : a->kinds)
        if (k.text == kindName(kind)) return true;
    }
    return false;
  }

  Context& c_;
  std::vector<Loc> errors_;
  std::vector<std::pair<FileId, const ast::File::LintAllow*>> allows_;
};

void unusedDeclarations(Context& c, const LintGate& gate) {
  const Model& m = c.model;
  for (size_t i = 0; i < m.templates.size() && !c.unknownTemplateSeen; ++i) {
    const TemplateInfo& t = m.templates[i];
    if (t.decl == nullptr || (i < c.templateSent.size() && c.templateSent[i])) continue;
    if (!gate.open(DiagKind::UnusedTemplate, t.decl->loc)) continue;
    c.diags.report(DiagKind::UnusedTemplate, t.loc, "template '{}' is never sent", t.name)
        .help("send it from a rule, or remove it");
  }
  for (const auto& ev : m.events) {
    if (ev.stdlib || ev.usedByRules || c.unknownEventSeen) continue;
    if (!gate.open(DiagKind::UnusedEvent, ev.decl->loc)) continue;
    c.diags
        .report(DiagKind::UnusedEvent, ev.decl->name.loc, "event '{}' is not used by any rule",
                ev.name)
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
void neverFires(Context& c, const LintGate& gate, const RuleInfo& ri) {
  if (ri.anchorEvents.empty() || ri.rule == nullptr ||
      !gate.open(DiagKind::RuleNeverFires, ri.rule->loc))
    return;
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
  c.diags
      .report(DiagKind::RuleNeverFires, culprit->loc,
              "rule '{}' can never fire: {} always counts for its own 'unless'", ri.name, arms)
      .note(ri.rule->anchor.loc, "the anchor is here")
      .help(
          "narrow the condition with a filter or `same f` (only other events then count), or "
          "remove it");
}

// What a filter pins down: field slot -> the values it allows (sema::pinsOf; several pins on one
// field: their intersection). Prefix pins are left out: prefixes of two filters may overlap.
using Pins = std::map<uint32_t, std::vector<std::string>>;

// The pins of each of the rule's anchor references to `ev` (an unfiltered reference pins
// nothing).
std::vector<Pins> anchorPins(Context& c, const RuleInfo& r, uint32_t ev) {
  std::vector<Pins> out;
  for (const auto* ref : r.rule->anchor.events) {
    auto it = c.model.eventRefEvent.find(ref);
    if (it == c.model.eventRefEvent.end() || it->second != ev) continue;
    Pins p;
    for (core::Pin& pin : pinsOf(c.model, ev, ref->filter)) {
      if (pin.prefix) continue;
      auto [at, fresh] = p.emplace(pin.slot, pin.values);
      if (fresh) continue;
      std::vector<std::string> both;  // `f == "a" and f in ["a", "b"]`: the intersection
      std::set_intersection(at->second.begin(), at->second.end(), pin.values.begin(),
                            pin.values.end(), std::back_inserter(both));
      at->second = std::move(both);
    }
    out.push_back(std::move(p));
  }
  return out;
}

// Whether no single event can be an anchor of both: every pair of their references pins some
// field to values the other excludes.
bool disjoint(const std::vector<Pins>& a, const std::vector<Pins>& b) {
  if (a.empty() || b.empty()) return false;
  for (const auto& pa : a)
    for (const auto& pb : b) {
      bool apart = false;
      for (const auto& [f, va] : pa) {
        auto it = pb.find(f);
        if (it == pb.end()) continue;
        std::vector<std::string> common;
        std::set_intersection(va.begin(), va.end(), it->second.begin(), it->second.end(),
                              std::back_inserter(common));
        if (common.empty()) {
          apart = true;
          break;
        }
      }
      if (!apart) return false;
    }
  return true;
}

void ambiguousPriority(Context& c, const LintGate& gate) {
  // (anchor event, priority) -> the rules so far with their pins; a rule is reported once,
  // with the first earlier rule that one event could anchor together with it. Past
  // kMostCompared earlier rules the comparison stops and the first one is named (a warning too
  // many rather than a quadratic check of thousands of same-priority rules).
  constexpr size_t kMostCompared = 4096;
  struct Seen {
    uint32_t rule;
    std::vector<Pins> pins;
  };
  std::map<std::pair<uint32_t, int64_t>, std::vector<Seen>> seen;
  for (uint32_t index = 0; index < c.model.rules.size(); ++index) {
    const RuleInfo& ri = c.model.rules[index];
    // A priority computed at each firing may differ from any other: only constants can tie.
    if (ri.rule == nullptr || ri.priorityExpr != nullptr) continue;
    bool reported = false;
    for (uint32_t ev : ri.anchorEvents) {
      auto& earlier = seen[std::make_pair(ev, ri.priority)];
      if (!earlier.empty() && earlier.back().rule == index) continue;  // `(A or A(...))`
      std::vector<Pins> mine = anchorPins(c, ri, ev);
      const RuleInfo* clash = nullptr;
      if (earlier.size() > kMostCompared) {
        clash = &c.model.rules[earlier.front().rule];
      } else {
        for (const auto& o : earlier)
          if (!disjoint(o.pins, mine)) {
            clash = &c.model.rules[o.rule];
            break;
          }
      }
      earlier.push_back(Seen{index, std::move(mine)});
      if (clash == nullptr || reported) continue;
      reported = true;
      const RuleInfo& other = *clash;
      if (!gate.open(DiagKind::AmbiguousPriority, ri.rule->loc, {other.rule->loc})) continue;
      c.diags
          .report(
              DiagKind::AmbiguousPriority, ruleLoc(*ri.rule),
              "rules '{}' and '{}' both start on '{}' with priority {}: which one wins falls to "
              "declaration order",
              other.name, ri.name, c.model.events[ev].name, ri.priority)
          .note(ruleLoc(*other.rule), fmt::format("'{}' is declared here", other.name))
          .help("give one of them a different priority");
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
  LintGate gate(c);
  gate.checkAllows();
  if (!dropped) unusedDeclarations(c, gate);
  for (const auto& ri : c.model.rules) neverFires(c, gate, ri);
  ambiguousPriority(c, gate);
}

}  // namespace trig::sema::detail
