#pragma once
// The JSON line of a Record (spec section 9): one object per line with the keys decision, time,
// customer, rule, step, template, variant, to, subject, message_id for sends; suppressed and
// deferred records carry reason/until, the source location and a sentence for people.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "compiler/plan/plan.h"
#include "runtime/engine/engine.h"

namespace trig::engine {

// Bytes appended at the end without std::string's zero fill of the room asked for (a record's
// worst case is about 1 KiB, its line about 300 bytes): reserve, write, commit.
class LineBuffer {
 public:
  // Room for `n` more bytes at the end; valid until the next reserve.
  char* reserve(size_t n);
  // The bytes up to `end` (within the room of the last reserve) are the buffer's.
  void commit(char* end) { size_ = static_cast<size_t>(end - data_.get()); }
  std::string_view view() const { return {data_.get(), size_}; }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0, cap_ = 0;
};

// Writes records into a caller's buffer, for runs that print many: each location is formatted
// once, and the day of the last time printed is kept. One per thread.
class RecordWriter {
 public:
  // The rules' names by rule index (plan::ruleNames) and the sources' locations.
  RecordWriter(std::vector<std::string> ruleNames, plan::SourceMap sources);
  // Appends the record's JSON object (no newline) to `out`.
  void append(std::string& out, const Record& r);
  // Appends the record's JSON object and a newline.
  void appendLine(LineBuffer& out, const Record& r);

 private:
  const std::string& location(Loc loc);
  char* writeTime(char* p, TimeMs t);
  std::string_view ruleOf(const Record& r) const;
  std::string_view locationOf(const Record& r);
  static size_t bound(const Record& r, std::string_view rule, std::string_view loc);
  char* write(char* p, const Record& r, std::string_view rule, std::string_view loc);

  std::vector<std::string> ruleNames_;
  plan::SourceMap sources_;
  std::unordered_map<uint64_t, std::string> locations_;  // (file, begin) -> "rules.trig:12:5"
  int64_t day_ = INT64_MIN;                              // days since 1970 of `dayText_`
  char dayText_[10] = {};                                // "2026-01-01"
};

// The same JSON as RecordWriter::append, as a new string.
std::string recordJson(const Record& r, RecordWriter& writer);

}  // namespace trig::engine
