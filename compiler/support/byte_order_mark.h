#pragma once
// The UTF-8 byte order mark, which some editors and exports put at the start of a file: skipped
// at the start of a rule file (SourceFile) and of an events file (the event reader).
#include <string_view>

namespace trig {

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

}  // namespace trig
