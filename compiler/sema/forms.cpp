// Forms: where each construct may appear. An event term without `within` needs a window at rule
// level (in a step it means "since the rule fired"); `idle` is only a top-level `when ... and`
// term, once; durations are positive; `limit N per D` has N >= 1.
#include "compiler/core/aggregate.h"
#include "compiler/sema/context.h"

namespace trig::sema::detail {
namespace {

enum class Level { Rule, Step };

class Forms {
 public:
  explicit Forms(Context& c) : c_(c) {}

  void rule(const ast::Rule& r) {
    for (const auto* ref : r.anchor.events) eventRef(*ref, Level::Rule);
    bool idleSeen = false;
    for (const auto* t : r.terms) {
      if (t->kind == ast::ExprKind::Idle) {
        if (t->window) positive(*t->window, "an idle period");
        if (idleSeen)
          c_.diags
              .report(DiagKind::IdleMisplaced, t->loc, "a rule can wait for only one idle period")
              .help("keep one `idle D` term");
        idleSeen = true;
        continue;
      }
      walk(*t, Level::Rule);
    }
    for (const auto* u : r.unless) walk(*u, Level::Rule);
    if (r.priorityExpr != nullptr) walk(*r.priorityExpr, Level::Rule);
    if (r.limit) {
      if (r.limit->count < 1)
        c_.diags
            .report(DiagKind::BadLimit, r.limit->loc,
                    "'limit {} per ...' would never let the rule fire", r.limit->count)
            .help("the count of `limit N per D` must be at least 1");
      positive(r.limit->per, "the period of a limit");
    }
    if (r.goal) {
      eventRef(*r.goal->event, Level::Rule);
      positive(r.goal->within, "a goal window");
    }
    forEachStep(r.steps, [&](const ast::Step& st) {
      if (st.after) positive(*st.after, "a delay");
      for (const auto* u : st.unless) walk(*u, Level::Step);
      for (const auto& b : st.bindings)
        if (b.value != nullptr) walk(*b.value, Level::Step);
    });
  }

 private:
  void positive(const ast::Duration& d, const char* what) {
    if (!nonPositiveAsWritten(c_, d)) return;
    c_.diags.report(DiagKind::NonPositiveDuration, d.loc, "{} must be longer than 0s", what)
        .help("durations are positive, such as 1s, 15m or 1d");
  }

  void eventRef(const ast::EventRef& ref, Level level) {
    if (ref.filter != nullptr) walk(*ref.filter, level);
  }

  void windowless(const ast::Expr& e, const std::string& written, const std::string& suggestion) {
    c_.diags.report(DiagKind::EventWithoutWindow, e.loc, "'{}' needs a time window here", written)
        .help(fmt::format(
            "add a window: `{}` (without one, an event term only makes sense in a step, "
            "where it means \"since the rule fired\")",
            suggestion));
  }

  void walk(const ast::Expr& e, Level level) {
    using K = ast::ExprKind;
    switch (e.kind) {
      case K::Idle:
        c_.diags
            .report(DiagKind::IdleMisplaced, e.loc, "'idle' can only be a term of `when ... and`")
            .help("write it right after the anchor: when cart_add and idle 15m ...");
        return;
      case K::DurationLit: positive(ast::Duration{e.intValue, e.loc}, "a duration"); return;
      case K::EventTerm:
        if (e.window)
          positive(*e.window, "a window");
        else if (level == Level::Rule)
          windowless(
              e,
              std::string(
                  c_.sources.file(e.loc.file).text().substr(e.loc.begin, e.loc.end - e.loc.begin)),
              fmt::format("{} within 30d", e.event->name.text));
        eventRef(*e.event, level);
        return;
      case K::Aggregate:
        if (e.window)
          positive(*e.window, "a window");
        else if (level == Level::Rule)
          windowless(
              e,
              std::string(
                  c_.sources.file(e.loc.file).text().substr(e.loc.begin, e.loc.end - e.loc.begin)),
              fmt::format("{}({}{}) within 7d", core::aggName(e.agg), e.event->name.text,
                          e.agg == ast::AggFn::Count ? "" : "." + e.field.text));
        eventRef(*e.event, level);
        return;
      case K::Last: eventRef(*e.event, level); return;
      case K::Name:
        if (level == Level::Rule && c_.model.exprRef[e.id].kind == RefKind::BareEvent)
          windowless(e, e.path.front().text, e.path.front().text + " within 30d");
        return;
      default: break;
    }
    if (e.lhs != nullptr) walk(*e.lhs, level);
    if (e.rhs != nullptr) walk(*e.rhs, level);
    for (const auto* item : e.items) walk(*item, level);
  }

  Context& c_;
};

}  // namespace

void checkForms(Context& c) {
  Forms f(c);
  for (const auto& ri : c.model.rules) f.rule(*ri.rule);
}

}  // namespace trig::sema::detail
