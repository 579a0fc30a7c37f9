#pragma once
// The request bodies of the ingest API (docs/serve.md, "Ingest API": Segment's HTTP Tracking API
// shapes) turned into event objects, one JSON text each, before the decoder sees them. Pure
// text work: no store, no engine.
//
// - `/v1/track`, `/v1/identify`, `/v1/page` take one object; its `type` is the call's (added
//   when absent; a different one is an error). `/v1/batch` takes `{"batch":[...]}`, each item
//   with its own `type`.
// - 32 KB at most per event, 500 KB per batch: a single call above 32 KB is refused whole (413);
//   a batch item above it is rejected by its index.
// - The pixel (`GET /v1/pixel.gif?e=EVENT&u=USER&...`) becomes a track whose properties are the
//   other query parameters, as strings (the decoder reads numbers and booleans from strings).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/support/time.h"

namespace trig::serve {

inline constexpr size_t kMaxEventBytes = 32 * 1024;
inline constexpr size_t kMaxBatchBytes = 500 * 1024;

enum class Call : uint8_t { Track, Identify, Page, Batch };

struct BodyError {
  size_t index = 0;    // the item's index (0 for a single call)
  std::string reason;  // "malformed JSON at column 12: ..."
  std::string raw;     // the item's text (or the whole body), for the dead letter
};

struct ParsedBody {
  int status = 200;                // 400 malformed, 413 too large; 200 otherwise
  std::vector<std::string> items;  // event objects, in order
  std::vector<size_t> indexes;     // each item's index in the request
  std::vector<BodyError> errors;   // items rejected before decoding
};

ParsedBody parseBody(Call call, std::string_view body);

// The event object `json` with its top-level `timestamp` set to `stamp`, keeping the one sent
// (if any) as `originalTimestamp` unless that is present already. The object must be valid JSON
// (parseBody's items are).
std::string withStamp(std::string_view json, TimeMs stamp);

// The track event of a pixel request's query; "" with `error` set when `e` or `u` is missing or
// the query is malformed.
std::string pixelEvent(std::string_view query, std::string& error);

// Percent-decoding of a query component ('+' is a space). False on a malformed escape.
bool percentDecode(std::string_view in, std::string& out);

}  // namespace trig::serve
