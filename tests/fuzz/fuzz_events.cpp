// Fuzz target: event lines through the decoder, as `trig run` and the HTTP ingest read them.
// Every line must be decoded or rejected with a reason, never crash; and the decoder must give the
// same outcome whichever reader reads the line: its compact reader (which gives up on anything
// but the usual shape, the general reader then reading the line again) or the general reader
// alone.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "compiler/plan/build.h"
#include "runtime/ingest/decoder.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

bool same(const trig::Event& a, const trig::Event& b) {
  return a.kind == b.kind && a.type == b.type && a.customer == b.customer && a.time == b.time &&
         a.messageId == b.messageId && a.fields == b.fields && a.traits == b.traits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto c = trig::fuzz::compileOnce(trig::fuzz::kSchema);
  static trig::ingest::Decoder fast(trig::plan::buildIngestPlan(c->model));
  static trig::ingest::Decoder general(trig::plan::buildIngestPlan(c->model));
  static const bool generalOnly = (general.setFastPath(false), true);
  (void)generalOnly;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  trig::Event a, b;
  std::string whyA, whyB;
  while (!input.empty()) {
    size_t nl = input.find('\n');
    std::string_view line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    bool okA = fast.decode(line, a, whyA);
    bool okB = general.decode(line, b, whyB);
    const bool closedA = !okA && fast.failedClosed();
    if (okA != okB || closedA != (!okB && general.failedClosed()) ||
        ((okA || closedA) && !same(a, b)) || (!okA && whyA != whyB)) {
      std::fprintf(stderr,
                   "fuzz: the compact and the general reader differ on: %.*s\n  compact: %s\n  "
                   "general: %s\n",
                   static_cast<int>(line.size()), line.data(), okA ? "ok" : whyA.c_str(),
                   okB ? "ok" : whyB.c_str());
      std::abort();
    }
  }
  return 0;
}
