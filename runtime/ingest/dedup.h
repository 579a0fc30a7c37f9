#pragma once
// Dropping duplicate events (spec section 8), in the order the engine admits them:
// - by messageId: an event whose messageId equals that of an accepted event is dropped. Ids are
//   global (not per customer) and remembered for at least `idMemory` (24 hours) of event time
//   after the accepted event's stamp, measured against the latest stamp admitted so far; older
//   ids are forgotten to bound memory. An event without messageId is never dropped by id.
// - by content, when the `dedup D` setting is non-zero: an event equal in kind, type, customer
//   and fields (the decoded, normalised fields: declared only, camelCase mapped, defaults
//   applied) to an accepted event stamped in [t - D, t] is dropped. Identify events are
//   compared by their trait changes; undeclared events by name and customer only.
// Only accepted events are remembered: a dropped duplicate does not extend any window.
// Admit events in processing (timestamp) order; an event stamped earlier than the latest one
// is still handled exactly while its counterparts are remembered.
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/core/event.h"
#include "compiler/support/time.h"

namespace trig::ingest {

class Deduplicator {
 public:
  enum class Verdict : uint8_t { Accept, DuplicateId, DuplicateContent };

  explicit Deduplicator(DurationMs contentWindow, DurationMs idMemory = kDay);

  // Decides about `e` and remembers it when accepted.
  Verdict admit(const Event& e);

  uint64_t droppedById() const { return droppedById_; }
  uint64_t droppedByContent() const { return droppedByContent_; }
  // Entries currently remembered (for tests and memory accounting).
  size_t rememberedIds() const { return ids_.size(); }
  size_t rememberedContents() const { return contents_.size(); }

 private:
  void forget(TimeMs now);

  DurationMs contentWindow_;
  DurationMs idMemory_;
  TimeMs latest_ = INT64_MIN;

  // messageId -> stamp of the accepted event. The expiry queue (admission order) points at the
  // map's nodes, which stay put until erased; each node has exactly one queue entry.
  using IdMap = std::unordered_map<std::string, TimeMs>;
  IdMap ids_;
  std::deque<std::pair<TimeMs, IdMap::value_type*>> idQueue_;

  // Normalised content key -> stamps of the accepted events with that content (ascending). Each
  // stamp has one queue entry; a node is erased when its last stamp expires.
  using ContentMap = std::unordered_map<std::string, std::vector<TimeMs>>;
  ContentMap contents_;
  std::deque<std::pair<TimeMs, ContentMap::value_type*>> contentQueue_;
  std::string scratch_;

  uint64_t droppedById_ = 0;
  uint64_t droppedByContent_ = 0;
};

const char* verdictName(Deduplicator::Verdict v);

}  // namespace trig::ingest
