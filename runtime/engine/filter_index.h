#pragma once
// Which anchor filters of an event type an event can pass, found without running them: the
// runtime's discrimination index (the hashed alpha memories of a Rete network).
//
// Most rules pin their anchor to a segment with a string equality (`cart_add(category ==
// "phones" and ...)`, `product_view(product_id in ["p1", "p2"] and ...)`). Such a filter
// cannot hold unless the event's field equals one of its strings, so it is indexed under them:
// an event looks up its own value of the field and gets the few filters worth running. Filters
// without such a conjunct are always candidates. A candidate is still run whole, so the index
// only has to be sound (never leave out a filter that would hold), which the test checks.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/sema/model.h"
#include "runtime/core/event.h"
#include "runtime/engine/id_table.h"

namespace trig::engine {

class FilterIndex {
 public:
  // Indexes `filters`, the anchor filters of event type `event` (indices into this list).
  static FilterIndex build(const sema::Model& model, uint32_t event, std::span<const ast::Expr* const> filters);

  // The filters `e` can pass, each once, into `out` (cleared first): those that are always
  // candidates, then those keyed under e's values, ascending within each group.
  void candidates(const Event& e, std::vector<uint32_t>& out) const;

  size_t indexed() const { return indexed_; }  // filters that are not always candidates

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return hashId(s); }
  };
  // The filters that need field `slot` to equal one of their strings, by string.
  struct Keyed {
    uint32_t slot;
    std::unordered_map<std::string, std::vector<uint32_t>, Hash, std::equal_to<>> byValue;
  };
  std::vector<Keyed> keyed_;
  std::vector<uint32_t> always_;
  size_t indexed_ = 0;
};

}  // namespace trig::engine
