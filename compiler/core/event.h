#pragma once
// One customer event as the runtime sees it, after decoding and validation (runtime/ingest):
// a declared event type with its fields in the flat layout sema computed (slot order), or an
// identify call with trait changes, or an event of an undeclared name (activity only), or an
// alias call (the merge of an anonymous visitor into a user, nothing else).
#include <cstdint>
#include <deque>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/core/kinds.h"
#include "compiler/core/value.h"

namespace trig {

// Where an event came from, for messages about it ("events.jsonl:12"): the input's name and the
// line number, formatted only when a message needs it (most events never get one, and events are
// copied into histories, so a string per event would be paid for on every event).
struct EventSource {
  const std::string* input = nullptr;  // an interned name (see named()); null: unknown
  uint64_t line = 0;                   // from 1; 0: the name alone ("test")

  // `name` at `line`; the name is kept for the life of the program, so that sources stay valid
  // in events that outlive their reader. Inputs are few: each distinct name is stored once.
  static EventSource named(std::string_view name, uint64_t line = 0) {
    static std::mutex mutex;
    static std::deque<std::string> names;
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& n : names)
      if (n == name) return {&n, line};
    return {&names.emplace_back(name), line};
  }

  bool empty() const { return input == nullptr; }
  // "NAME:LINE", "NAME" without a line, "" when unknown.
  std::string str() const {
    if (!input) return {};
    if (line == 0) return *input;
    return *input + ':' + std::to_string(line);
  }
  friend std::ostream& operator<<(std::ostream& os, const EventSource& s) {
    if (s.input) {
      os << *s.input;
      if (s.line != 0) os << ':' << s.line;
    }
    return os;
  }
};

struct Event {
  enum class Kind : uint8_t { Track, Identify, Undeclared, Alias };
  Kind kind = Kind::Track;
  uint32_t type = core::kNone;  // the event type (sema::EventInfo index) for Track
  std::string name;             // the event name as sent (Undeclared: for the warning)
  // The userId; without one, the anonymous visitor `anon:<anonymousId>` (spec section 8).
  std::string customer;
  // The call's anonymousId (an alias call's previousId), empty when none was sent. With a userId
  // it asks for the merge of `anon:<anonymousId>` into that user; without one (`identified`
  // false) the engine sends the event on to the user that visitor was merged into, if any.
  std::string anonymousId;
  bool identified = true;  // a userId was sent: `customer` is it
  TimeMs time = 0;
  std::string messageId;      // empty when none was sent
  std::vector<Value> fields;  // Track: by slot; Absent where an optional field was not sent
  // Identify: trait name -> value; an Absent value removes the trait (`null`).
  std::vector<std::pair<std::string, Value>> traits;
  uint64_t seq = 0;    // input order, for stable ordering of equal timestamps
  EventSource source;  // "events.jsonl:12" for messages about this event
};

}  // namespace trig
