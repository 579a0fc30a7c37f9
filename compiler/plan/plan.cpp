#include "compiler/plan/plan.h"

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
    a.refs.push_back(AnchorRef{ref, filter, std::move(match)});
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

// The arms of every split among `steps` (and in its variants), by step id.
void addSplits(const std::vector<ast::Step>& steps, std::vector<SplitArms>& out) {
  for (const ast::Step& s : steps) {
    if (s.action != ast::ActionKind::Split) continue;
    if (out.size() <= s.id) out.resize(s.id + 1);
    SplitArms& arms = out[s.id];
    arms.name = s.splitName.text;
    for (const ast::Variant& v : s.variants) {
      arms.variants.push_back(v.name.text);
      arms.percents.push_back(v.percent);
      addSplits(v.steps, out);
    }
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
  if (info.subject) t.subject = textOf(*info.subject);
  if (info.body) t.body = textOf(*info.body);
  t.html = info.html;
  return t;
}

Plan buildPlan(const sema::Model& m) {
  Plan plan;
  plan.retention = RetentionPlan::build(m);
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
  for (const sema::RuleInfo& r : m.rules)
    if (r.rule != nullptr) addSplits(r.rule->steps, plan.splits);
  plan.ruleNames = ruleNames(m);
  plan.templates.reserve(m.templates.size());
  for (const sema::TemplateInfo& t : m.templates) plan.templates.push_back(templateOf(t));
  return plan;
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
