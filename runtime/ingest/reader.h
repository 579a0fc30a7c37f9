#pragma once
// Reading wire events from JSONL files or standard input ("-"), one object per line, without
// loading the input whole. Valid events are handed out in input order with `seq` (a counter over
// every event this reader produced, across files) and `source` ("FILE:LINE") set. Each invalid
// line is reported on the diagnostics stream as `FILE:LINE: error: REASON`, appended to the
// dead-letter file when one is configured, counted, and skipped: it never stops the stream.
// The exception is a rejected identify that fails closed (Decoder::failedClosed()): reported and
// counted as invalid all the same, it is then handed out as the opt-out it carries.
// Blank lines (only whitespace) are skipped silently. A trailing "\r" is ignored, and so is a
// UTF-8 byte order mark at the start of the input.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "compiler/core/event.h"
#include "runtime/ingest/decoder.h"

namespace trig::ingest {

// The dead-letter record of a rejected event, one JSON object per line:
//   {"file":"events.jsonl","line":12,"reason":"...","event":"<the original line>"}
// A line that is not valid UTF-8 is kept byte for byte as "event_base64" instead of "event".
// A line longer than the reader's limit is kept up to the limit, with "truncated":true.
class DeadLetterWriter {
 public:
  enum class Mode : uint8_t { Truncate, Append };
  // Opens `path` (a batch run starts it afresh; a server appends); check ok() / error().
  explicit DeadLetterWriter(const std::string& path, Mode mode = Mode::Truncate);
  ~DeadLetterWriter();
  DeadLetterWriter(const DeadLetterWriter&) = delete;
  DeadLetterWriter& operator=(const DeadLetterWriter&) = delete;

  bool ok() const { return file_ != nullptr; }
  const std::string& error() const { return error_; }
  // Writes one record; returns false on an I/O error.
  bool write(std::string_view file, uint64_t line, std::string_view reason, std::string_view text,
             bool truncated = false);
  bool flush();

  // The record as a JSON line without the trailing newline (shared with the HTTP ingest).
  static std::string record(std::string_view file, uint64_t line, std::string_view reason,
                            std::string_view text, bool truncated = false);

 private:
  std::FILE* file_ = nullptr;
  std::string error_;
};

// The physical lines of one open file descriptor, read in large chunks with read(2) (which
// returns what a pipe has now, so a live producer is not held back until a chunk fills). A line
// is a view into the chunk, or into a side buffer when it spans chunks; it stays valid until the
// next call. Memory stays at one chunk plus the longest line, capped at `maxLineBytes`.
class LineReader {
 public:
  // Reads `fd`, closing it at the end when `owned`.
  LineReader(int fd, bool owned);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its "\n" (and a trailing "\r", and on line 1 a UTF-8 byte order
  // mark); `truncated` when it was longer than
  // `maxLineBytes` (`line` then holds its first maxLineBytes bytes). False at the end of the
  // input or on a read error (see failed()).
  bool next(std::string_view& line, bool& truncated, size_t maxLineBytes) {
    // The usual line, inline: whole in the chunk, not too long, and not the first (which may
    // start with a byte order mark).
    if (begin_ < end_ && line_ != 0) [[likely]] {
      const char* start = buf_.get() + begin_;
      if (const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_))) {
        size_t len = static_cast<size_t>(nl - start);
        if (len <= maxLineBytes) [[likely]] {
          begin_ += len + 1;
          ++line_;
          truncated = false;
          if (len > 0 && start[len - 1] == '\r') --len;
          line = std::string_view(start, len);
          return true;
        }
      }
    }
    return nextAny(line, truncated, maxLineBytes);
  }
  uint64_t lineNumber() const { return line_; }  // of the last line returned, from 1
  bool failed() const { return failed_; }
  int readErrno() const { return readErrno_; }

 private:
  static constexpr size_t kChunk = 1u << 20;
  bool nextAny(std::string_view& line, bool& truncated, size_t maxLineBytes);
  void appendCapped(const char* p, size_t n, size_t max, bool& truncated);
  std::string_view finish(std::string_view line);

  int fd_ = -1;
  bool owned_ = false;
  bool eof_ = false;
  bool failed_ = false;
  int readErrno_ = 0;
  uint64_t line_ = 0;
  std::unique_ptr<char[]> buf_;
  size_t begin_ = 0, end_ = 0;
  std::string carry_;
};

struct ReaderOptions {
  std::ostream* diagnostics = nullptr;     // where `FILE:LINE: error: REASON` goes; null: nowhere
  DeadLetterWriter* deadLetter = nullptr;  // null: no dead-letter file
  size_t maxLineBytes = 16u << 20;         // longer lines are rejected ("line too long")
};

struct ReadStats {
  uint64_t lines = 0;  // physical lines read, blank ones included
  uint64_t blank = 0;
  uint64_t accepted = 0;  // valid events handed out (a rejected line that fails closed is not)
  uint64_t rejected = 0;  // invalid lines
};

class EventReader {
 public:
  EventReader(Decoder& decoder, ReaderOptions options);
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  // Starts reading `path` ("-" is standard input); closes the previous input. Returns false,
  // with the message in `error`, when the file cannot be opened. `name`, when given, is what
  // messages call the input (a copy of a pipe is named after the pipe).
  bool open(const std::string& path, std::string& error, const std::string& name = "");
  // The next valid event of the current input, skipping (and reporting) invalid lines. Returns
  // false at the end of the input or on a read error (see readError()).
  bool next(Event& out);
  // Set when the last next() stopped because of an I/O error rather than the end of the input.
  const std::string& readError() const { return readError_; }

  // Convenience: open `path` and hand every valid event to `sink`. Returns false (message in
  // `error`) when the file cannot be opened or read.
  bool readAll(const std::string& path, const std::function<void(Event&)>& sink, std::string& error,
               const std::string& name = "");

  const ReadStats& stats() const { return stats_; }

 private:
  struct Input;
  Decoder& decoder_;
  ReaderOptions options_;
  std::unique_ptr<Input> input_;
  ReadStats stats_;
  uint64_t nextSeq_ = 0;
  std::string reason_;
  std::string readError_;
};

}  // namespace trig::ingest
