#include "runtime/engine/replay.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/ingest/reader.h"

namespace trig::engine {

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

// Whether every line of every file has a top-level timestamp (Decoder::peekTime: the decoder's
// own reader, up to the stamp only), in non-decreasing order across the files: then the events
// can be decoded and processed one at a time, and the bytes after each stamp are parsed once.
// `lines` counts the non-blank lines seen (all of them when the answer is yes). Lines too long
// for the reader do not count: it rejects them whatever they hold.
bool filesAreSorted(const std::vector<Input>& inputs, ingest::Decoder& decoder, size_t maxLineBytes,
                    uint64_t& lines) {
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
      if (!decoder.peekTime(line, t) || t < last) return false;
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
  const bool streaming = filesAreSorted(inputs, decoder, ro.maxLineBytes, total);
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
