#include "compiler/interp/interp.h"

#include "compiler/core/aggregate.h"
#include "compiler/core/ops.h"

namespace trig::interp {
namespace {

using Kind = Value::Kind;

const Value& fieldOrAbsent(const Event& ev, uint32_t slot) {
  static const Value kAbsent;
  return slot < ev.fields.size() ? ev.fields[slot] : kAbsent;
}

}  // namespace

Value anchorField(const sema::Model& model, const Event* anchor, uint32_t event, uint32_t slot,
                  const std::string& name) {
  if (anchor == nullptr || anchor->kind != Event::Kind::Track) return Value::absent();
  if (event != sema::kNone && anchor->type == event && slot != sema::kNone)
    return fieldOrAbsent(*anchor, slot);
  // An anchor with alternatives: the field of that name in whichever event armed the rule.
  if (anchor->type >= model.events.size()) return Value::absent();
  uint32_t idx = model.events[anchor->type].fieldIndex(name);
  return idx == sema::kNone ? Value::absent() : fieldOrAbsent(*anchor, idx);
}

sema::TypeKind Interpreter::typeOf(const ast::Expr& e) const {
  return e.id < model_.exprType.size() ? model_.exprType[e.id].kind : sema::TypeKind::Error;
}

uint32_t Interpreter::eventOf(const ast::Expr& e) const {
  if (e.id < model_.exprEvent.size() && model_.exprEvent[e.id] != sema::kNone)
    return model_.exprEvent[e.id];
  if (e.event != nullptr) {
    if (auto it = model_.eventRefEvent.find(e.event); it != model_.eventRefEvent.end())
      return it->second;
    if (const auto* info = model_.findEvent(e.event->name.text)) return info->index;
  }
  return sema::kNone;
}

uint32_t Interpreter::fieldOf(const ast::Expr& e, uint32_t event) const {
  if (e.id < model_.exprField.size() && model_.exprField[e.id] != sema::kNone)
    return model_.exprField[e.id];
  if (event < model_.events.size()) return model_.events[event].fieldIndex(e.field.text);
  return sema::kNone;
}

void Interpreter::range(const ast::Expr& e, const EvalEnv& env, TimeMs& from, TimeMs& to) {
  to = env.now;
  if (e.window) {
    from = env.now - e.window->ms;
  } else {
    // No window: "since the rule fired" in a step; at rule level sema reports it, and the whole
    // remembered history is the closest meaning.
    from = env.firedAt;
  }
}

bool Interpreter::matches(const ast::Expr& term, const Event& ev, const EvalEnv& env) {
  const std::vector<sema::SameInfo>* same = nullptr;
  if (auto it = model_.exprSame.find(term.id); it != model_.exprSame.end())
    same = &it->second;
  else if (term.event != nullptr)
    if (auto rit = model_.eventRefSame.find(term.event); rit != model_.eventRefSame.end())
      same = &rit->second;
  if (same != nullptr) {
    for (const auto& s : *same) {
      Value mine = fieldOrAbsent(ev, s.eventField);
      Value theirs = anchorField(model_, env.anchor, sema::kNone, sema::kNone, s.anchorField);
      // `same f` is false when either side lacks f (compare() says so for absent values).
      if (!compare(ast::Op::Eq, mine, theirs)) return false;
    }
  }
  if (term.event != nullptr && term.event->filter != nullptr) {
    EvalEnv inner = env;
    inner.subject = &ev;
    if (!test(*term.event->filter, inner)) return false;
  }
  return true;
}

void Interpreter::forEachMatch(const ast::Expr& e, const EvalEnv& env,
                               const std::function<bool(const Event&)>& f) {
  uint32_t ev = eventOf(e);
  if (ev == sema::kNone || env.history == nullptr) return;
  TimeMs from, to;
  range(e, env, from, to);
  if (from > to) return;
  const bool sinceFiring = !e.window && env.firedAt != INT64_MIN;
  env.history->forEach(ev, from, to, [&](const Event& x) {
    if (sinceFiring && x.time == env.firedAt && static_cast<int64_t>(x.seq) <= env.firedAfterSeq)
      return true;
    if (!matches(e, x, env)) return true;
    return f(x);
  });
}

bool Interpreter::anyMatch(const ast::Expr& e, const EvalEnv& env) {
  bool found = false;
  forEachMatch(e, env, [&](const Event&) {
    found = true;
    return false;
  });
  return found;
}

Value Interpreter::aggregate(const ast::Expr& e, const EvalEnv& env) {
  core::Aggregate agg(e.agg, typeOf(e));
  if (e.agg == ast::AggFn::Count) {
    forEachMatch(e, env, [&](const Event&) {
      agg.add(Value::absent());
      return true;
    });
    return agg.result();
  }
  uint32_t field = fieldOf(e, eventOf(e));
  if (field == sema::kNone) return Value::absent();
  forEachMatch(e, env, [&](const Event& x) {
    agg.add(fieldOrAbsent(x, field));
    return true;
  });
  return agg.result();
}

Value Interpreter::last(const ast::Expr& e, const EvalEnv& env) {
  uint32_t ev = eventOf(e);
  if (ev == sema::kNone || env.history == nullptr) return Value::absent();
  uint32_t field = fieldOf(e, ev);
  if (field == sema::kNone) return Value::absent();
  Value out;
  // The most recent E (matching its filter) before or at t, at any age.
  env.history->forEachNewestFirst(ev, INT64_MIN, env.now, [&](const Event& x) {
    if (!matches(e, x, env)) return true;
    out = fieldOrAbsent(x, field);
    return false;
  });
  return out;
}

Value Interpreter::name(const ast::Expr& e, const EvalEnv& env) {
  if (e.id >= model_.exprRef.size()) return Value::absent();
  const sema::Ref& ref = model_.exprRef[e.id];
  switch (ref.kind) {
    case sema::RefKind::AnchorField:
      return anchorField(model_, env.anchor, ref.event, ref.field, ref.name);
    case sema::RefKind::EventField:
      if (env.subject == nullptr) return Value::absent();
      if (env.subject->type == ref.event || ref.event == sema::kNone)
        return ref.field == sema::kNone ? Value::absent() : fieldOrAbsent(*env.subject, ref.field);
      return anchorField(model_, env.subject, sema::kNone, sema::kNone, ref.name);
    case sema::RefKind::Trait:
      if (env.traits == nullptr || ref.field >= env.traits->size()) return Value::absent();
      return (*env.traits)[ref.field];
    case sema::RefKind::Binding:
      if (env.bindings != nullptr)
        for (const auto& [n, v] : *env.bindings)
          if (n == ref.name) return v;
      return Value::absent();
    case sema::RefKind::BareEvent: {
      // `unless purchased` in a step: some `purchased` since the rule fired.
      if (ref.event == sema::kNone || env.history == nullptr) return Value::boolean(false);
      bool found = false;
      env.history->forEach(ref.event, env.firedAt, env.now, [&](const Event& x) {
        if (x.time == env.firedAt && static_cast<int64_t>(x.seq) <= env.firedAfterSeq) return true;
        found = true;
        return false;
      });
      return Value::boolean(found);
    }
    case sema::RefKind::None: return Value::absent();
  }
  return Value::absent();
}

Value Interpreter::literal(const ast::Expr& e) {
  sema::TypeKind t = typeOf(e);
  switch (e.kind) {
    case ast::ExprKind::IntLit: return convertNumeric(Value::integer(e.intValue), t);
    case ast::ExprKind::DecimalLit:
      return t == sema::TypeKind::Float ? Value::flt(e.decimalValue.toDouble())
                                        : Value::money(e.decimalValue);
    case ast::ExprKind::PercentLit: {
      // 50% is the fraction 0.5.
      Value frac = Value::money(Decimal{e.decimalValue.units / 100});
      return t == sema::TypeKind::Float ? Value::flt(e.decimalValue.toDouble() / 100) : frac;
    }
    case ast::ExprKind::StringLit: return Value::str(e.text);
    case ast::ExprKind::BoolLit: return Value::boolean(e.boolValue);
    case ast::ExprKind::DurationLit: return Value::duration(e.intValue);
    case ast::ExprKind::TimeLit: return Value::time(e.intValue);
    default: return Value::absent();
  }
}

const Interpreter::ConstantList* Interpreter::constantList(const ast::Expr& e) {
  if (e.kind != ast::ExprKind::List) return nullptr;
  if (auto it = constantLists_.find(e.id); it != constantLists_.end()) return &it->second;
  ConstantList made;
  Value& out = made.value;
  out.kind = Value::Kind::List;
  out.list.reserve(e.items.size());
  for (const auto* item : e.items) {
    switch (item->kind) {
      case ast::ExprKind::IntLit:
      case ast::ExprKind::DecimalLit:
      case ast::ExprKind::PercentLit:
      case ast::ExprKind::StringLit:
      case ast::ExprKind::BoolLit:
      case ast::ExprKind::DurationLit:
      case ast::ExprKind::TimeLit: out.list.push_back(literal(*item)); break;
      default: return nullptr;  // an item that depends on the event: built each time
    }
  }
  // Long lists get a set of their strings, as the JIT gets sorted tables (docs/limits.md).
  made.indexed = out.list.size() >= 16;
  if (made.indexed)
    for (const Value& v : out.list)
      if (v.kind == Value::Kind::String) made.strings.insert(v.s);
  return &constantLists_.emplace(e.id, std::move(made)).first->second;
}

Value Interpreter::value(const ast::Expr& e, const EvalEnv& env) {
  switch (e.kind) {
    case ast::ExprKind::IntLit:
    case ast::ExprKind::DecimalLit:
    case ast::ExprKind::PercentLit:
    case ast::ExprKind::StringLit:
    case ast::ExprKind::BoolLit:
    case ast::ExprKind::DurationLit:
    case ast::ExprKind::TimeLit: return literal(e);
    case ast::ExprKind::List: {
      Value out;
      out.kind = Kind::List;
      out.list.reserve(e.items.size());
      for (const auto* item : e.items) out.list.push_back(value(*item, env));
      return out;
    }
    case ast::ExprKind::Name:
    case ast::ExprKind::Trait: return name(e, env);
    case ast::ExprKind::Unary:
      if (e.op == ast::Op::Not) return Value::boolean(!test(*e.lhs, env));
      return core::negate(value(*e.lhs, env));
    case ast::ExprKind::Binary:
      switch (core::opClass(e.op)) {
        case core::OpClass::Logical: return Value::boolean(test(e, env));
        case core::OpClass::Arithmetic:
          return arithmetic(e.op, value(*e.lhs, env), value(*e.rhs, env), typeOf(e));
        case core::OpClass::Comparison:
          // `x in [...]` of literals: the list is built once, not at every evaluation.
          if (const ConstantList* list = constantList(*e.rhs)) {
            Value x = value(*e.lhs, env);
            // A string is in the list exactly when one of its string items has its bytes.
            if (e.op == ast::Op::In && x.kind == Value::Kind::String && list->indexed)
              return Value::boolean(list->strings.count(x.s) != 0);
            return Value::boolean(compare(e.op, x, list->value));
          }
          return Value::boolean(compare(e.op, value(*e.lhs, env), value(*e.rhs, env)));
        case core::OpClass::Unary: return Value::absent();  // the parser never builds one
      }
      return Value::absent();
    // `idle` is the engine's business (a timer, not a value): when a condition is evaluated the
    // idle period has already passed.
    case ast::ExprKind::Idle: return Value::boolean(true);
    case ast::ExprKind::EventTerm: return Value::boolean(anyMatch(e, env));
    case ast::ExprKind::Aggregate: return aggregate(e, env);
    case ast::ExprKind::Last: return last(e, env);
    case ast::ExprKind::Call:
      if (e.callee.text == "exists" && e.items.size() == 1)
        return Value::boolean(!value(*e.items[0], env).isAbsent());
      return Value::absent();
    case ast::ExprKind::Error: return Value::absent();
  }
  return Value::absent();
}

namespace {

// Files `e` and the expressions inside it by id.
void index(const ast::Expr* e, std::vector<const ast::Expr*>& byId) {
  if (e == nullptr) return;
  if (byId.size() <= e->id) byId.resize(size_t{e->id} + 1, nullptr);
  byId[e->id] = e;
  index(e->lhs, byId);
  index(e->rhs, byId);
  for (const ast::Expr* item : e->items) index(item, byId);
  if (e->event != nullptr) index(e->event->filter, byId);
}

void index(const std::vector<ast::Step>& steps, std::vector<const ast::Expr*>& byId) {
  for (const ast::Step& s : steps) {
    for (const ast::Expr* u : s.unless) index(u, byId);
    for (const ast::Binding& b : s.bindings) index(b.value, byId);
    for (const ast::Variant& v : s.variants) index(v.steps, byId);
  }
}

}  // namespace

const ast::Expr* Interpreter::expr(ExprId id) {
  if (byId_.empty()) {
    for (const sema::RuleInfo& info : model_.rules) {
      const ast::Rule* r = info.rule;
      if (r == nullptr) continue;
      for (const ast::EventRef* ref : r->anchor.events) index(ref->filter, byId_);
      for (const ast::Expr* t : r->terms) index(t, byId_);
      for (const ast::Expr* u : r->unless) index(u, byId_);
      index(r->priorityExpr, byId_);
      if (r->goal && r->goal->event != nullptr) index(r->goal->event->filter, byId_);
      index(r->steps, byId_);
    }
    if (byId_.empty()) byId_.push_back(nullptr);  // indexed: no expression at all
  }
  return id < byId_.size() ? byId_[id] : nullptr;
}

bool Interpreter::test(ExprId cond, const EvalEnv& env) {
  const ast::Expr* e = expr(cond);
  return e != nullptr && test(*e, env);
}

Value Interpreter::value(ExprId id, const EvalEnv& env) {
  const ast::Expr* e = expr(id);
  return e != nullptr ? value(*e, env) : Value::absent();
}

bool Interpreter::test(const ast::Expr& cond, const EvalEnv& env) {
  if (cond.kind == ast::ExprKind::Binary) {
    if (cond.op == ast::Op::And) return test(*cond.lhs, env) && test(*cond.rhs, env);
    if (cond.op == ast::Op::Or) return test(*cond.lhs, env) || test(*cond.rhs, env);
  }
  if (cond.kind == ast::ExprKind::Unary && cond.op == ast::Op::Not) return !test(*cond.lhs, env);
  if (cond.kind == ast::ExprKind::EventTerm) return anyMatch(cond, env);
  Value v = value(cond, env);
  return v.kind == Kind::Bool && v.b;
}

}  // namespace trig::interp
