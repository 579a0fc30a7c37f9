#pragma once
// A hand-built sema::Model for the ingest, delivery and policy unit tests (they must not depend
// on the state of sema): a few events shaped like the standard library's, and customer traits.
#include <memory>
#include <string>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/plan/build.h"
#include "compiler/sema/model.h"

namespace trig::testing {

struct TestModel {
  ast::AstArena arena;
  sema::Model model;

  sema::FieldInfo field(std::string name, sema::Type type, bool optional = false,
                        const ast::Expr* def = nullptr) {
    sema::FieldInfo f;
    f.name = std::move(name);
    f.type = type;
    f.optional = optional;
    f.defaultValue = def;
    return f;
  }
  const ast::Expr* intLit(int64_t v) {
    ast::Expr* e = arena.newExpr(ast::ExprKind::IntLit, {});
    e->intValue = v;
    return e;
  }
  const ast::Expr* boolLit(bool v) {
    ast::Expr* e = arena.newExpr(ast::ExprKind::BoolLit, {});
    e->boolValue = v;
    return e;
  }
  const ast::Expr* strLit(std::string v) {
    ast::Expr* e = arena.newExpr(ast::ExprKind::StringLit, {});
    e->text = std::move(v);
    return e;
  }
  const ast::Expr* decimalLit(std::string text) {
    ast::Expr* e = arena.newExpr(ast::ExprKind::DecimalLit, {});
    e->decimalValue = *Decimal::parse(text);
    e->text = std::move(text);
    return e;
  }
  uint32_t event(std::string name, std::vector<sema::FieldInfo> fields,
                 std::vector<std::string> aliases = {}, bool passive = false) {
    sema::EventInfo info;
    info.index = static_cast<uint32_t>(model.events.size());
    info.name = name;
    info.passive = passive;
    info.aliases = aliases;
    for (uint32_t k = 0; k < fields.size(); ++k) fields[k].slot = k;
    info.fields = std::move(fields);
    model.eventByName[name] = info.index;
    for (const auto& a : aliases) model.eventByAlias[a] = info.index;
    model.events.push_back(std::move(info));
    return model.events.back().index;
  }

  TestModel() {
    using sema::Type;
    using sema::TypeKind;
    const Type str = Type::of(TypeKind::String), money = Type::of(TypeKind::Money),
               integer = Type::of(TypeKind::Int);
    event("page_view",
          {field("url", str), field("title", str, true), field("category", str, true)});
    event("cart_add", {field("product_id", str), field("product_name", str, true),
                       field("category", str, true), field("price", money, true),
                       field("quantity", integer, true), field("cart_value", money, true)});
    model.events.back().fields[1].aliases = {"name"};  // `from "name"`, as in the prelude
    event("email_open", {field("message_id", str), field("rule", str, true)}, {}, true);
    event("order_placed",
          {field("total", money), field("items", Type::listOf(TypeKind::String)),
           field("placed_at", Type::of(TypeKind::Time), true),
           field("rating", Type::of(TypeKind::Float), true),
           field("gift", Type::of(TypeKind::Bool), false, boolLit(false)),
           field("wait", Type::of(TypeKind::Duration), true),
           field("count", integer, false, intLit(1)),
           field("discount", money, false, decimalLit("5.5")),
           field("scores", Type::listOf(TypeKind::Int), true), field("html_url", str, true)},
          {"Order Completed", "Checkout Done"});
    event("unsubscribe", {});

    model.traits = {field("email", str, true),
                    field("first_name", str, true),
                    field("timezone", str, true),
                    field("subscribed", Type::of(TypeKind::Bool), false, boolLit(true)),
                    field("vip", Type::of(TypeKind::Bool), true),
                    field("score", Type::of(TypeKind::Float), true),
                    field("lifetime_value", money, true),
                    field("tags", Type::listOf(TypeKind::String), true)};
    for (uint32_t k = 0; k < model.traits.size(); ++k) model.traits[k].slot = k;
  }

  uint32_t eventIndex(const std::string& name) const { return model.eventByName.at(name); }
  uint32_t slot(const std::string& event, const std::string& fieldName) const {
    return model.events[eventIndex(event)].fieldIndex(fieldName);
  }
};

}  // namespace trig::testing
