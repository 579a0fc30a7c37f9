// Fuzz target: what `trig serve` does with a request body before the decoder sees it
// (runtime/serve/ingest_api.h). Any bytes, as any call, must split into items and errors, never
// crash; every item, stamped, must still be one JSON object with the stamp as its timestamp; a
// pixel query must give a JSON object or an error.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/ingest/json_scan.h"
#include "runtime/serve/ingest_api.h"

using namespace trig;

namespace {

// Whether `text` is exactly one JSON object.
bool oneObject(std::string_view text) {
  ingest::json::Scanner sc(text);
  ingest::json::Kind k = ingest::json::Kind::Null;
  return sc.peekKind(k) && k == ingest::json::Kind::Object && sc.skipValue() && sc.atEnd();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto call = static_cast<serve::Call>(data[0] % 4);
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  serve::ParsedBody p = serve::parseBody(call, body);
  if (p.items.size() != p.indexes.size()) std::abort();
  const TimeMs stamp = 1767261600000;
  for (const std::string& item : p.items) {
    std::string stamped = serve::withStamp(item, stamp);
    if (!oneObject(stamped) ||
        !std::string_view(stamped).starts_with("{\"timestamp\":\"2026-01-01T10:00:00Z\""))
      std::abort();
  }
  std::string error;
  std::string pixel = serve::pixelEvent(body, error);
  if (pixel.empty() ? error.empty() : !oneObject(pixel)) std::abort();
  return 0;
}
