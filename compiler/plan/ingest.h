#pragma once
// The rule plan's part for ingest: what the decoder (runtime/ingest/decoder.h) needs of a checked
// program to turn a wire event into a trig::Event -- the declared events with their `from`
// aliases, each one's fields (wire name, aliases, type, slot, default as a value), and the
// customer traits -- as plain values, so that the decoder sees neither the AST nor sema (issue 10).
// Built once per program by plan::buildIngestPlan (build.h); the decoder keeps its own copy.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compiler/core/kinds.h"
#include "compiler/core/value.h"

namespace trig::plan {

// One declared field of an event, or one declared customer trait.
struct IngestField {
  std::string name;
  std::vector<std::string> aliases;  // `from "name"`: keys that fill it, after its own name
  core::TypeKind kind = core::TypeKind::Error;
  core::TypeKind elem = core::TypeKind::Error;  // the item type when kind is List
  // The type as messages name it ("money", "[int]"), and the item type's name for a list.
  std::string typeName;
  std::string elemTypeName;
  bool optional = false;              // `?`: may be absent
  std::optional<Value> defaultValue;  // the declared default, converted to the field's type
  uint32_t slot = 0;                  // index in the event's (or profile's) flat layout
};

struct IngestEvent {
  std::string name;
  std::vector<std::string> aliases;  // `from "External Name"`
  std::vector<IngestField> fields;   // in declaration order
};

struct IngestPlan {
  std::vector<IngestEvent> events;  // by event type
  std::vector<IngestField> traits;  // the declared customer traits
  // Aliases sema resolved to event types besides the events' own (Model::eventByAlias).
  std::vector<std::pair<std::string, uint32_t>> eventAliases;
};

}  // namespace trig::plan
