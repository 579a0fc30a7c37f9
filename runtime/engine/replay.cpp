#include "runtime/engine/replay.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
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

// The common line, cheaply: no backslash anywhere (so no escaped key can spell "timestamp"),
// "timestamp" in quotes exactly once, and that once is a key of the top-level object. False
// when any of that does not hold (the full scan then decides).
bool plainTimestamp(std::string_view s, TimeMs& out) {
  static constexpr std::string_view kKey = "\"timestamp\"";
  if (std::memchr(s.data(), '\\', s.size()) != nullptr) return false;
  // Candidates are a quote followed by 't', 16 bytes at a time with SSE2 (string_view::find
  // stops at every quote of the line, glibc's memmem sets up a two-way search per call).
  auto find = [&](size_t from) -> size_t {
    const char* base = s.data();
    size_t i = from;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), t = _mm_set1_epi8('t');
    for (; i + 17 <= s.size(); i += 16) {
      __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i));
      __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i + 1));
      auto mask = static_cast<unsigned>(
          _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, quote), _mm_cmpeq_epi8(b, t))));
      while (mask != 0) {
        size_t at = i + static_cast<size_t>(__builtin_ctz(mask));
        if (s.compare(at, kKey.size(), kKey) == 0) return at;
        mask &= mask - 1;
      }
    }
#endif
    for (; i + kKey.size() <= s.size(); ++i)
      if (base[i] == '"' && s.compare(i, kKey.size(), kKey) == 0) return i;
    return std::string_view::npos;
  };
  size_t at = find(0);
  if (at == std::string_view::npos || find(at + kKey.size()) != std::string_view::npos) return false;
  // The prefix: outside any string at depth 1, just after '{' or ','.
  int depth = 0;
  char last = 0;
  for (size_t i = 0; i < at; ++i) {
    char c = s[i];
    if (c == '"') {
      const void* q = std::memchr(s.data() + i + 1, '"', at - i - 1);
      if (q == nullptr) return false;
      i = static_cast<size_t>(static_cast<const char*>(q) - s.data());
      last = '"';
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    last = c;
  }
  if (depth != 1 || (last != '{' && last != ',')) return false;
  size_t i = at + kKey.size();
  skipSpace(s, i);
  if (i >= s.size() || s[i] != ':') return false;
  ++i;
  skipSpace(s, i);
  if (i >= s.size() || s[i] != '"') return false;
  size_t end = s.find('"', i + 1);
  if (end == std::string_view::npos) return false;
  auto t = ingest::parseEventTimestamp(s.substr(i + 1, end - i - 1));
  if (!t) return false;
  out = *t;
  return true;
}

}  // namespace

bool scanTimestamp(std::string_view s, TimeMs& out) {
  if (plainTimestamp(s, out)) return true;
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
  while (ok) {
    ssize_t n = ::read(from, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "cannot read " + name + ": " + std::strerror(errno);
      ok = false;
      break;
    }
    for (ssize_t done = 0; ok && done < n;) {
      ssize_t w = ::write(fd, buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error = "cannot buffer " + name + " in " + tmpl + ": " + std::strerror(errno);
        ok = false;
      } else {
        done += w;
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
    out.push_back(Input{readable, !name.empty() ? name : readable != path ? displayName(path) : ""});
    return true;
  }

 private:
  std::vector<std::string> paths_;
};

// Whether every line of every file has a plain timestamp, in non-decreasing order across the
// files: then the events can be decoded and processed one at a time. `lines` counts the
// non-blank lines seen (all of them when the answer is yes).
bool filesAreSorted(const std::vector<Input>& inputs, uint64_t& lines) {
  TimeMs last = INT64_MIN;
  lines = 0;
  std::string line;
  for (const auto& input : inputs) {
    std::ifstream in(input.path, std::ios::binary);
    if (!in) return false;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      TimeMs t = 0;
      if (!scanTimestamp(line, t) || t < last) return false;
      last = t;
      ++lines;
    }
  }
  return true;
}

}  // namespace

ReplayResult replay(Engine& engine, const sema::Model& model, const ReplayOptions& options) {
  ReplayResult result;
  ingest::Decoder decoder(model);
  std::unique_ptr<ingest::DeadLetterWriter> dead;
  if (!options.deadLetter.empty()) {
    dead = std::make_unique<ingest::DeadLetterWriter>(options.deadLetter);
    if (!dead->ok()) {
      result.ioError = dead->error();
      return result;
    }
  }
  ingest::ReaderOptions ro;
  ro.diagnostics = options.diagnostics;
  ro.deadLetter = dead.get();
  ingest::EventReader reader(decoder, ro);

  uint64_t fed = 0, total = 0;
  auto feed = [&](Event& e) {
    if (options.progress && ++fed % std::max<uint64_t>(options.progressEvery, 1) == 0) options.progress(fed, total);
    if (options.until && e.time > *options.until) {
      ++result.afterUntil;
      return;
    }
    if (e.kind == Event::Kind::Undeclared && result.undeclared.insert(e.name).second &&
        options.diagnostics)
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
  const bool streaming = filesAreSorted(inputs, total);
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
  if (dead) dead->flush();
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
