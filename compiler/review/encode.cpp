#include "compiler/review/encode.h"

#include <algorithm>
#include <limits>

#include "compiler/sema/pins.h"

namespace trig::review {
namespace {

using core::TypeKind;

bool isReal(const z3::expr& e) {
  return e.is_arith() && e.is_real();
}

// Both sides in one arithmetic sort (an int literal beside money is a real).
void unify(z3::expr& a, z3::expr& b) {
  if (!a.is_arith() || !b.is_arith()) return;
  if (isReal(a) && !isReal(b)) b = z3::to_real(b);
  if (isReal(b) && !isReal(a)) a = z3::to_real(a);
}

bool anySeq(const z3::expr& e, std::set<unsigned>& seen) {
  if (!seen.insert(e.id()).second) return false;
  if (e.get_sort().is_seq()) return true;
  if (!e.is_app()) return false;
  for (unsigned k = 0; k < e.num_args(); ++k)
    if (anySeq(e.arg(k), seen)) return true;
  return false;
}

}  // namespace

void conjuncts(const ast::Expr& e, std::vector<const ast::Expr*>& out) {
  if (e.kind == ast::ExprKind::Binary && e.op == ast::Op::And && e.lhs && e.rhs) {
    conjuncts(*e.lhs, out);
    conjuncts(*e.rhs, out);
    return;
  }
  out.push_back(&e);
}

Encoder::Encoder(z3::context& z, const Compilation& c) : z_(z), c_(c) {
  for (const auto& ri : c.model.rules) {
    if (ri.rule == nullptr) continue;
    for (const auto* ref : ri.rule->anchor.events) markTheory(ref->filter);
    for (const auto* t : ri.conditions) markTheory(t);
    for (const auto* u : ri.unless) markTheory(u);
  }
}

void Encoder::markTheory(const ast::Expr* e) {
  if (e == nullptr) return;
  if (e->kind == ast::ExprKind::Binary &&
      (e->op == ast::Op::StartsWith || e->op == ast::Op::Contains)) {
    for (const ast::Expr* side : {e->lhs, e->rhs}) {
      if (side == nullptr || side->id >= c_.model.exprRef.size()) continue;
      const sema::Ref& r = c_.model.exprRef[side->id];
      if (r.kind != sema::RefKind::None) theory_.insert(r.name);
    }
  }
  markTheory(e->lhs);
  markTheory(e->rhs);
  for (const auto* i : e->items) markTheory(i);
  if (e->event != nullptr) markTheory(e->event->filter);
}

z3::expr Encoder::code(const std::string& text) {
  auto [it, fresh] = codes_.emplace(text, static_cast<int64_t>(codes_.size()));
  if (fresh) literalOf_.emplace(it->second, text);
  return z_.int_val(it->second);
}

std::optional<std::string> Encoder::decode(const z3::expr& v) const {
  if (v.is_string_value()) return v.get_string();
  if (!v.is_numeral()) return std::nullopt;
  int64_t n = v.get_numeral_int64();
  if (auto it = literalOf_.find(n); it != literalOf_.end()) return it->second;
  // A string no literal of the rules equals.
  std::string s = "x" + std::to_string(n < 0 ? -n : n);
  while (codes_.count(s)) s += "x";
  return s;
}

bool Encoder::harmonize(Val& a, Val& b, const ast::Expr* aExpr, const ast::Expr* bExpr) {
  if (a.coded == b.coded) return true;
  Val& lit = a.coded ? b : a;
  const ast::Expr* litExpr = a.coded ? bExpr : aExpr;
  if (litExpr == nullptr || litExpr->kind != ast::ExprKind::StringLit) return false;
  lit.v = code(litExpr->text);
  lit.coded = true;
  return true;
}

std::string Encoder::anchorVar(uint32_t event, const std::string& field) const {
  return "a." + c_.model.events[event].name + "." + field;
}

z3::expr Encoder::var(const std::string& name, TypeKind kind) {
  auto it = vars_.find(name);
  if (it != vars_.end()) return it->second;
  z3::expr v = z_.bool_val(true);
  switch (kind) {
    case TypeKind::String: v = z_.string_const(name.c_str()); break;
    case TypeKind::Int:
    case TypeKind::Time:
    case TypeKind::Duration: v = z_.int_const(name.c_str()); break;
    case TypeKind::Float:
    case TypeKind::Money: v = z_.real_const(name.c_str()); break;
    case TypeKind::Bool:
    case TypeKind::List:
    case TypeKind::Error: v = z_.bool_const(name.c_str()); break;
  }
  vars_.emplace(name, v);
  return v;
}

z3::expr Encoder::presence(const std::string& name, bool optional) {
  if (!optional) return z_.bool_val(true);
  return var(name + "?", TypeKind::Bool);
}

std::string Encoder::text(Loc loc) const {
  if (!loc.valid()) return "";
  std::string_view t = c_.sources.file(loc.file).text();
  if (loc.end > t.size() || loc.begin > loc.end) return "";
  return std::string(t.substr(loc.begin, loc.end - loc.begin));
}

Encoder::Val Encoder::field(const sema::FieldInfo& f, const std::string& name) {
  bool optional = f.optional && f.defaultValue == nullptr;
  if (f.type.kind == TypeKind::String && !theoryString(f.name))
    return Val{presence(name, optional), var(name, TypeKind::Int), true};
  return Val{presence(name, optional), var(name, f.type.kind)};
}

Encoder::Val Encoder::fresh(const ast::Expr& e, const Scope& s) {
  s.out->exact = false;
  std::string name = "u." + std::to_string(e.id);
  TypeKind k = c_.model.exprType[e.id].kind;
  return Val{var(name + "?", TypeKind::Bool), var(name, k)};
}

z3::expr Encoder::filterOnAnchor(const ast::EventRef& ref, const Scope& s) {
  Scope in{s.rule, s.anchorEvent, true, s.out};
  z3::expr m = z_.bool_val(true);
  if (ref.filter != nullptr) m = cond(*ref.filter, in);
  const sema::EventInfo& ev = c_.model.events[s.anchorEvent];
  for (const auto& same : ref.same) {  // `same f`: the anchor's f equals itself when present
    uint32_t slot = ev.fieldIndex(same.text);
    if (slot == sema::kNone) continue;
    m = m && field(ev.fields[slot], anchorVar(s.anchorEvent, same.text)).present;
  }
  return m;
}

Encoder::Val Encoder::history(const ast::Expr& e, const Scope& s) {
  uint32_t ev = c_.model.exprEvent[e.id];
  if (e.event == nullptr || ev == sema::kNone) return fresh(e, s);
  DurationMs idle = s.rule->idle.value_or(0);
  DurationMs window = e.window ? e.window->ms : std::numeric_limits<DurationMs>::max();
  bool count = e.kind == ast::ExprKind::EventTerm || e.agg == ast::AggFn::Count;
  std::string fn = count ? "count" : std::string("agg") + std::to_string(static_cast<int>(e.agg));
  std::string family = std::to_string(idle) + "|" + fn + "|" + e.field.text + "|" +
                       std::to_string(ev) + "|" + text(e.event->loc);
  std::string name = "h." + family + "@" + std::to_string(window);
  auto known = std::find_if(s.out->history.begin(), s.out->history.end(), [&](const HistoryVar& h) {
    return h.family == family && h.window == window;
  });
  z3::expr v = count ? var(name, TypeKind::Int) : var(name, c_.model.exprType[e.id].kind);
  if (known == s.out->history.end()) {
    z3::expr only = z_.int_val(0);
    if (count && ev == s.anchorEvent && window >= idle)
      only = z3::ite(filterOnAnchor(*e.event, s), z_.int_val(1), z_.int_val(0));
    s.out->history.push_back(HistoryVar{family, window, v, count, only});
  }
  if (e.kind == ast::ExprKind::EventTerm) return Val{z_.bool_val(true), v >= 1};
  if (count) return Val{z_.bool_val(true), v};
  // sum, min, max, avg, median: a value the encoding does not relate to the counts.
  s.out->exact = false;
  return Val{var(name + "?", TypeKind::Bool), v};
}

z3::expr Encoder::cond(const ast::Expr& e, const Scope& s) {
  Val v = value(e, s);
  if (!v.v.is_bool()) return fresh(e, s).present;
  return v.present && v.v;
}

Encoder::Val Encoder::value(const ast::Expr& e, const Scope& s) {
  using K = ast::ExprKind;
  const sema::Model& m = c_.model;
  TypeKind type = m.exprType[e.id].kind;
  z3::expr yes = z_.bool_val(true);
  switch (e.kind) {
    case K::IntLit:
      if (type == TypeKind::Float || type == TypeKind::Money)
        return Val{yes, z_.real_val(std::to_string(e.intValue).c_str())};
      return Val{yes, z_.int_val(e.intValue)};
    case K::DecimalLit:
    case K::PercentLit: {
      std::string q = std::to_string(e.decimalValue.units) + "/" + std::to_string(Decimal::kScale);
      return Val{yes, z_.real_val(q.c_str())};
    }
    case K::StringLit: return Val{yes, z_.string_val(e.text)};
    case K::BoolLit: return Val{yes, z_.bool_val(e.boolValue)};
    case K::DurationLit:
    case K::TimeLit: return Val{yes, z_.int_val(e.intValue)};
    case K::Name:
    case K::Trait: {
      const sema::Ref& r = m.exprRef[e.id];
      if (r.kind == sema::RefKind::Trait && r.field < m.traits.size())
        return field(m.traits[r.field], traitVar(r.name));
      if (r.kind == sema::RefKind::AnchorField ||
          (r.kind == sema::RefKind::EventField && s.subjectIsAnchor && r.event == s.anchorEvent)) {
        const sema::EventInfo& ev = m.events[s.anchorEvent];
        uint32_t slot = ev.fieldIndex(r.name);
        if (slot != sema::kNone) return field(ev.fields[slot], anchorVar(s.anchorEvent, r.name));
      }
      return fresh(e, s);
    }
    case K::Unary:
      if (e.lhs == nullptr) return fresh(e, s);
      if (e.op == ast::Op::Not) return Val{yes, !cond(*e.lhs, s)};
      if (e.op == ast::Op::Neg) {
        Val v = value(*e.lhs, s);
        if (!v.v.is_arith()) return fresh(e, s);
        return Val{v.present, -v.v};
      }
      return fresh(e, s);
    case K::Binary: {
      if (e.lhs == nullptr || e.rhs == nullptr) return fresh(e, s);
      if (e.op == ast::Op::And) return Val{yes, cond(*e.lhs, s) && cond(*e.rhs, s)};
      if (e.op == ast::Op::Or) return Val{yes, cond(*e.lhs, s) || cond(*e.rhs, s)};
      Val l = value(*e.lhs, s);
      if (e.op == ast::Op::In && e.rhs->kind == K::List) {
        z3::expr any = z_.bool_val(false);
        for (const auto* item : e.rhs->items) {
          Val i = value(*item, s);
          Val lv = l;
          if (!harmonize(lv, i, e.lhs, item)) return fresh(e, s);
          z3::expr a = lv.v, b = i.v;
          unify(a, b);
          if (a.get_sort().id() != b.get_sort().id()) return fresh(e, s);
          any = any || (i.present && a == b);
        }
        return Val{yes, l.present && any};
      }
      Val r = value(*e.rhs, s);
      if ((e.op == ast::Op::Eq || e.op == ast::Op::Ne) && !harmonize(l, r, e.lhs, e.rhs))
        return fresh(e, s);
      if ((l.coded || r.coded) && e.op != ast::Op::Eq && e.op != ast::Op::Ne) return fresh(e, s);
      z3::expr a = l.v, b = r.v;
      unify(a, b);
      z3::expr both = l.present && r.present;
      bool strings = a.is_seq() && b.is_seq();
      if (strings) s.out->strings = true;
      bool arith = a.is_arith() && b.is_arith();
      bool same = a.get_sort().id() == b.get_sort().id();
      switch (e.op) {
        case ast::Op::Eq:
          if (!same) return fresh(e, s);
          return Val{yes, both && a == b};
        case ast::Op::Ne:
          if (!same) return fresh(e, s);
          return Val{yes, both && a != b};
        case ast::Op::Lt:
        case ast::Op::Le:
        case ast::Op::Gt:
        case ast::Op::Ge: {
          if (!arith) return fresh(e, s);
          z3::expr c = e.op == ast::Op::Lt   ? a < b
                       : e.op == ast::Op::Le ? a <= b
                       : e.op == ast::Op::Gt ? a > b
                                             : a >= b;
          return Val{yes, both && c};
        }
        case ast::Op::Contains:
          if (!strings) return fresh(e, s);
          s.out->strings = true;
          return Val{yes, both && a.contains(b)};
        case ast::Op::StartsWith:
          if (!strings) return fresh(e, s);
          s.out->strings = true;
          return Val{yes, both && z3::prefixof(b, a)};
        case ast::Op::Add:
        case ast::Op::Sub:
        case ast::Op::Mul: {
          // Money times money rounds to millionths: not modelled exactly.
          if (!arith || (e.op == ast::Op::Mul && type == TypeKind::Money)) return fresh(e, s);
          z3::expr out = e.op == ast::Op::Add ? a + b : e.op == ast::Op::Sub ? a - b : a * b;
          // An integer result outside 64 bits is absent (overflow), as the operators have it.
          if (!isReal(out))
            both = both && out >= z_.int_val(std::numeric_limits<int64_t>::min()) &&
                   out <= z_.int_val(std::numeric_limits<int64_t>::max());
          return Val{both, out};
        }
        case ast::Op::Div:
          // Integer division truncates, Z3's does not; money quotients round: unknowns.
          if (!arith || !isReal(a) || type == TypeKind::Money) return fresh(e, s);
          return Val{both && b != 0, a / b};
        case ast::Op::In:  // a list field: not modelled
        case ast::Op::Not:
        case ast::Op::Neg:
        case ast::Op::And:
        case ast::Op::Or: return fresh(e, s);
      }
      return fresh(e, s);
    }
    case K::EventTerm:
      if (!e.window) return fresh(e, s);  // "since the rule fired": steps only
      return history(e, s);
    case K::Aggregate: return history(e, s);
    case K::Call:
      if (e.callee.text == "exists" && e.items.size() == 1)
        return Val{yes, value(*e.items[0], s).present};
      return fresh(e, s);
    case K::Idle: return Val{yes, yes};
    case K::List:
    case K::Last:
    case K::Error: return fresh(e, s);
  }
  return fresh(e, s);
}

Encoded Encoder::encode(const sema::RuleInfo& ri, uint32_t anchorEvent) {
  Encoded out;
  out.rule = &ri;
  out.anchorEvent = anchorEvent;
  Scope s{&ri, anchorEvent, false, &out};
  Scope onAnchor{&ri, anchorEvent, true, &out};
  auto add = [&](Term::Kind kind, const ast::Expr* e, Loc loc, auto&& make) {
    // `exact` is sticky over the rule; each term's own is kept too (for the pins, review.cpp).
    bool before = out.exact;
    out.exact = true;
    try {
      out.terms.push_back(Term{kind, make(), loc, e, true});
    } catch (const z3::exception&) {  // a sort the encoding did not foresee: an unknown
      out.exact = false;
      out.terms.push_back(Term{kind,
                               var("u.term." + std::to_string(e ? e->id : 0), core::TypeKind::Bool),
                               loc, e, false});
    }
    out.terms.back().exact = out.exact;
    out.exact = before && out.exact;
  };
  std::vector<const ast::EventRef*> refs;
  for (const auto* ref : ri.rule->anchor.events) {
    auto it = c_.model.eventRefEvent.find(ref);
    if (it != c_.model.eventRefEvent.end() && it->second == anchorEvent) refs.push_back(ref);
  }
  if (refs.size() == 1 && refs.front()->filter != nullptr) {
    std::vector<const ast::Expr*> parts;
    conjuncts(*refs.front()->filter, parts);
    for (const auto* p : parts)
      add(Term::Kind::Filter, p, p->loc, [&] { return cond(*p, onAnchor); });
  } else if (refs.size() > 1) {
    add(Term::Kind::Filter, nullptr, ri.rule->anchor.loc, [&] {
      z3::expr any = z_.bool_val(false);
      for (const auto* ref : refs)
        any = any || (ref->filter != nullptr ? cond(*ref->filter, onAnchor) : z_.bool_val(true));
      return any;
    });
  }
  for (const auto* t : ri.conditions) {
    std::vector<const ast::Expr*> parts;
    conjuncts(*t, parts);
    for (const auto* p : parts) add(Term::Kind::When, p, p->loc, [&] { return cond(*p, s); });
  }
  for (const auto* u : ri.unless) add(Term::Kind::Unless, u, u->loc, [&] { return !cond(*u, s); });
  z3::expr self = z_.bool_val(true);
  bool any = false;
  for (const auto& h : out.history)
    if (h.isCount && !(h.onlyAnchor.is_numeral() && h.onlyAnchor.get_numeral_int64() == 0)) {
      self = self && h.var >= h.onlyAnchor;
      any = true;
    }
  if (any) out.terms.push_back(Term{Term::Kind::Self, self, ri.rule->anchor.loc, nullptr, true});
  std::set<unsigned> seen;
  for (const auto& t : out.terms) out.strings = out.strings || anySeq(t.holds, seen);
  for (const auto& t : out.terms)
    if (t.kind == Term::Kind::Filter && t.exact && t.expr != nullptr)
      for (auto& pin : sema::pinsOf(c_.model, anchorEvent, t.expr)) out.pins.push_back(pin);
  return out;
}

std::vector<z3::expr> Encoder::axioms(const std::vector<const Encoded*>& rules) const {
  std::map<std::string, std::map<DurationMs, z3::expr>> families;
  for (const auto* r : rules)
    for (const auto& h : r->history)
      if (h.isCount) families[h.family].emplace(h.window, h.var);
  std::vector<z3::expr> out;
  for (const auto& [family, windows] : families) {
    const z3::expr* narrower = nullptr;
    for (const auto& [w, v] : windows) {
      out.push_back(v >= 0);
      if (narrower != nullptr) out.push_back(*narrower <= v);
      narrower = &v;
    }
  }
  return out;
}

}  // namespace trig::review
