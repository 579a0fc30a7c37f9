#pragma once
// One customer event as the runtime sees it, after decoding and validation (runtime/ingest):
// a declared event type with its fields in the flat layout sema computed (slot order), or an
// identify call with trait changes, or an event of an undeclared name (activity only).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "compiler/interp/value.h"
#include "compiler/sema/model.h"

namespace trig {

struct Event {
  enum class Kind : uint8_t { Track, Identify, Undeclared };
  Kind kind = Kind::Track;
  uint32_t type = sema::kNone;   // sema::EventInfo index for Track
  std::string name;              // the event name as sent (Undeclared: for the warning)
  std::string customer;          // userId
  TimeMs time = 0;
  std::string messageId;         // empty when none was sent
  std::vector<Value> fields;     // Track: by slot; Absent where an optional field was not sent
  // Identify: trait name -> value; an Absent value removes the trait (`null`).
  std::vector<std::pair<std::string, Value>> traits;
  uint64_t seq = 0;              // input order, for stable ordering of equal timestamps
  std::string source;            // "events.jsonl:12" for messages about this event
};

}  // namespace trig
