#pragma once
// One customer's remembered events, per type, in processing (timestamp) order: what the rules'
// windows, aggregates and `last` read through the History interface. Only the types and the
// ages the RetentionPlan asks for are kept; prune() drops the rest as the clock moves on.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "compiler/core/env.h"
#include "runtime/state/cell.h"
#include "runtime/state/compact_vector.h"
#include "runtime/state/retention.h"

namespace trig::state {

class EventHistory final : public History {
 public:
  EventHistory() = default;
  ~EventHistory() override;
  // Stores own their rows (and the out-of-line strings and lists in them): moved, never copied.
  EventHistory(EventHistory&& other) noexcept;
  EventHistory& operator=(EventHistory&& other) noexcept;
  EventHistory(const EventHistory&) = delete;
  EventHistory& operator=(const EventHistory&) = delete;

  // Remembers `e` if the plan stores its type, and prunes that type. Events of one customer
  // arrive in non-decreasing time. Identity fields the rules never read (customer, source,
  // message id, traits), and fields no expression reads, are not kept: the Event a callback
  // sees has them absent, and lives only until the callback returns. Every call (append and
  // prune) must pass the same plan, which must outlive the history.
  void append(const Event& e, const RetentionPlan& plan, TimeMs oldestFiring) {
    // Most events are of types no rule looks back at: told apart here, without a call.
    const Retention& r = plan.of(e.type);
    if (e.kind == Event::Kind::Track && r.stored()) appendRow(e, r, plan, oldestFiring);
  }
  // Drops what no rule can ask about any more at `now`. `oldestFiring` is the firing time of the
  // customer's oldest active flow (INT64_MAX when none), for "since the rule fired" steps.
  void prune(TimeMs now, const RetentionPlan& plan, TimeMs oldestFiring);
  // Takes every event `other` remembers (an anonymous visitor's, merged into a user: spec
  // section 8), in time order among these (input order for equal stamps), leaving `other`
  // empty; then prunes at `now`. Both histories must have been given the same plan.
  void mergeFrom(EventHistory&& other, const RetentionPlan& plan, TimeMs now, TimeMs oldestFiring);

  void forEach(uint32_t type, TimeMs from, TimeMs to,
               const std::function<bool(const Event&)>& f) const override;
  void forEachNewestFirst(uint32_t type, TimeMs from, TimeMs to,
                          const std::function<bool(const Event&)>& f) const override;
  void visitRows(uint32_t type, TimeMs from, TimeMs to, bool newestFirst, size_t minFields,
                 Reads reads, RowVisitor f, void* data) const override;
  int64_t countEqual(const EqualCount& q) const override;

  size_t size() const;  // events remembered, all types
  bool empty() const { return size() == 0; }
  // Heap bytes the history holds (row buffers, their unused capacity and out-of-line values,
  // without the allocator's own overhead): what the state costs per customer.
  size_t heapBytes() const;

  // A kept field value in 16 bytes (cell.h): a scalar, a string of up to 15 bytes in place, or
  // a pointer to a longer string or a list the history owns.
  using Cell = state::Cell;

 private:
  struct Row {
    TimeMs time;
    uint64_t seq;
  };
  // A row is one Row unit followed by `width` Cell units.
  union Unit {
    Row row;
    Cell cell;
  };
  static_assert(sizeof(Unit) == 16);
  // One type's events: a ring of `capacity` rows of which `count`, from `head` on, are live
  // in ascending time. Each row keeps its time and input order, and only the field values the
  // plan's `slots` name (`width` of them): an event the rules look back at costs 16 bytes plus
  // 16 per field they read (and a string longer than 15 bytes, or a list, its own allocation).
  struct Store {
    uint32_t type = 0;
    uint32_t width = 0;
    uint32_t head = 0;
    uint32_t count = 0;
    uint32_t capacity = 0;
    Unit* units = nullptr;
  };
  const Store* find(uint32_t type) const;
  // append's work for an event the plan stores (`r` is its type's retention).
  void appendRow(const Event& e, const Retention& r, const RetentionPlan& plan,
                 TimeMs oldestFiring);
  static Unit* rowAt(const Store& s, size_t i);
  static void resize(Store& s, uint32_t capacity);
  static void release(Store& s);
  static void dropOldest(Store& s, size_t n);
  static void pruneStore(Store& s, TimeMs now, const Retention& r, TimeMs oldestFiring);
  static void mergeStores(Store& into, Store& from);
  static std::pair<size_t, size_t> rowsIn(const Store& s, TimeMs from, TimeMs to);
  template <typename F>
  static void walk(const Store& s, size_t begin, size_t end, bool newestFirst, F&& f);
  void visitEvents(uint32_t type, TimeMs from, TimeMs to, bool newestFirst,
                   const std::function<bool(const Event&)>& f) const;

  const RetentionPlan* plan() const {
    const auto* p = stores_.prefix();
    return p == nullptr ? nullptr : *p;
  }
  void setPlan(const RetentionPlan& plan) {
    if (auto* p = stores_.prefix()) *p = &plan;
  }
  // Few types per customer: a linear search beats a map. One pointer, null while nothing is
  // remembered (most customers of an event stream); the plan append and prune are given rides
  // in its header (it is read only for remembered rows). 16 bytes with the vtable's pointer.
  CompactVector<Store, const RetentionPlan*> stores_;
};

}  // namespace trig::state
