#pragma once
// Source files and locations: every AST node and diagnostic points at a byte range of a file.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trig {

using FileId = uint32_t;
constexpr FileId kNoFile = 0xffffffff;

// A half-open byte range [begin, end) in one file.
struct Loc {
  FileId file = kNoFile;
  uint32_t begin = 0;
  uint32_t end = 0;
  bool valid() const { return file != kNoFile; }
};

struct LineCol {
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based, in bytes
};

class SourceFile {
 public:
  // A byte order mark at the start of `text` is dropped.
  SourceFile(std::string path, std::string text);
  const std::string& path() const { return path_; }
  std::string_view text() const { return text_; }
  LineCol lineCol(uint32_t offset) const;
  // The text of a 1-based line, without its line break.
  std::string_view lineText(uint32_t line) const;
  uint32_t lineCount() const { return static_cast<uint32_t>(lineStarts_.size()); }

 private:
  std::string path_;
  std::string text_;
  std::vector<uint32_t> lineStarts_;
};

// The most a rules file or a template file may hold (docs/limits.md): an endless input
// (`/dev/zero`, a pipe) or a huge file ends in a located error instead of exhausting memory, and
// every offset fits a Loc.
constexpr uint64_t kMaxSourceBytes = uint64_t{16} << 20;

enum class ReadStatus { Ok, Failed, TooLarge };
// Reads the whole file at `path` into `text` unless it holds more than kMaxSourceBytes (then only
// that much is read). Failed: `reason` is the operating system's ("No such file or directory").
ReadStatus readSourceFile(const std::string& path, std::string& text, std::string& reason);
// "larger than 16 MiB (16777216 bytes)", for the messages of TooLarge.
std::string tooLargeText();

// Files that stand in for the disk: while a SourceOverlay is in scope on a thread, the rule and
// template files that thread's compiles read (readSourceFile, sourceFileExists) come from it
// alone. `trig serve` compiles the rule set a stored log was decided with this way, whatever the
// files on disk say now. With `disk` set, the files it does not hold are read from the disk as
// usual (`trig lsp`: the editor's unsaved buffers over the saved files).
class SourceOverlay {
 public:
  explicit SourceOverlay(const std::vector<std::pair<std::string, std::string>>& files,
                         bool disk = false);
  ~SourceOverlay();
  SourceOverlay(const SourceOverlay&) = delete;
  SourceOverlay& operator=(const SourceOverlay&) = delete;
  const std::string* find(const std::string& path) const;

 private:
  const std::vector<std::pair<std::string, std::string>>& files_;
  const SourceOverlay* outer_;
  bool disk_;

  friend bool sourceFileExists(const std::string& path);
  friend ReadStatus readSourceFile(const std::string& path, std::string& text, std::string& reason);
};
// Whether `path` is a regular file (of the overlay, when one is in scope).
bool sourceFileExists(const std::string& path);

class SourceManager {
 public:
  FileId add(std::string path, std::string text);
  const SourceFile& file(FileId id) const { return *files_.at(id); }
  size_t size() const { return files_.size(); }
  // The id of a file already added under this path, or kNoFile.
  FileId find(std::string_view path) const;

 private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

}  // namespace trig
