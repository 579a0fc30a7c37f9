// `--color auto|always|never` and NO_COLOR (https://no-color.org): whether text output is
// coloured. `auto` colours a terminal unless NO_COLOR is set; `always` wins over NO_COLOR.
#include <unistd.h>

#include <cstdlib>

#include "cli/commands.h"

namespace trig::cli {
namespace {

ColorMode gMode = ColorMode::Auto;

}  // namespace

void setColorMode(ColorMode mode) { gMode = mode; }

bool useColor(int fd) {
  switch (gMode) {
    case ColorMode::Always: return true;
    case ColorMode::Never: return false;
    case ColorMode::Auto: {
      const char* noColor = std::getenv("NO_COLOR");
      return isatty(fd) != 0 && (noColor == nullptr || *noColor == '\0');
    }
  }
  return false;
}

}  // namespace trig::cli
