#pragma once
// The JSON line of a Record (spec section 9): one object per line with the keys decision, time,
// customer, rule, step, template, variant, to, subject, message_id for sends; suppressed and
// deferred records carry reason/until, the source location and a sentence for people.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/plan/plan.h"
#include "runtime/engine/engine.h"

namespace trig::engine {

// Writes records into a caller's buffer, for runs that print many: each location is formatted
// once, and the day of the last time printed is kept. One per thread.
class RecordWriter {
 public:
  // The rules' names by rule index (plan::ruleNames) and the sources' locations.
  RecordWriter(std::vector<std::string> ruleNames, plan::SourceMap sources);
  // Appends the record's JSON object (no newline) to `out`.
  void append(std::string& out, const Record& r);

 private:
  const std::string& location(Loc loc);
  char* writeTime(char* p, TimeMs t);

  std::vector<std::string> ruleNames_;
  plan::SourceMap sources_;
  std::unordered_map<uint64_t, std::string> locations_;  // (file, begin) -> "rules.trig:12:5"
  int64_t day_ = INT64_MIN;                              // days since 1970 of `dayText_`
  char dayText_[10] = {};                                // "2026-01-01"
};

// The same JSON as RecordWriter::append, as a new string.
std::string recordJson(const Record& r, RecordWriter& writer);

}  // namespace trig::engine
