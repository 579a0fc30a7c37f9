#pragma once
// The Language Server Protocol's wire format, with no I/O of its own: `Content-Length` framing
// of JSON-RPC 2.0 messages (MessageReader over any byte source, frame() for output), the
// JSON-RPC error codes, file URIs, and positions as LSP counts them (0-based lines, UTF-16 code
// units within a line) against byte offsets into the text.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace trig::lsp {

using nlohmann::json;

// JSON-RPC 2.0 and LSP error codes.
namespace error {
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kServerNotInitialized = -32002;
constexpr int kRequestFailed = -32803;
}  // namespace error

// The most one message may hold; a larger body is skipped and answered with a parse error.
constexpr size_t kMaxMessageBytes = size_t{64} << 20;

// Reads framed messages from a byte source: `read(buf, n)` fills up to n bytes and returns how
// many, 0 at the end of the input.
class MessageReader {
 public:
  using Source = std::function<size_t(char*, size_t)>;
  explicit MessageReader(Source read) : read_(std::move(read)) {}

  enum class Status {
    Message,    // `body` holds one message's body
    Malformed,  // a header block without a usable Content-Length, or a body too large (skipped):
                // `error` says which; reading may go on
    End,        // the input ended
  };
  Status next(std::string& body, std::string& error);
  // Whether bytes of a next message are already buffered (no read needed to see them).
  bool hasBuffered() const { return pos_ < buf_.size(); }

 private:
  bool fill();  // reads more into buf_; false at the end
  // A header line without its line break; false at the end of the input.
  bool line(std::string& out, bool& tooLong);

  Source read_;
  std::string buf_;
  size_t pos_ = 0;
};

// One message with its header, ready to write. Invalid UTF-8 in strings is replaced (U+FFFD).
std::string frame(const json& message);

json response(const json& id, json result);
json errorResponse(const json& id, int code, const std::string& message);
json notification(const std::string& method, json params);

// `file:///a%20b/c.trig` -> `/a b/c.trig`; other schemes are returned unchanged.
std::string uriToPath(const std::string& uri);
std::string pathToUri(const std::string& path);

// Byte offsets of a text and LSP positions (line, UTF-16 character), both ways. Lines end at
// "\n" (a "\r" before it belongs to the break).
class LineIndex {
 public:
  explicit LineIndex(std::string_view text);
  struct Position {
    uint32_t line = 0;
    uint32_t character = 0;
  };
  Position position(uint32_t offset) const;
  // The byte offset of a position; a character beyond the line's end is its end, a line beyond
  // the text is the text's end, and a position inside a UTF-8 sequence is the sequence's start.
  uint32_t offset(uint32_t line, uint32_t character) const;
  uint32_t lineCount() const { return static_cast<uint32_t>(starts_.size()); }

 private:
  uint32_t lineEnd(uint32_t line) const;  // before its break
  std::string_view text_;
  std::vector<uint32_t> starts_;
};

// UTF-16 code units of a UTF-8 text (an invalid byte counts as one).
uint32_t utf16Length(std::string_view s);

}  // namespace trig::lsp
