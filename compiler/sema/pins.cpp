#include "compiler/sema/pins.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

namespace trig::sema {
namespace {

// The slot of a string or bool field of `event` that `e` names, and whether it is a string.
std::optional<std::pair<uint32_t, bool>> field(const Model& model, uint32_t event,
                                               const ast::Expr* e) {
  if (e == nullptr || e->kind != ast::ExprKind::Name || e->id >= model.exprRef.size() ||
      e->id >= model.exprType.size())
    return std::nullopt;
  const Ref& ref = model.exprRef[e->id];
  if ((ref.kind != RefKind::EventField && ref.kind != RefKind::AnchorField) || ref.event != event ||
      ref.field == kNone)
    return std::nullopt;
  TypeKind t = model.exprType[e->id].kind;
  if (t != TypeKind::String && t != TypeKind::Bool) return std::nullopt;
  return std::pair{ref.field, t == TypeKind::String};
}

// A string or bool literal as a pin value, if `e` is one of the field's kind.
std::optional<std::string> literal(const ast::Expr* e, bool strings) {
  if (e == nullptr) return std::nullopt;
  if (strings && e->kind == ast::ExprKind::StringLit) return e->text;
  if (!strings && e->kind == ast::ExprKind::BoolLit)
    return std::string(e->boolValue ? "true" : "false");
  return std::nullopt;
}

std::optional<core::Pin> pinOf(const Model& model, uint32_t event, const ast::Expr* e) {
  if (e == nullptr || e->kind != ast::ExprKind::Binary) return std::nullopt;
  std::optional<core::Pin> pin;
  if (e->op == ast::Op::Eq) {
    for (auto [name, lit] : {std::pair{e->lhs, e->rhs}, std::pair{e->rhs, e->lhs}})
      if (auto f = field(model, event, name))
        if (auto v = literal(lit, f->second)) {
          pin = core::Pin{f->first, false, f->second, {*v}};
          break;
        }
  } else if (e->op == ast::Op::StartsWith) {
    auto f = field(model, event, e->lhs);
    auto v = f && f->second ? literal(e->rhs, true) : std::nullopt;
    if (v && !v->empty()) pin = core::Pin{f->first, true, true, {*v}};
  } else if (e->op == ast::Op::In && e->rhs != nullptr && e->rhs->kind == ast::ExprKind::List) {
    auto f = field(model, event, e->lhs);
    if (!f) return std::nullopt;
    pin = core::Pin{f->first, false, f->second, {}};
    for (const ast::Expr* item : e->rhs->items) {
      auto v = literal(item, f->second);
      if (!v) return std::nullopt;
      pin->values.push_back(std::move(*v));
    }
  } else if (e->op == ast::Op::Or) {
    // `f == "a" or f == "b"`: holds only when f is one of them, as `f in ["a", "b"]`.
    auto a = pinOf(model, event, e->lhs), b = pinOf(model, event, e->rhs);
    if (!a || !b || a->slot != b->slot || a->prefix != b->prefix || a->strings != b->strings)
      return std::nullopt;
    pin = std::move(a);
    pin->values.insert(pin->values.end(), b->values.begin(), b->values.end());
  }
  if (pin) {
    std::sort(pin->values.begin(), pin->values.end());
    pin->values.erase(std::unique(pin->values.begin(), pin->values.end()), pin->values.end());
  }
  return pin;
}

void conjuncts(const ast::Expr* e, std::vector<const ast::Expr*>& out) {
  if (e != nullptr && e->kind == ast::ExprKind::Binary && e->op == ast::Op::And &&
      e->lhs != nullptr && e->rhs != nullptr) {
    conjuncts(e->lhs, out);
    conjuncts(e->rhs, out);
  } else if (e != nullptr) {
    out.push_back(e);
  }
}

}  // namespace

std::vector<core::Pin> pinsOf(const Model& model, uint32_t event, const ast::Expr* filter) {
  std::vector<const ast::Expr*> terms;
  conjuncts(filter, terms);
  std::vector<core::Pin> out;
  for (const ast::Expr* t : terms)
    if (auto p = pinOf(model, event, t)) out.push_back(std::move(*p));
  return out;
}

}  // namespace trig::sema
