#include <charconv>

#include "compiler/plan/build.h"

namespace trig::plan {

std::optional<Value> literalValue(const ast::Expr& expr, sema::Type type) {
  using sema::TypeKind;
  switch (expr.kind) {
    case ast::ExprKind::IntLit:
      if (type.kind == TypeKind::Int) return Value::integer(expr.intValue);
      if (type.kind == TypeKind::Money) {
        if (auto d = Decimal::fromInt(expr.intValue)) return Value::money(*d);
        return std::nullopt;  // out of range: the checker refused it
      }
      if (type.kind == TypeKind::Float) return Value::flt(static_cast<double>(expr.intValue));
      return std::nullopt;
    case ast::ExprKind::DecimalLit:
      if (type.kind == TypeKind::Money) return Value::money(expr.decimalValue);
      if (type.kind == TypeKind::Float) {
        double d = 0;
        auto r = std::from_chars(expr.text.data(), expr.text.data() + expr.text.size(), d);
        if (expr.text.empty() || r.ec != std::errc()) d = expr.decimalValue.toDouble();
        return Value::flt(d);
      }
      return std::nullopt;
    case ast::ExprKind::StringLit:
      if (type.kind == TypeKind::String) return Value::str(expr.text);
      return std::nullopt;
    case ast::ExprKind::BoolLit:
      if (type.kind == TypeKind::Bool) return Value::boolean(expr.boolValue);
      return std::nullopt;
    case ast::ExprKind::DurationLit:
      if (type.kind == TypeKind::Duration) return Value::duration(expr.intValue);
      return std::nullopt;
    case ast::ExprKind::TimeLit:
      if (type.kind == TypeKind::Time) return Value::time(expr.intValue);
      return std::nullopt;
    case ast::ExprKind::Unary: {
      if (expr.op != ast::Op::Neg || !expr.lhs) return std::nullopt;
      auto inner = literalValue(*expr.lhs, type);
      if (!inner) return std::nullopt;
      switch (inner->kind) {
        case Value::Kind::Int: inner->i = -inner->i; return inner;
        case Value::Kind::Float: inner->f = -inner->f; return inner;
        case Value::Kind::Money: inner->m.units = -inner->m.units; return inner;
        default: return std::nullopt;
      }
    }
    case ast::ExprKind::List: {
      if (type.kind != TypeKind::List) return std::nullopt;
      Value list;
      list.kind = Value::Kind::List;
      for (const ast::Expr* item : expr.items) {
        if (!item) return std::nullopt;
        auto v = literalValue(*item, sema::Type::of(type.elem));
        if (!v) return std::nullopt;
        list.list.push_back(std::move(*v));
      }
      return list;
    }
    default: return std::nullopt;
  }
}

namespace {

IngestField ingestField(const sema::FieldInfo& f) {
  IngestField out;
  out.name = f.name;
  out.aliases = f.aliases;
  out.kind = f.type.kind;
  out.elem = f.type.elem;
  out.typeName = sema::typeName(f.type);
  if (f.type.kind == sema::TypeKind::List)
    out.elemTypeName = sema::typeName(sema::Type::of(f.type.elem));
  out.optional = f.optional;
  if (f.defaultValue) out.defaultValue = literalValue(*f.defaultValue, f.type);
  out.slot = f.slot;
  return out;
}

}  // namespace

IngestPlan buildIngestPlan(const sema::Model& model) {
  IngestPlan plan;
  auto& events = plan.events;
  events.reserve(model.events.size());
  for (const sema::EventInfo& e : model.events) {
    IngestEvent ev;
    ev.name = e.name;
    ev.aliases = e.aliases;
    for (const sema::FieldInfo& f : e.fields) ev.fields.push_back(ingestField(f));
    events.push_back(std::move(ev));
  }
  for (const sema::FieldInfo& t : model.traits) plan.traits.push_back(ingestField(t));
  for (const auto& [alias, index] : model.eventByAlias)
    plan.eventAliases.emplace_back(alias, index);
  return plan;
}

}  // namespace trig::plan
