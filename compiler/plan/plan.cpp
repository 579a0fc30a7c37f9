#include "compiler/plan/build.h"

#include <algorithm>

#include "compiler/sema/pins.h"

namespace trig::plan {
namespace {

uint32_t refEvent(const sema::Model& m, const ast::EventRef& ref) {
  if (auto it = m.eventRefEvent.find(&ref); it != m.eventRefEvent.end()) return it->second;
  if (const auto* info = m.findEvent(ref.name.text)) return info->index;
  return core::kNone;
}

// `ref` resolved against anchors of the given event types.
RefMatch refMatch(const sema::Model& m, const ast::EventRef& ref,
                  const std::vector<uint32_t>& anchorTypes) {
  RefMatch match{ref.filter != nullptr ? ref.filter->id : core::kNone, {}};
  auto it = m.eventRefSame.find(&ref);
  if (it == m.eventRefSame.end()) return match;
  for (const sema::SameInfo& same : it->second) {
    SamePair pair{same.eventField, {}};
    for (uint32_t t : anchorTypes)
      if (t < m.events.size())
        pair.anchorSlots.emplace_back(t, m.events[t].fieldIndex(same.anchorField));
    match.same.push_back(std::move(pair));
  }
  return match;
}

// Whether evaluating `e` may read the customer's traits or history: anything but literals,
// fields of the event and operators over them counts (a new kind of expression is assumed to).
bool readsCustomer(const sema::Model& m, const ast::Expr& e) {
  using K = ast::ExprKind;
  switch (e.kind) {
    case K::IntLit:
    case K::DecimalLit:
    case K::StringLit:
    case K::BoolLit:
    case K::DurationLit:
    case K::PercentLit:
    case K::TimeLit: return false;
    case K::Name: {
      if (e.id >= m.exprRef.size()) return true;
      const sema::RefKind k = m.exprRef[e.id].kind;
      return k != sema::RefKind::AnchorField && k != sema::RefKind::EventField;
    }
    case K::List:
    case K::Unary:
    case K::Binary:
    case K::Call:
      if ((e.lhs != nullptr && readsCustomer(m, *e.lhs)) ||
          (e.rhs != nullptr && readsCustomer(m, *e.rhs)))
        return true;
      return std::any_of(e.items.begin(), e.items.end(),
                         [&](const ast::Expr* x) { return x != nullptr && readsCustomer(m, *x); });
    default: return true;
  }
}

// Rule `ri`'s references to event type `ev`, its filters appended to the type's.
void addAnchor(const sema::Model& m, uint32_t ri, uint32_t ev, EventPlan& p) {
  AnchorRule a{ri, kSeveral, {}};
  for (const auto* ref : m.rules[ri].rule->anchor.events) {
    if (refEvent(m, *ref) != ev) continue;
    int32_t filter = kPasses;
    RefMatch match;
    if (!ref->same.empty()) {
      filter = kGeneral;
      match = refMatch(m, *ref, {ev});
    } else if (ref->filter != nullptr) {
      filter = static_cast<int32_t>(p.filters.size());
      p.filters.push_back(ref->filter->id);
      p.filterPins.push_back(sema::pinsOf(m, ev, ref->filter));
    }
    if (ref->filter != nullptr && readsCustomer(m, *ref->filter)) p.filtersReadCustomer = true;
    a.refs.push_back(
        AnchorRef{ref->filter != nullptr ? ref->filter->loc : Loc{}, filter, std::move(match)});
  }
  if (a.refs.empty()) return;  // no ref names the type: never an anchor of it
  if (a.refs.size() == 1) a.only = a.refs[0].filter == kGeneral ? kSeveral : a.refs[0].filter;
  p.anchors.push_back(std::move(a));
}

void owners(EventPlan& p) {
  p.filterOwner.assign(p.filters.size(), kNoOwner);
  for (uint32_t pos = 0; pos < p.anchors.size(); ++pos) {
    const AnchorRule& a = p.anchors[pos];
    if (a.only >= 0)
      p.filterOwner[static_cast<size_t>(a.only)] = pos;
    else
      p.unfiltered.push_back(pos);
  }
}

Condition conditionOf(const ast::Expr& e) {
  Condition c{e.id, e.loc, core::kNone, core::kNone};
  const bool comparison = e.kind == ast::ExprKind::Binary && e.op != ast::Op::And &&
                          e.op != ast::Op::Or && e.op != ast::Op::Add && e.op != ast::Op::Sub &&
                          e.op != ast::Op::Mul && e.op != ast::Op::Div;
  if (comparison && e.lhs != nullptr && e.rhs != nullptr) {
    c.lhs = e.lhs->id;
    c.rhs = e.rhs->id;
  }
  return c;
}

std::vector<Condition> conditionsOf(const std::vector<const ast::Expr*>& exprs) {
  std::vector<Condition> out;
  for (const ast::Expr* e : exprs)
    if (e != nullptr) out.push_back(conditionOf(*e));
  return out;
}

SendVar sendVar(const sema::VarSource& v) {
  SendVar out;
  switch (v.kind) {
    case sema::VarSource::Kind::None: out.kind = SendVar::Kind::None; break;
    case sema::VarSource::Kind::Binding: out.kind = SendVar::Kind::Binding; break;
    case sema::VarSource::Kind::AnchorField: out.kind = SendVar::Kind::AnchorField; break;
    case sema::VarSource::Kind::Trait: out.kind = SendVar::Kind::Trait; break;
  }
  out.index = v.index;
  out.anchorSlots = v.anchorSlots;
  return out;
}

// The step `s` into plan.steps[at] (its variants' steps appended after everything so far).
StepRange addSteps(const sema::Model& m, const std::vector<ast::Step>& steps, Plan& plan);

void fillStep(const sema::Model& m, const ast::Step& s, uint32_t at, Plan& plan) {
  Step st;
  st.kind = s.action == ast::ActionKind::Split ? Step::Kind::Split : Step::Kind::Send;
  if (s.after) st.after = s.after->ms;
  std::vector<const ast::Expr*> unless(s.unless.begin(), s.unless.end());
  st.unless = conditionsOf(unless);
  st.loc = s.loc;
  st.id = s.id;
  if (st.kind == Step::Kind::Send) {
    st.templateName = s.templateName.text;
    for (const ast::Binding& b : s.bindings) st.bindings.push_back(b.value->id);
    if (s.id < m.sends.size()) {
      st.templateIndex = m.sends[s.id].templateIndex;
      for (const sema::VarSource& v : m.sends[s.id].vars) st.vars.push_back(sendVar(v));
    }
  } else {
    st.arms.name = s.splitName.text;
    for (const ast::Variant& v : s.variants) {
      st.arms.variants.push_back(v.name.text);
      st.arms.percents.push_back(v.percent);
    }
  }
  plan.steps[at] = std::move(st);
  // The variants' steps go after (plan.steps grows: no reference into it is held across).
  std::vector<Variant> variants;
  for (const ast::Variant& v : s.variants)
    variants.push_back(Variant{v.name.text, v.loc, v.holdout, addSteps(m, v.steps, plan)});
  plan.steps[at].variants = std::move(variants);
}

StepRange addSteps(const sema::Model& m, const std::vector<ast::Step>& steps, Plan& plan) {
  StepRange range{static_cast<uint32_t>(plan.steps.size()), 0};
  range.end = range.first + static_cast<uint32_t>(steps.size());
  plan.steps.resize(range.end);
  for (uint32_t i = 0; i < steps.size(); ++i) fillStep(m, steps[i], range.first + i, plan);
  return range;
}

Rule ruleOf(const sema::Model& m, const sema::RuleInfo& r, Plan& plan) {
  Rule out;
  out.name = r.name;
  if (r.goalEvent) out.goalEvent = *r.goalEvent;
  out.order = r.order;
  out.idle = r.idle;
  out.conditions = conditionsOf(r.conditions);
  out.unless = conditionsOf(r.unless);
  out.priority = r.priority;
  if (r.priorityExpr != nullptr) out.priorityExpr = r.priorityExpr->id;
  out.hasGoal = r.goalEvent.has_value();
  out.goalWithin = r.goalWithin;
  if (r.rule == nullptr) return out;
  out.loc = r.rule->loc;
  if (r.rule->title) out.title = r.rule->title->value;
  if (r.rule->goal) out.goalLoc = r.rule->goal->loc;
  if (r.rule->limit)
    out.limit = Rule::Limit{r.rule->limit->count, r.rule->limit->per.ms, r.rule->limit->loc};
  out.steps = addSteps(m, r.rule->steps, plan);
  return out;
}

void settingsAndNames(const sema::Model& m, Plan& plan) {
  const sema::Settings& s = m.settings;
  plan.settings.arbitration = s.arbitration;
  if (s.cap) plan.settings.cap = Settings::Cap{s.cap->count, s.cap->per};
  plan.settings.dedup = s.dedup;
  plan.settings.cooldown = s.cooldown;
  plan.settings.ignoreUndeclared = s.ignoreUndeclared;
  plan.settings.awaitEmail = s.awaitEmail;
  for (const sema::EventInfo& e : m.events) plan.eventNames.push_back({e.name, e.passive});
  plan.known.traitEmail = m.traitIndex("email");
  plan.known.traitSubscribed = m.traitIndex("subscribed");
  plan.known.traitTimezone = m.traitIndex("timezone");
  if (auto it = m.eventByName.find("unsubscribe"); it != m.eventByName.end())
    plan.known.unsubscribeEvent = it->second;
  if (auto it = m.eventByName.find("email_bounce"); it != m.eventByName.end()) {
    plan.known.bounceEvent = it->second;
    plan.known.bounceKindSlot = m.events[it->second].fieldIndex("kind");
  }
}

TemplateText textOf(const ast::TemplateText& text) {
  TemplateText out;
  out.pieces.reserve(text.pieces.size());
  for (const ast::TemplatePiece& piece : text.pieces) {
    TemplatePiece p;
    p.isPlaceholder = piece.isPlaceholder;
    p.text = piece.text;
    if (piece.isPlaceholder) {
      const ast::Placeholder& ph = piece.placeholder;
      p.placeholder.index = ph.index;
      for (size_t k = 0; k < ph.path.size(); ++k) {
        if (k) p.placeholder.name += '.';
        p.placeholder.name += ph.path[k].text;
      }
      p.placeholder.defaultText = ph.defaultText;
      p.placeholder.loc = ph.loc;
    }
    out.pieces.push_back(std::move(p));
  }
  return out;
}

}  // namespace

Template templateOf(const sema::TemplateInfo& info) {
  Template t;
  t.name = info.name;
  t.path = info.path;
  if (info.subject) t.subject = textOf(*info.subject);
  if (info.body) t.body = textOf(*info.body);
  t.html = info.html;
  return t;
}

Plan buildPlan(const sema::Model& m) {
  Plan plan;
  plan.retention = buildRetention(m);
  plan.events.resize(m.events.size());
  plan.goals.resize(m.rules.size());
  for (uint32_t ri = 0; ri < m.rules.size(); ++ri) {
    const auto& r = m.rules[ri];
    if (r.rule == nullptr) continue;
    for (uint32_t ev : r.anchorEvents) {
      if (ev >= plan.events.size()) continue;
      auto& anchors = plan.events[ev].anchors;
      if (!anchors.empty() && anchors.back().rule == ri) continue;  // `(A or A(...))`
      addAnchor(m, ri, ev, plan.events[ev]);
    }
    if (r.goalEvent && *r.goalEvent < plan.events.size() && r.rule->goal) {
      plan.events[*r.goalEvent].goalRules.push_back(ri);
      plan.goals[ri] = refMatch(m, *r.rule->goal->event, r.anchorEvents);
    }
  }
  for (EventPlan& p : plan.events) owners(p);
  if (m.settings.quietHours)
    plan.quietHours =
        QuietHours{m.settings.quietHours->startMinute, m.settings.quietHours->endMinute};
  for (const sema::FieldInfo& t : m.traits) {
    plan.traits.names.push_back(t.name);
    std::optional<Value> v;
    if (t.defaultValue != nullptr) v = literalValue(*t.defaultValue, t.type);
    plan.traits.defaults.push_back(v ? *v : Value{});
  }
  plan.rules.reserve(m.rules.size());
  for (const sema::RuleInfo& r : m.rules) plan.rules.push_back(ruleOf(m, r, plan));
  settingsAndNames(m, plan);
  plan.ruleNames = ruleNames(m);
  plan.templates.reserve(m.templates.size());
  for (const sema::TemplateInfo& t : m.templates) plan.templates.push_back(templateOf(t));
  return plan;
}

Program buildProgram(const sema::Model& model, const SourceManager& sources) {
  return Program{buildPlan(model), buildIngestPlan(model), SourceMap::of(sources)};
}

std::vector<std::string> ruleNames(const sema::Model& model) {
  std::vector<std::string> names;
  names.reserve(model.rules.size());
  for (const sema::RuleInfo& r : model.rules) names.push_back(r.name);
  return names;
}

SourceMap SourceMap::of(const SourceManager& sources) {
  SourceMap map;
  for (FileId id = 0; id < sources.size(); ++id) {
    const SourceFile& f = sources.file(id);
    map.paths.push_back(f.path());
    std::vector<uint32_t> starts;
    for (uint32_t line = 1; line <= f.lineCount(); ++line)
      starts.push_back(static_cast<uint32_t>(f.lineText(line).data() - f.text().data()));
    map.lineStarts.push_back(std::move(starts));
    map.sizes.push_back(static_cast<uint32_t>(f.text().size()));
  }
  return map;
}

std::string SourceMap::format(Loc loc) const {
  if (!loc.valid() || loc.file >= paths.size() || lineStarts[loc.file].empty()) return "";
  const std::vector<uint32_t>& starts = lineStarts[loc.file];
  // As SourceFile::lineCol: the last line starting at or before the offset, an offset past the
  // end counting as the end.
  const uint32_t offset = std::min(loc.begin, sizes[loc.file]);
  auto it = std::upper_bound(starts.begin(), starts.end(), offset);
  const auto line = static_cast<uint32_t>(it - starts.begin());
  return paths[loc.file] + ":" + std::to_string(line) + ":" +
         std::to_string(offset - starts[line - 1] + 1);
}

std::string formatLoc(Loc loc, const SourceManager& sources) {
  if (!loc.valid() || loc.file >= sources.size()) return "";
  const SourceFile& f = sources.file(loc.file);
  LineCol lc = f.lineCol(loc.begin);
  return f.path() + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column);
}

}  // namespace trig::plan
