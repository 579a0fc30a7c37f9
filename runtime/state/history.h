#pragma once
// One customer's remembered events, per type, in processing (timestamp) order: what the rules'
// windows, aggregates and `last` read through the History interface. Only the types and the
// ages the RetentionPlan asks for are kept; prune() drops the rest as the clock moves on.
#include <cstdint>
#include <utility>
#include <vector>

#include "compiler/interp/eval.h"
#include "runtime/state/retention.h"

namespace trig::state {

class EventHistory final : public History {
 public:
  // Remembers `e` if the plan stores its type, and prunes that type. Events of one customer
  // arrive in non-decreasing time. Identity fields the rules never read (customer, source,
  // message id, traits), and fields no expression reads, are not kept: the Event a callback
  // sees has them absent, and lives only until the callback returns.
  void append(const Event& e, const RetentionPlan& plan, TimeMs oldestFiring);
  // Drops what no rule can ask about any more at `now`. `oldestFiring` is the firing time of the
  // customer's oldest active flow (INT64_MAX when none), for "since the rule fired" steps.
  void prune(TimeMs now, const RetentionPlan& plan, TimeMs oldestFiring);

  void forEach(uint32_t type, TimeMs from, TimeMs to,
               const std::function<bool(const Event&)>& f) const override;
  void forEachNewestFirst(uint32_t type, TimeMs from, TimeMs to,
                          const std::function<bool(const Event&)>& f) const override;

  size_t size() const;  // events remembered, all types
  bool empty() const { return size() == 0; }

 private:
  // One type's events, [head, rows) live in ascending time. Each row keeps its time and input
  // order, and only the field values the plan's `slots` name (`width` of them, row-major in
  // `values`): an event the rules look back at costs 16 bytes plus the fields they read.
  struct Row {
    TimeMs time;
    uint64_t seq;
  };
  struct Store {
    uint32_t type = 0;
    const Retention* retention = nullptr;  // the plan's, which outlives the history
    std::vector<Row> rows;
    std::vector<Value> values;
    size_t head = 0;
  };
  const Store* find(uint32_t type) const;
  static void pruneStore(Store& s, TimeMs now, const Retention& r, TimeMs oldestFiring);
  static std::pair<size_t, size_t> rowsIn(const Store& s, TimeMs from, TimeMs to);
  // Calls f with rows [begin, end) of `s` rebuilt as Events (see history.cpp).
  static void visit(const Store& s, size_t begin, size_t end, bool newestFirst,
                    const std::function<bool(const Event&)>& f);
  std::vector<Store> stores_;  // few types per customer: a linear search beats a map
};

}  // namespace trig::state
