#include "runtime/engine/filter_index.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace trig::engine {
namespace {

// The terms of a top-level `and` chain.
void conjuncts(const ast::Expr* e, std::vector<const ast::Expr*>& out) {
  if (e->kind == ast::ExprKind::Binary && e->op == ast::Op::And && e->lhs != nullptr && e->rhs != nullptr) {
    conjuncts(e->lhs, out);
    conjuncts(e->rhs, out);
  } else {
    out.push_back(e);
  }
}

// The slot of a string field of `event` that `e` names, if it does.
std::optional<uint32_t> stringField(const sema::Model& model, uint32_t event, const ast::Expr* e) {
  if (e == nullptr || e->kind != ast::ExprKind::Name || e->id >= model.exprRef.size() ||
      e->id >= model.exprType.size())
    return std::nullopt;
  const sema::Ref& ref = model.exprRef[e->id];
  if ((ref.kind != sema::RefKind::EventField && ref.kind != sema::RefKind::AnchorField) || ref.event != event ||
      ref.field == sema::kNone || model.exprType[e->id].kind != sema::TypeKind::String)
    return std::nullopt;
  return ref.field;
}

struct Key {
  uint32_t slot;
  std::set<std::string> values;
};

// `f == "x"`, `"x" == f` or `f in ["x", "y"]` for a string field f of the event: the filter
// cannot hold unless f is one of the strings (an absent f makes the comparison false).
std::optional<Key> keyOf(const sema::Model& model, uint32_t event, const ast::Expr* c) {
  if (c->kind != ast::ExprKind::Binary) return std::nullopt;
  if (c->op == ast::Op::Eq) {
    for (auto [name, lit] : {std::pair{c->lhs, c->rhs}, std::pair{c->rhs, c->lhs}}) {
      auto slot = stringField(model, event, name);
      if (slot && lit != nullptr && lit->kind == ast::ExprKind::StringLit) return Key{*slot, {lit->text}};
    }
    return std::nullopt;
  }
  if (c->op == ast::Op::In && c->rhs != nullptr && c->rhs->kind == ast::ExprKind::List) {
    auto slot = stringField(model, event, c->lhs);
    if (!slot) return std::nullopt;
    Key k{*slot, {}};
    for (const ast::Expr* item : c->rhs->items) {
      if (item == nullptr || item->kind != ast::ExprKind::StringLit) return std::nullopt;
      k.values.insert(item->text);
    }
    return k;
  }
  return std::nullopt;
}

}  // namespace

FilterIndex FilterIndex::build(const sema::Model& model, uint32_t event, std::span<const ast::Expr* const> filters) {
  // Each filter's keys; a filter is indexed under the field most filters of the type key on
  // (the fewer fields, the fewer look-ups per event).
  std::vector<std::vector<Key>> keys(filters.size());
  std::map<uint32_t, size_t> popularity;
  for (size_t i = 0; i < filters.size(); ++i) {
    std::vector<const ast::Expr*> terms;
    if (filters[i] != nullptr) conjuncts(filters[i], terms);
    for (const ast::Expr* t : terms)
      if (auto k = keyOf(model, event, t)) keys[i].push_back(std::move(*k));
    std::set<uint32_t> slots;
    for (const Key& k : keys[i]) slots.insert(k.slot);
    for (uint32_t s : slots) ++popularity[s];
  }
  FilterIndex index;
  for (uint32_t i = 0; i < filters.size(); ++i) {
    if (keys[i].empty()) {
      index.always_.push_back(i);
      continue;
    }
    const Key* best = &keys[i][0];
    for (const Key& k : keys[i])
      if (popularity[k.slot] > popularity[best->slot]) best = &k;
    auto it = std::find_if(index.keyed_.begin(), index.keyed_.end(), [&](const Keyed& k) { return k.slot == best->slot; });
    if (it == index.keyed_.end()) it = index.keyed_.insert(index.keyed_.end(), Keyed{best->slot, {}});
    for (const std::string& v : best->values) it->byValue[v].push_back(i);
    ++index.indexed_;
  }
  return index;
}

void FilterIndex::candidates(const Event& e, std::vector<uint32_t>& out) const {
  out.assign(always_.begin(), always_.end());
  if (keyed_.empty()) return;
  for (const Keyed& k : keyed_) {
    if (k.slot >= e.fields.size() || e.fields[k.slot].kind != Value::Kind::String) continue;
    auto it = k.byValue.find(std::string_view(e.fields[k.slot].s));
    if (it != k.byValue.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
}

}  // namespace trig::engine
