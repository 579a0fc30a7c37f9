// Fuzz target: a rule file through the whole front end (lexer, parser, sema, lints) as
// `trig check` runs it, with its diagnostics rendered. Any input must give diagnostics, never a
// crash, a hang or a sanitizer report.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "compiler/diag/render.h"
#include "compiler/driver/driver.h"

namespace {

// One file per process, rewritten for every input: the driver reads rule sets from paths.
const std::string& scratchPath() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/trig-fuzz-check-" +
           std::to_string(::getpid()) + ".trig";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(scratchPath(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto c = trig::compile({scratchPath()});
  std::ostringstream sink;
  trig::renderText(sink, c->diags.sorted(c->sources), c->sources, false);
  return 0;
}
