#include "runtime/engine/replay.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "runtime/ingest/reader.h"
#include "runtime/ingest/timestamp.h"

namespace trig::engine {
namespace {

// ---- a cheap look at the timestamps, to replay sorted files without holding them ----------

void skipSpace(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
}

// Skips a JSON string at s[i] == '"'; false when it does not end on the line. Jumps from quote
// to quote (memchr) and counts the backslashes before each: this pre-pass reads every byte of
// the input once more, so it has to be cheap.
bool skipString(std::string_view s, size_t& i) {
  size_t from = i + 1;
  for (;;) {
    const void* q = from < s.size() ? std::memchr(s.data() + from, '"', s.size() - from) : nullptr;
    if (q == nullptr) return false;
    size_t k = static_cast<size_t>(static_cast<const char*>(q) - s.data());
    size_t backslashes = 0;
    while (k - backslashes > i + 1 && s[k - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) {
      i = k + 1;
      return true;
    }
    from = k + 1;
  }
}

// Skips any JSON value (objects and arrays by bracket depth, strings aware of escapes).
bool skipValue(std::string_view s, size_t& i) {
  skipSpace(s, i);
  if (i >= s.size()) return false;
  if (s[i] == '"') return skipString(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        if (!skipString(s, i)) return false;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++i;
      if (depth == 0) return true;
    }
    return false;
  }
  size_t b = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
         s[i] != '\r')
    ++i;
  return i > b;
}

// `"timestamp"` at s[k] (k + 11 <= s.size()), compared as one 8-byte word and three bytes.
[[gnu::always_inline]] inline bool keyAt(const char* s, size_t k) {
  static constexpr char kKey[] = "\"timestamp\"";
  uint64_t head, want;
  std::memcpy(&head, s + k, 8);
  std::memcpy(&want, kKey, 8);
  return head == want && s[k + 8] == 'm' && s[k + 9] == 'p' && s[k + 10] == '"';
}

// The position of the one `"timestamp"` in a line without backslashes; npos when the line has a
// backslash, or the key not exactly once. One pass, 16 bytes at a time with SSE2: the pre-pass
// reads every byte of the input once more than the decoder does, so it has to be cheap.
size_t soleTimestampKey(std::string_view s) {
  constexpr size_t kNone = std::string_view::npos;
  const char* p = s.data();
  const size_t n = s.size();
  size_t found = kNone;
#if defined(__SSE2__)
  size_t i = 0;
  const __m128i quote = _mm_set1_epi8('"'), t = _mm_set1_epi8('t'), slash = _mm_set1_epi8('\\');
  __m128i slashes = _mm_setzero_si128();
  // The 16 bytes at `bytes` (line position `at0`) and the 10 after them: candidates are a quote,
  // 't' and a quote 10 bytes on, as in `"timestamp"`. False when the key is found a second time.
  auto block = [&](const char* bytes, size_t at0) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + 1));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + 10));
    slashes = _mm_or_si128(slashes, _mm_cmpeq_epi8(a, slash));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(
        _mm_and_si128(_mm_cmpeq_epi8(a, quote), _mm_cmpeq_epi8(c, quote)), _mm_cmpeq_epi8(b, t))));
    while (mask != 0) {
      const size_t at = at0 + static_cast<size_t>(__builtin_ctz(mask));
      if (keyAt(p, at)) {
        if (found != kNone) return false;
        found = at;
      }
      mask &= mask - 1;
    }
    return true;
  };
  for (; i + 26 <= n; i += 16)
    if (!block(p + i, i)) return kNone;
  // The last 1 to 25 bytes, from a copy padded with zeros (which match nothing).
  if (i < n) {
    char tail[48] = {};
    std::memcpy(tail, p + i, n - i);
    if (!block(tail, i)) return kNone;
    if (i + 16 < n && !block(tail + 16, i + 16)) return kNone;
  }
  if (_mm_movemask_epi8(slashes) != 0) return kNone;
  return found;
#else
  constexpr size_t kKeySize = 11;
  for (size_t i = 0; i < n; ++i) {
    if (p[i] == '\\') return kNone;
    if (p[i] == '"' && i + kKeySize <= n && keyAt(p, i)) {
      if (found != kNone) return kNone;
      found = i;
    }
  }
  return found;
#endif
}

// Whether s[from, to) has no bracket and an even number of quotes. In a line without
// backslashes that means: what follows `to` is outside any string and at the depth of `from`.
bool flatPrefix(std::string_view s, size_t from, size_t to) {
  const char* p = s.data();
  // Only the parity of the quote count matters: the quote masks are XORed together.
  unsigned quotes = 0;
  size_t i = from;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}'),
                lower = _mm_set1_epi8(0x20);
  // Whole blocks may read past `to` (the bits there are cleared) but not past the line.
  for (; i < to && i + 16 <= s.size(); i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // '[' | 0x20 is '{' and ']' | 0x20 is '}'; no other byte maps to either.
    const __m128i folded = _mm_or_si128(a, lower);
    const unsigned keep = to - i >= 16 ? 0xFFFFu : (1u << (to - i)) - 1;
    const auto brackets = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(folded, open), _mm_cmpeq_epi8(folded, close))));
    if ((brackets & keep) != 0) return false;
    quotes ^= static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(a, quote))) & keep;
  }
#endif
  for (; i < to; ++i) {
    const char c = p[i];
    if (c == '{' || c == '}' || c == '[' || c == ']') return false;
    quotes ^= c == '"' ? 1u : 0u;
  }
  quotes ^= quotes >> 8;
  quotes ^= quotes >> 4;
  quotes ^= quotes >> 2;
  quotes ^= quotes >> 1;
  return (quotes & 1) == 0;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The common line, cheaply: no backslash anywhere (so no escaped key can spell "timestamp" and
// every quote opens or closes a string), "timestamp" in quotes exactly once, and nothing but
// flat members before it in the top-level object, so that it is one of that object's keys.
// False when any of that does not hold (the general scan then decides).
bool plainTimestamp(std::string_view s, TimeMs& out, ingest::TimestampParser& parser) {
  const size_t at = soleTimestampKey(s);
  if (at == std::string_view::npos) return false;
  size_t first = 0;
  while (first < at && isSpace(s[first])) ++first;
  if (first >= at || s[first] != '{') return false;
  size_t before = at;
  while (before > first && isSpace(s[before - 1])) --before;
  if (s[before - 1] != ',' && s[before - 1] != '{') return false;
  if (!flatPrefix(s, first + 1, at)) return false;
  size_t i = at + 11;
  skipSpace(s, i);
  if (i >= s.size() || s[i] != ':') return false;
  ++i;
  skipSpace(s, i);
  if (i >= s.size() || s[i] != '"') return false;
  const size_t begin = i + 1;
  // The usual stamps end after 20 or 24 bytes; no backslash, so the next quote ends any.
  size_t end = begin + 24;
  if (end >= s.size() || s[end] != '"') {
    end = begin + 20;
    if (end >= s.size() || s[end] != '"') {
      const void* q = std::memchr(s.data() + begin, '"', s.size() - begin);
      if (q == nullptr) return false;
      end = static_cast<size_t>(static_cast<const char*>(q) - s.data());
    }
  }
  const std::string_view text = s.substr(begin, end - begin);
  // A quote at one of the usual lengths ends the string only when no quote comes before it.
  if (std::memchr(text.data(), '"', text.size()) != nullptr) return false;
  auto t = parser.parse(text);
  if (!t) return false;
  out = *t;
  return true;
}

}  // namespace

bool scanTimestampGeneral(std::string_view s, TimeMs& out) {
  size_t i = 0;
  skipSpace(s, i);
  if (i >= s.size() || s[i] != '{') return false;
  ++i;
  bool found = false;
  for (;;) {
    skipSpace(s, i);
    if (i < s.size() && s[i] == '}') return found;
    if (i >= s.size() || s[i] != '"') return false;
    size_t keyBegin = i + 1;
    if (!skipString(s, i)) return false;
    std::string_view key = s.substr(keyBegin, i - 1 - keyBegin);
    skipSpace(s, i);
    if (i >= s.size() || s[i] != ':') return false;
    ++i;
    skipSpace(s, i);
    if (key == "timestamp") {
      if (i >= s.size() || s[i] != '"') return false;
      size_t vb = i + 1;
      if (!skipString(s, i)) return false;
      std::string_view v = s.substr(vb, i - 1 - vb);
      if (v.find('\\') != std::string_view::npos) return false;
      auto t = ingest::parseEventTimestamp(v);
      if (!t) return false;
      out = *t;
      found = true;
    } else if (key.find('\\') != std::string_view::npos || !skipValue(s, i)) {
      return false;
    }
    skipSpace(s, i);
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') return found;
    return false;
  }
}

bool TimestampScanner::scan(std::string_view line, TimeMs& out) {
  return plainTimestamp(line, out, parser_) || scanTimestampGeneral(line, out);
}

bool scanTimestamp(std::string_view line, TimeMs& out) {
  TimestampScanner scanner;
  return scanner.scan(line, out);
}

std::string readableTwice(const std::string& path, std::string& error) {
  std::error_code ec;
  if (path != "-" && std::filesystem::is_regular_file(path, ec)) return path;
  const std::string name = path == "-" ? "standard input" : path;
  std::string tmpl = (std::filesystem::temp_directory_path(ec) / "trig-events-XXXXXX").string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0) {
    error = "cannot buffer " + name + " in a temporary file: " + std::strerror(errno);
    return "";
  }
  int from = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = from >= 0;
  if (!ok) error = "cannot open '" + path + "': " + std::strerror(errno);
  std::vector<char> buffer(1 << 20);
  // A line longer than the reader takes is kept only up to one byte past that (the reader rejects
  // it as too long either way), so that an endless line (/dev/zero) cannot fill the disk; one that
  // goes on for kMaxSkipped bytes more ends the copy with an error instead of running forever.
  constexpr uint64_t kMaxLine = ingest::ReaderOptions{}.maxLineBytes, kMaxSkipped = 1ull << 30;
  uint64_t lineBytes = 0, lineNo = 1;
  auto write = [&](const char* p, size_t len) {
    for (size_t done = 0; ok && done < len;) {
      ssize_t w = ::write(fd, p + done, len - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error = "cannot buffer " + name + " in " + tmpl + ": " + std::strerror(errno);
        ok = false;
      } else {
        done += static_cast<size_t>(w);
      }
    }
  };
  while (ok) {
    ssize_t n = ::read(from, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "cannot read " + name + ": " + std::strerror(errno);
      ok = false;
      break;
    }
    for (const char *p = buffer.data(), *end = p + n; ok && p < end;) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      const char* stop = nl ? nl + 1 : end;
      const uint64_t len = static_cast<uint64_t>(stop - p);
      const uint64_t keep = lineBytes > kMaxLine ? 0 : std::min(len, kMaxLine + 1 - lineBytes);
      write(p, static_cast<size_t>(keep));
      if (nl && keep < len) write("\n", 1);  // the kept part of an overlong line ends here
      lineBytes = nl ? 0 : lineBytes + len;
      lineNo += nl ? 1 : 0;
      p = stop;
      if (lineBytes > kMaxLine + kMaxSkipped) {
        error = "cannot read " + name + ": line " + std::to_string(lineNo) + " goes on for more " +
                "than 1 GiB without an end (is it a device such as /dev/zero?)";
        ok = false;
      }
    }
  }
  if (from > STDIN_FILENO) ::close(from);
  ::close(fd);
  if (!ok) {
    std::remove(tmpl.c_str());
    return "";
  }
  return tmpl;
}

namespace {

std::string displayName(const std::string& path) {
  return path == "-" ? "<stdin>" : path;
}

// An input as replay reads it: a regular file, or a temporary copy of one that can be read
// only once (standard input, a pipe), named after the original in messages.
struct Input {
  std::string path;
  std::string name;  // "" for the path itself
};

// Copies of inputs that can be read only once, deleted when replay is done.
class TempCopies {
 public:
  ~TempCopies() {
    for (const auto& p : paths_) std::remove(p.c_str());
  }
  // A regular file as it is; anything else copied to a temporary file, so that the ordering
  // pre-pass can look at it and a log in order streams in bounded memory instead of being held
  // whole. False (with `error`) when the copy cannot be made.
  bool add(const std::string& path, const std::string& name, std::vector<Input>& out,
           std::string& error) {
    std::string readable = readableTwice(path, error);
    if (readable.empty()) return false;
    if (readable != path) paths_.push_back(readable);
    out.push_back(Input{readable, !name.empty()      ? name
                                  : readable != path ? displayName(path)
                                                     : ""});
    return true;
  }

 private:
  std::vector<std::string> paths_;
};

// Whether every line of every file has a timestamp the scan vouches for, in non-decreasing order
// across the files: then the events can be decoded and processed one at a time. `lines` counts
// the non-blank lines seen (all of them when the answer is yes). Lines too long for the reader
// do not count: it rejects them whatever they hold.
bool filesAreSorted(const std::vector<Input>& inputs, size_t maxLineBytes, uint64_t& lines) {
  TimestampScanner scanner;
  TimeMs last = INT64_MIN;
  lines = 0;
  for (const auto& input : inputs) {
    const int fd = ::open(input.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ingest::LineReader reader(fd, true);
    std::string_view line;
    bool truncated = false;
    while (reader.next(line, truncated, maxLineBytes)) {
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      ++lines;
      if (truncated) continue;
      TimeMs t = 0;
      if (!scanner.scan(line, t) || t < last) return false;
      last = t;
    }
    if (reader.failed()) return false;
  }
  return true;
}

// The dead-letter file of `options`, opened for appending: a rejected event is never lost, not
// even one of an earlier run. Null when none is asked for, or (with `error` set) when it is one
// of the inputs, which would be read and written at once, or cannot be opened.
std::unique_ptr<ingest::DeadLetterWriter> openDeadLetter(const ReplayOptions& options,
                                                         std::string& error) {
  if (options.deadLetter.empty()) return nullptr;
  struct stat dl{};
  for (const std::string& f : options.eventFiles) {
    struct stat in{};
    if (f != "-" && ::stat(options.deadLetter.c_str(), &dl) == 0 && ::stat(f.c_str(), &in) == 0 &&
        dl.st_dev == in.st_dev && dl.st_ino == in.st_ino) {
      error = "the dead-letter file '" + options.deadLetter + "' is the events file '" + f +
              "': give --dead-letter another file";
      return nullptr;
    }
  }
  auto dead = std::make_unique<ingest::DeadLetterWriter>(options.deadLetter,
                                                         ingest::DeadLetterWriter::Mode::Append);
  if (!dead->ok()) {
    error = dead->error();
    return nullptr;
  }
  return dead;
}

}  // namespace

ReplayResult replay(Engine& engine, ingest::Decoder& decoder, const ReplayOptions& options) {
  ReplayResult result;
  const bool warnUndeclared = !engine.ignoresUndeclared();
  std::unique_ptr<ingest::DeadLetterWriter> dead = openDeadLetter(options, result.ioError);
  if (!result.ioError.empty()) return result;
  ingest::ReaderOptions ro;
  ro.diagnostics = options.diagnostics;
  ro.deadLetter = dead.get();
  ingest::EventReader reader(decoder, ro);

  uint64_t fed = 0, total = 0;
  auto feed = [&](Event& e) {
    if (options.progress && ++fed % std::max<uint64_t>(options.progressEvery, 1) == 0)
      options.progress(fed, total);
    if (options.until && e.time > *options.until) {
      ++result.afterUntil;
      return;
    }
    if (e.kind == Event::Kind::Undeclared && warnUndeclared &&
        result.undeclared.insert(e.name).second && options.diagnostics)
      *options.diagnostics << e.source << ": warning: event '" << e.name
                           << "' is not declared; it counts as activity and is otherwise ignored\n";
    engine.process(e);
  };

  // Replay is in timestamp order, stable for equal stamps. Inputs already in that order (the
  // usual case for logs) stream through one event at a time; anything else is read whole and
  // sorted first. Standard input and pipes are copied to temporary files first: read only once,
  // they could not be looked at before being replayed.
  TempCopies copies;
  std::vector<Input> inputs;
  for (size_t i = 0; i < options.eventFiles.size(); ++i) {
    std::string error;
    const std::string& name = i < options.eventNames.size() ? options.eventNames[i] : "";
    if (!copies.add(options.eventFiles[i], name, inputs, error)) {
      result.ioError = error;
      return result;
    }
  }
  const bool streaming = filesAreSorted(inputs, ro.maxLineBytes, total);
  if (!streaming) total = 0;
  std::vector<Event> events;
  for (const auto& input : inputs) {
    std::string error;
    bool ok = reader.readAll(
        input.path,
        [&](Event& e) {
          if (streaming)
            feed(e);
          else
            events.push_back(std::move(e));
        },
        error, input.name);
    if (!ok) {
      result.ioError = error;
      return result;
    }
  }
  if (dead && !dead->flush()) {
    result.ioError =
        "cannot write the dead-letter file '" + options.deadLetter + "': " + std::strerror(errno);
    return result;
  }
  result.lines = reader.stats().lines;
  result.accepted = reader.stats().accepted;
  result.rejected = reader.stats().rejected;
  if (!streaming) {
    total = events.size();
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.time < b.time; });
    for (auto& e : events) {
      feed(e);
      // The engine keeps what it needs; the input's memory goes back as the state grows.
      e = Event{};
    }
  }
  engine.finish(options.until);
  if (options.progress) options.progress(fed, fed);
  return result;
}

}  // namespace trig::engine
