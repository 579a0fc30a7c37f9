#include "compiler/source/source.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "compiler/support/byte_order_mark.h"

namespace trig {

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  // A UTF-8 byte order mark, as some editors write, is not part of the text (spec section 8);
  // columns count from the character after it, as editors show them.
  if (text_.starts_with(kUtf8Bom)) text_.erase(0, kUtf8Bom.size());
  lineStarts_.push_back(0);
  for (uint32_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') lineStarts_.push_back(i + 1);
}

LineCol SourceFile::lineCol(uint32_t offset) const {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text_.size()));
  auto it = std::upper_bound(lineStarts_.begin(), lineStarts_.end(), offset);
  auto line = static_cast<uint32_t>(it - lineStarts_.begin());
  return {line, offset - lineStarts_[line - 1] + 1};
}

std::string_view SourceFile::lineText(uint32_t line) const {
  if (line == 0 || line > lineStarts_.size()) return {};
  uint32_t b = lineStarts_[line - 1];
  uint32_t e = line < lineStarts_.size() ? lineStarts_[line] : static_cast<uint32_t>(text_.size());
  std::string_view s(text_.data() + b, e - b);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

namespace {
thread_local const SourceOverlay* currentOverlay = nullptr;
}  // namespace

SourceOverlay::SourceOverlay(const std::vector<std::pair<std::string, std::string>>& files,
                             bool disk)
    : files_(files), outer_(currentOverlay), disk_(disk) {
  currentOverlay = this;
}

SourceOverlay::~SourceOverlay() {
  currentOverlay = outer_;
}

const std::string* SourceOverlay::find(const std::string& path) const {
  for (const auto& [p, text] : files_)
    if (p == path) return &text;
  return nullptr;
}

bool sourceFileExists(const std::string& path) {
  if (currentOverlay != nullptr) {
    if (currentOverlay->find(path) != nullptr) return true;
    if (!currentOverlay->disk_) return false;
  }
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

ReadStatus readSourceFile(const std::string& path, std::string& text, std::string& reason) {
  if (currentOverlay != nullptr) {
    const std::string* stored = currentOverlay->find(path);
    if (stored != nullptr) {
      text = *stored;
      return ReadStatus::Ok;
    }
    if (!currentOverlay->disk_) {
      reason = std::strerror(ENOENT);
      return ReadStatus::Failed;
    }
  }
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    reason = std::strerror(errno);
    return ReadStatus::Failed;
  }
  text.clear();
  char buf[65536];
  // One byte past the limit tells a file of exactly the limit from a larger one.
  while (text.size() <= kMaxSourceBytes) {
    size_t want = std::min<uint64_t>(sizeof buf, kMaxSourceBytes + 1 - text.size());
    size_t n = std::fread(buf, 1, want, f.get());
    if (n == 0) break;
    text.append(buf, n);
  }
  if (std::ferror(f.get())) {
    reason = std::strerror(errno);
    return ReadStatus::Failed;
  }
  if (text.size() > kMaxSourceBytes) {
    text.clear();
    text.shrink_to_fit();
    return ReadStatus::TooLarge;
  }
  return ReadStatus::Ok;
}

std::string tooLargeText() {
  return "larger than " + std::to_string(kMaxSourceBytes >> 20) + " MiB (" +
         std::to_string(kMaxSourceBytes) + " bytes)";
}

FileId SourceManager::add(std::string path, std::string text) {
  files_.push_back(std::make_unique<SourceFile>(std::move(path), std::move(text)));
  return static_cast<FileId>(files_.size() - 1);
}

FileId SourceManager::find(std::string_view path) const {
  for (size_t i = 0; i < files_.size(); ++i)
    if (files_[i]->path() == path) return static_cast<FileId>(i);
  return kNoFile;
}

}  // namespace trig
