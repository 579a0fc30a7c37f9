#include "runtime/ingest/reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "compiler/support/byte_order_mark.h"
#include "compiler/support/utf8.h"
#include "runtime/deliver/render.h"

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
  // ferror is sticky: a record that failed to go out earlier fails the flush too.
  return file_ && std::fflush(file_) == 0 && std::ferror(file_) == 0;
}

// ---- Line input ---------------------------------------------------------------------------------

LineReader::LineReader(int fd, bool owned)
    : fd_(fd), owned_(owned), buf_(std::make_unique_for_overwrite<char[]>(kChunk)) {}

LineReader::~LineReader() {
  if (fd_ >= 0 && owned_) ::close(fd_);
}

void LineReader::appendCapped(const char* p, size_t n, size_t max, bool& truncated) {
  if (carry_.size() >= max) {
    truncated = truncated || n > 0;
    return;
  }
  const size_t room = max - carry_.size();
  if (n > room) {
    truncated = true;
    n = room;
  }
  carry_.append(p, n);
}

std::string_view LineReader::finish(std::string_view line) {
  ++line_;
  if (line_ == 1 && line.starts_with(kUtf8Bom)) line.remove_prefix(kUtf8Bom.size());
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool LineReader::nextAny(std::string_view& out, bool& truncated, size_t max) {
  truncated = false;
  bool carrying = false;
  while (true) {
    if (begin_ < end_) {
      const char* start = buf_.get() + begin_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
      if (nl) {
        const auto len = static_cast<size_t>(nl - start);
        begin_ += len + 1;
        if (carrying) {
          appendCapped(start, len, max, truncated);
          out = finish(carry_);
        } else if (len > max) {
          truncated = true;
          out = finish(std::string_view(start, max));
        } else {
          out = finish(std::string_view(start, len));
        }
        return true;
      }
      if (carrying || (begin_ == 0 && end_ == kChunk)) {
        // The line is longer than what is left of the chunk: keep it aside and read on.
        if (!carrying) carry_.clear();
        appendCapped(start, end_ - begin_, max, truncated);
        carrying = true;
        begin_ = end_ = 0;
      } else if (begin_ > 0) {
        std::memmove(buf_.get(), start, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
    } else {
      begin_ = end_ = 0;
    }
    if (eof_) {
      if (carrying) {
        out = finish(carry_);
        return true;
      }
      if (end_ > 0) {
        // The last line has no "\n".
        out = finish(std::string_view(buf_.get(), std::min(end_, max)));
        truncated = end_ > max;
        begin_ = end_;
        return true;
      }
      return false;
    }
    const ssize_t n = ::read(fd_, buf_.get() + end_, kChunk - end_);
    if (n < 0) {
      if (errno == EINTR) continue;
      readErrno_ = errno;
      failed_ = true;
      eof_ = true;
      return false;
    }
    if (n == 0) eof_ = true;
    end_ += static_cast<size_t>(n);
  }
}

// One input of the event reader: its lines, and what messages call it.
struct EventReader::Input {
  Input(int fd, bool owned) : lines(fd, owned) {}
  LineReader lines;
  std::string name;                         // for messages: the path, or "<stdin>"
  const std::string* sourceName = nullptr;  // `name`, interned for Event::source
};

// ---- The reader ---------------------------------------------------------------------------------

EventReader::EventReader(Decoder& decoder, ReaderOptions options)
    : decoder_(decoder), options_(options) {}

EventReader::~EventReader() = default;

bool EventReader::open(const std::string& path, std::string& error, const std::string& name) {
  input_.reset();
  readError_.clear();
  int fd = STDIN_FILENO;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      error = "cannot open '" + path + "': " + std::strerror(errno);
      return false;
    }
  }
  input_ = std::make_unique<Input>(fd, path != "-");
  input_->name = !name.empty() ? name : path == "-" ? "<stdin>" : path;
  input_->sourceName = EventSource::named(input_->name).input;
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
  while (input_->lines.next(line, truncated, options_.maxLineBytes)) {
    ++stats_.lines;
    const uint64_t lineNo = input_->lines.lineNumber();
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
      if (!truncated && decoder_.failedClosed()) {
        // Rejected, yet the customer counts as unsubscribed from now on.
        out.seq = nextSeq_++;
        out.source = EventSource{input_->sourceName, lineNo};
        return true;
      }
      continue;
    }
    ++stats_.accepted;
    out.seq = nextSeq_++;
    out.source = EventSource{input_->sourceName, lineNo};
    return true;
  }
  if (input_->lines.failed())
    readError_ = "cannot read '" + input_->name + "': " + std::strerror(input_->lines.readErrno());
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
