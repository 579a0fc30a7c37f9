#pragma once
// The standard library (implicit prelude), embedded from stdlib/*.trig at build time.
#include <string_view>
#include <vector>

namespace trig::stdlib {
struct EmbeddedFile {
  std::string_view path;  // "<stdlib>/prelude.trig"
  std::string_view text;
};
const std::vector<EmbeddedFile>& files();
}  // namespace trig::stdlib
