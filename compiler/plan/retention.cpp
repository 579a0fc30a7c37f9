// Retention (plan.h): what each event type's history must keep, from every expression of every
// rule. A slot or a window left out would silently read as absent: when in doubt, keep it.
#include <algorithm>

#include "compiler/plan/build.h"

namespace trig::plan {
namespace {

// The walk over a checked program's expressions that buildRetention makes.
class Scanner {
 public:
  explicit Scanner(const sema::Model& model) : model_(model), types_(model.events.size()) {}
  void scan(const ast::Expr* e, bool inHistory = false);
  void scanSteps(const std::vector<ast::Step>& steps);
  void keepFor(uint32_t type, DurationMs window) {
    if (type < types_.size()) types_[type].window = std::max(types_[type].window, window);
  }
  // The retentions with their row lengths (every field when one is read by name whatever the
  // type); RetentionPlan::of sorts the slots.
  std::vector<Retention> finish() {
    for (uint32_t t = 0; t < types_.size(); ++t) {
      Retention& r = types_[t];
      r.fields = static_cast<uint32_t>(model_.events[t].fields.size());
      if (allFields_) {
        r.slots.clear();
        for (uint32_t i = 0; i < r.fields; ++i) r.slots.push_back(i);
      }
    }
    return std::move(types_);
  }

 private:
  void readsField(uint32_t type, uint32_t slot);
  const sema::Model& model_;
  std::vector<Retention> types_;
  bool allFields_ = false;  // a field read by name whatever the type: keep every field
};

}  // namespace

RetentionPlan buildRetention(const sema::Model& model) {
  Scanner p(model);
  for (const auto& rule : model.rules) {
    if (rule.rule == nullptr) continue;
    for (const auto* t : rule.rule->terms) p.scan(t);
    for (const auto* u : rule.rule->unless) p.scan(u);
    if (rule.rule->priorityExpr != nullptr) p.scan(rule.rule->priorityExpr);
    for (const auto* r : rule.rule->anchor.events)
      if (r->filter) p.scan(r->filter);
    // A goal counts the events in (send, send + within]: kept that long.
    if (rule.rule->goal && rule.goalEvent) p.keepFor(*rule.goalEvent, rule.rule->goal->within.ms);
    if (rule.rule->goal && rule.rule->goal->event->filter) p.scan(rule.rule->goal->event->filter);
    p.scanSteps(rule.rule->steps);
  }
  return RetentionPlan::of(p.finish());
}

RetentionPlan RetentionPlan::of(std::vector<Retention> types) {
  RetentionPlan p;
  p.types_ = std::move(types);
  for (Retention& r : p.types_) {
    p.anySinceFiring_ = p.anySinceFiring_ || r.sinceFiring;
    std::sort(r.slots.begin(), r.slots.end());
    r.slots.erase(std::unique(r.slots.begin(), r.slots.end()), r.slots.end());
  }
  return p;
}

void Scanner::scanSteps(const std::vector<ast::Step>& steps) {
  for (const auto& s : steps) {
    for (const auto* u : s.unless) scan(u);
    for (const auto& b : s.bindings) scan(b.value);
    for (const auto& v : s.variants) scanSteps(v.steps);
  }
}

void Scanner::readsField(uint32_t type, uint32_t slot) {
  if (type < types_.size() && slot != sema::kNone) types_[type].slots.push_back(slot);
}

// Besides the windows: every field slot an expression can read of a remembered event: the
// fields named inside the filter of a history term (`inHistory`: not those of an anchor's or a
// goal's filter, which read the incoming event), `same` lists, aggregated and `last` fields.
// A slot left out would read as absent from history, silently: when in doubt, keep it.
void Scanner::scan(const ast::Expr* e, bool inHistory) {
  if (e == nullptr) return;
  const sema::Model& model = model_;
  auto eventOf = [&](const ast::Expr& x) -> uint32_t {
    if (x.id < model.exprEvent.size() && model.exprEvent[x.id] != sema::kNone)
      return model.exprEvent[x.id];
    if (x.event != nullptr)
      if (const auto* info = model.findEvent(x.event->name.text)) return info->index;
    return sema::kNone;
  };
  if (e->kind == ast::ExprKind::EventTerm || e->kind == ast::ExprKind::Aggregate ||
      e->kind == ast::ExprKind::Last) {
    uint32_t t = eventOf(*e);
    uint32_t field = e->id < model.exprField.size() ? model.exprField[e->id] : sema::kNone;
    if (field == sema::kNone && !e->field.text.empty() && t < model.events.size())
      field = model.events[t].fieldIndex(e->field.text);  // as the interpreter falls back
    readsField(t, field);
    if (auto it = model.exprSame.find(e->id); it != model.exprSame.end())
      for (const auto& same : it->second) readsField(t, same.eventField);
    if (e->event != nullptr)
      if (auto it = model.eventRefSame.find(e->event); it != model.eventRefSame.end())
        for (const auto& same : it->second) readsField(t, same.eventField);
  }
  if (inHistory && e->kind == ast::ExprKind::Name && e->id < model.exprRef.size() &&
      model.exprRef[e->id].kind == sema::RefKind::EventField) {
    const sema::Ref& ref = model.exprRef[e->id];
    if (ref.event == sema::kNone || ref.field == sema::kNone)
      allFields_ = true;  // read by name from whatever event is filtered
    else
      readsField(ref.event, ref.field);
  }
  switch (e->kind) {
    case ast::ExprKind::EventTerm:
    case ast::ExprKind::Aggregate: {
      uint32_t t = eventOf(*e);
      if (t < types_.size()) {
        if (e->window)
          types_[t].window = std::max(types_[t].window, e->window->ms);
        else
          types_[t].sinceFiring = true;
      }
      if (e->event != nullptr) scan(e->event->filter, true);
      break;
    }
    case ast::ExprKind::Last: {
      uint32_t t = eventOf(*e);
      if (t < types_.size()) {
        bool filtered =
            e->event != nullptr && (e->event->filter != nullptr || !e->event->same.empty());
        if (filtered)
          types_[t].keepAll = true;
        else
          types_[t].keepLast = true;
      }
      if (e->event != nullptr) scan(e->event->filter, true);
      break;
    }
    case ast::ExprKind::Name:
      if (e->id < model.exprRef.size() && model.exprRef[e->id].kind == sema::RefKind::BareEvent &&
          model.exprRef[e->id].event < types_.size())
        types_[model.exprRef[e->id].event].sinceFiring = true;
      break;
    default: break;
  }
  scan(e->lhs, inHistory);
  scan(e->rhs, inHistory);
  for (const auto* item : e->items) scan(item, inHistory);
}

}  // namespace trig::plan
