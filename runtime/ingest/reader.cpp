#include "runtime/ingest/reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/deliver/render.h"
#include "runtime/ingest/utf8.h"

namespace trig::ingest {

// ---- Dead letters -------------------------------------------------------------------------------

namespace {

void appendBase64(std::string& out, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                       uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return;
  uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
  if (rest == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
  out += kAlphabet[(v >> 18) & 63];
  out += kAlphabet[(v >> 12) & 63];
  out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
  out += '=';
}

}  // namespace

DeadLetterWriter::DeadLetterWriter(const std::string& path, Mode mode) {
  file_ = std::fopen(path.c_str(), mode == Mode::Append ? "ab" : "wb");
  if (!file_) error_ = "cannot open dead-letter file '" + path + "': " + std::strerror(errno);
}

DeadLetterWriter::~DeadLetterWriter() {
  if (file_) std::fclose(file_);
}

std::string DeadLetterWriter::record(std::string_view file, uint64_t line, std::string_view reason,
                                     std::string_view text, bool truncated) {
  std::string out = "{\"file\":";
  deliver::appendJsonString(out, file);
  out += ",\"line\":";
  out += std::to_string(line);
  out += ",\"reason\":";
  deliver::appendJsonString(out, reason);
  // Invalid UTF-8 cannot be a JSON string without replacing bytes; keep the bytes exactly.
  if (utf8::valid(text)) {
    out += ",\"event\":";
    deliver::appendJsonString(out, text);
  } else {
    out += ",\"event_base64\":\"";
    appendBase64(out, text);
    out += '"';
  }
  if (truncated) out += ",\"truncated\":true";
  out += '}';
  return out;
}

bool DeadLetterWriter::write(std::string_view file, uint64_t line, std::string_view reason,
                             std::string_view text, bool truncated) {
  if (!file_) return false;
  std::string rec = record(file, line, reason, text, truncated);
  rec += '\n';
  return std::fwrite(rec.data(), 1, rec.size(), file_) == rec.size();
}

bool DeadLetterWriter::flush() {
  return file_ && std::fflush(file_) == 0;
}

// ---- Line input ---------------------------------------------------------------------------------

// One input file read in large chunks; a line is a view into the chunk, or into `carry` when it
// spans chunks. Memory stays at one chunk plus the longest line (capped at maxLineBytes).
struct EventReader::Input {
  static constexpr size_t kChunk = 1u << 20;

  int fd = -1;
  bool owned = false;
  int readErrno = 0;
  std::string name;          // for messages: the path, or "<stdin>"
  std::string sourcePrefix;  // "NAME:", the start of every Event::source from this input
  uint64_t line = 0;
  // `line` in decimal, counted up with it (cheaper than converting it for every event).
  char lineText[24] = {'0'};
  size_t lineTextSize = 1;
  std::unique_ptr<char[]> buf = std::make_unique<char[]>(kChunk);
  size_t begin = 0, end = 0;
  bool eof = false;
  bool failed = false;
  std::string carry;

  ~Input() {
    if (fd >= 0 && owned) ::close(fd);
  }

  void appendCapped(const char* p, size_t n, size_t max, bool& truncated) {
    if (carry.size() >= max) {
      truncated = truncated || n > 0;
      return;
    }
    const size_t room = max - carry.size();
    if (n > room) {
      truncated = true;
      n = room;
    }
    carry.append(p, n);
  }

  // The next physical line without its "\n" (and a trailing "\r"); false at the end or on error.
  bool nextLine(std::string_view& out, bool& truncated, size_t max) {
    truncated = false;
    bool carrying = false;
    carry.clear();
    while (true) {
      if (begin < end) {
        const char* start = buf.get() + begin;
        const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end - begin));
        if (nl) {
          const auto len = static_cast<size_t>(nl - start);
          begin += len + 1;
          if (carrying) {
            appendCapped(start, len, max, truncated);
            out = carry;
          } else if (len > max) {
            truncated = true;
            out = std::string_view(start, max);
          } else {
            out = std::string_view(start, len);
          }
          return finish(out);
        }
        if (carrying || (begin == 0 && end == kChunk)) {
          // The line is longer than what is left of the chunk: keep it aside and read on.
          appendCapped(start, end - begin, max, truncated);
          carrying = true;
          begin = end = 0;
        } else if (begin > 0) {
          std::memmove(buf.get(), start, end - begin);
          end -= begin;
          begin = 0;
        }
      } else {
        begin = end = 0;
      }
      if (eof) {
        if (carrying) {
          out = carry;
          return finish(out);
        }
        if (end > 0) {
          // The last line has no "\n".
          out = std::string_view(buf.get(), std::min(end, max));
          truncated = end > max;
          begin = end;
          return finish(out);
        }
        return false;
      }
      // read(2) rather than stdio: it returns what a pipe has now, so a live producer on
      // standard input is not held back until a whole chunk arrives.
      const ssize_t n = ::read(fd, buf.get() + end, kChunk - end);
      if (n < 0) {
        if (errno == EINTR) continue;
        readErrno = errno;
        failed = true;
        eof = true;
        return false;
      }
      if (n == 0) eof = true;
      end += static_cast<size_t>(n);
    }
  }

  bool finish(std::string_view& out) {
    ++line;
    size_t k = lineTextSize;
    while (k > 0 && lineText[k - 1] == '9') lineText[--k] = '0';
    if (k > 0) {
      ++lineText[k - 1];
    } else {
      std::memmove(lineText + 1, lineText, lineTextSize++);
      lineText[0] = '1';
    }
    if (!out.empty() && out.back() == '\r') out.remove_suffix(1);
    return true;
  }
};

// ---- The reader ---------------------------------------------------------------------------------

EventReader::EventReader(Decoder& decoder, ReaderOptions options)
    : decoder_(decoder), options_(options) {}

EventReader::~EventReader() = default;

bool EventReader::open(const std::string& path, std::string& error, const std::string& name) {
  input_.reset();
  readError_.clear();
  auto in = std::make_unique<Input>();
  if (path == "-") {
    in->fd = STDIN_FILENO;
    in->name = "<stdin>";
  } else {
    in->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    in->owned = true;
    in->name = path;
    if (in->fd < 0) {
      error = "cannot open '" + path + "': " + std::strerror(errno);
      return false;
    }
  }
  if (!name.empty()) in->name = name;
  in->sourcePrefix = in->name + ':';
  input_ = std::move(in);
  return true;
}

namespace {
bool isBlank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}
}  // namespace

bool EventReader::next(Event& out) {
  if (!input_) return false;
  std::string_view line;
  bool truncated = false;
  while (input_->nextLine(line, truncated, options_.maxLineBytes)) {
    ++stats_.lines;
    const uint64_t lineNo = input_->line;
    bool ok;
    if (truncated) {
      ok = false;
      reason_ = "line longer than " + std::to_string(options_.maxLineBytes) + " bytes";
    } else if (isBlank(line)) {
      ++stats_.blank;
      continue;
    } else {
      ok = decoder_.decode(line, out, reason_);
    }
    if (!ok) {
      ++stats_.rejected;
      if (options_.diagnostics)
        *options_.diagnostics << input_->name << ':' << lineNo << ": error: " << reason_ << '\n';
      if (options_.deadLetter)
        options_.deadLetter->write(input_->name, lineNo, reason_, line, truncated);
      continue;
    }
    ++stats_.accepted;
    out.seq = nextSeq_++;
    // "FILE:LINE". The event is usually the one filled from the previous line, whose source
    // starts with the same "FILE:": keep that part rather than copy it again.
    const std::string& prefix = input_->sourcePrefix;
    if (out.source.size() > prefix.size() && out.source.compare(0, prefix.size(), prefix) == 0)
      out.source.resize(prefix.size());
    else
      out.source.assign(prefix);
    out.source.append(input_->lineText, input_->lineTextSize);
    return true;
  }
  if (input_->failed)
    readError_ = "cannot read '" + input_->name + "': " + std::strerror(input_->readErrno);
  return false;
}

bool EventReader::readAll(const std::string& path, const std::function<void(Event&)>& sink,
                          std::string& error, const std::string& name) {
  if (!open(path, error, name)) return false;
  Event e;
  while (next(e)) sink(e);
  if (!readError_.empty()) {
    error = readError_;
    return false;
  }
  return true;
}

}  // namespace trig::ingest
