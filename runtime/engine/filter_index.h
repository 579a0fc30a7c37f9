#pragma once
// Which anchor filters of an event type an event can pass, found without running them: the
// runtime's discrimination index (the hashed alpha memories of a Rete network).
//
// Most rules pin their anchor to a segment with a string equality (`cart_add(category ==
// "phones" and ...)`, `product_view(product_id in ["p1", "p2"] and ...)`) or a prefix
// (`page_view(url starts_with "/sale/" and ...)`). Such a filter cannot hold unless the event's
// field equals one of its strings (or starts with its prefix), so it is filed under them: an
// event looks up its own value of the field (or the value's first k bytes, k the shortest
// prefix filed on that field) and gets the few filters worth running. Filters without such a
// conjunct are always candidates. A candidate is still run whole, so the index only has to be
// sound (never leave out a filter that would hold), which the test checks.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/core/event.h"
#include "compiler/core/pin.h"
#include "runtime/engine/id_table.h"

namespace trig::engine {

class FilterIndex {
 public:
  // Indexes the anchor filters of an event type by their pins (the rule plan's filterPins, one
  // list per filter; the filters are numbered by their position).
  static FilterIndex build(std::span<const std::vector<core::Pin>> filterPins);

  // The filters `e` can pass, each once, into `out` (cleared first): those that are always
  // candidates, then those keyed under e's values, ascending within each group.
  void candidates(const Event& e, std::vector<uint32_t>& out) const;

  size_t indexed() const { return indexed_; }  // filters that are not always candidates

 private:
  // The filters filed under field `slot`: by the whole value (`prefix` 0) or by its first
  // `prefix` bytes, in an open-addressing table of strings (power-of-two size, linear probing).
  struct Bucket {
    uint64_t hash = 0;
    std::string key;
    std::vector<uint32_t> filters;  // empty: a free bucket
  };
  struct Keyed {
    uint32_t slot = 0;
    uint32_t prefix = 0;
    std::vector<Bucket> table;
    size_t used = 0;
    const Bucket* find(std::string_view key) const;
    void add(const std::string& key, uint32_t filter);
    size_t probe(std::string_view key, uint64_t h) const;
  };
  std::vector<Keyed> keyed_;
  std::vector<uint32_t> always_;
  size_t indexed_ = 0;
};

}  // namespace trig::engine
