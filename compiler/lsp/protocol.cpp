#include "compiler/lsp/protocol.h"

#include <algorithm>
#include <cctype>

#include "compiler/support/utf8.h"

namespace trig::lsp {
namespace {

constexpr size_t kMaxHeaderLine = 8192;

bool startsWithCaseless(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool MessageReader::fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (size_t{1} << 20)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  char chunk[65536];
  size_t n = read_(chunk, sizeof chunk);
  if (n == 0) return false;
  buf_.append(chunk, n);
  return true;
}

bool MessageReader::line(std::string& out, bool& tooLong) {
  out.clear();
  tooLong = false;
  for (;;) {
    size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      size_t take = nl - pos_;
      if (!tooLong) out.append(buf_, pos_, std::min(take, kMaxHeaderLine + 1));
      pos_ = nl + 1;
      if (out.size() > kMaxHeaderLine) tooLong = true;
      if (!out.empty() && out.back() == '\r') out.pop_back();
      return true;
    }
    // No break yet: keep at most a header line's worth, then drop the rest of the line.
    if (!tooLong) out.append(buf_, pos_, std::string::npos);
    pos_ = buf_.size();
    if (out.size() > kMaxHeaderLine) {
      tooLong = true;
      out.resize(kMaxHeaderLine + 1);
    }
    if (!fill()) return !out.empty();
  }
}

MessageReader::Status MessageReader::next(std::string& body, std::string& error) {
  body.clear();
  error.clear();
  std::string header;
  bool tooLong = false;
  bool sawLength = false, badLength = false, sawAny = false;
  uint64_t length = 0;
  for (;;) {
    if (!line(header, tooLong)) return sawAny ? Status::Malformed : Status::End;
    if (header.empty() && !tooLong) {
      if (!sawAny) continue;  // blank lines between messages
      break;
    }
    sawAny = true;
    if (tooLong) {
      badLength = true;
      continue;
    }
    if (startsWithCaseless(header, "content-length:")) {
      std::string_view v(header);
      v.remove_prefix(15);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      uint64_t n = 0;
      bool ok = !v.empty() && v.size() <= 19;
      for (char c : v) {
        if (c < '0' || c > '9') {
          ok = false;
          break;
        }
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (ok) {
        sawLength = true;
        length = n;
      } else {
        badLength = true;
      }
    }
  }
  if (!sawLength || badLength) {
    error = "a message header without a valid Content-Length";
    return Status::Malformed;
  }
  // The body: taken, or skipped when too large.
  bool keep = length <= kMaxMessageBytes;
  uint64_t left = length;
  while (left > 0) {
    if (pos_ == buf_.size() && !fill()) {
      error = "the input ended inside a message";
      return Status::End;
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(left, buf_.size() - pos_));
    if (keep) body.append(buf_, pos_, take);
    pos_ += take;
    left -= take;
  }
  if (!keep) {
    error = "a message larger than 64 MiB";
    return Status::Malformed;
  }
  return Status::Message;
}

std::string frame(const json& message) {
  std::string body = message.dump(-1, ' ', false, json::error_handler_t::replace);
  return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

json response(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json errorResponse(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json notification(const std::string& method, json params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

std::string uriToPath(const std::string& uri) {
  if (!startsWithCaseless(uri, "file://")) return uri;
  std::string_view rest(uri);
  rest.remove_prefix(7);
  // `file://host/path`: the path starts at the first slash (the host, usually empty, is dropped).
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return uri;
  rest.remove_prefix(slash);
  std::string out;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size()) {
      int hi = hexValue(rest[i + 1]), lo = hexValue(rest[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(rest[i]);
  }
  return out;
}

std::string pathToUri(const std::string& path) {
  if (path.empty() || path[0] != '/') return path;  // not a file path (`untitled:...`)
  static const char* hex = "0123456789ABCDEF";
  std::string out = "file://";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

uint32_t utf16Length(std::string_view s) {
  uint32_t n = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t len = utf8::sequenceLength(s, i);
    if (len == 0) len = 1;
    n += len == 4 ? 2 : 1;
    i += len;
  }
  return n;
}

LineIndex::LineIndex(std::string_view text) : text_(text) {
  starts_.push_back(0);
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') starts_.push_back(static_cast<uint32_t>(i + 1));
}

uint32_t LineIndex::lineEnd(uint32_t line) const {
  uint32_t end = line + 1 < starts_.size() ? starts_[line + 1] - 1 : uint32_t(text_.size());
  if (end > starts_[line] && line + 1 < starts_.size() && text_[end - 1] == '\r') --end;
  return end;
}

LineIndex::Position LineIndex::position(uint32_t offset) const {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text_.size()));
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  auto line = static_cast<uint32_t>(it - starts_.begin() - 1);
  uint32_t begin = starts_[line];
  uint32_t end = std::min(offset, lineEnd(line));
  return {line, utf16Length(text_.substr(begin, end - begin))};
}

uint32_t LineIndex::offset(uint32_t line, uint32_t character) const {
  if (line >= starts_.size()) return static_cast<uint32_t>(text_.size());
  uint32_t i = starts_[line];
  uint32_t end = lineEnd(line);
  uint32_t units = 0;
  while (i < end && units < character) {
    size_t len = utf8::sequenceLength(text_, i);
    if (len == 0) len = 1;
    uint32_t w = len == 4 ? 2 : 1;
    if (units + w > character) break;  // inside a surrogate pair: the sequence's start
    units += w;
    i += static_cast<uint32_t>(len);
  }
  return std::min(i, end);
}

}  // namespace trig::lsp
