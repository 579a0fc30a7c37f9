#pragma once
// `trig fmt`: the canonical layout of a .trig file (docs/language.md, "Formatting").
//
// The formatter works on the token stream: it keeps the author's line breaks and every token,
// comment and string byte for byte, and fixes what is around them: indentation, the spaces
// within a line, blank lines (at most one in a row, none at the start or end). So formatting
// never changes meaning, keeps each comment on its line, and is idempotent.
#include <optional>
#include <string>
#include <string_view>

#include "compiler/diag/diagnostic.h"
#include "compiler/source/source.h"

namespace trig::format {

// The canonical text of `src`, or nothing when it does not parse: its syntax errors are then
// reported into `diags` (a file with syntax errors is never half-formatted).
std::optional<std::string> formatFile(const SourceFile& src, FileId id, DiagEngine& diags);

// The layout step alone, on text known to lex; nothing if the result would not re-lex into the
// same tokens (a bug: the caller refuses the file rather than change it).
std::optional<std::string> layout(std::string_view text);

// A unified diff (`--- a`, `+++ b`, @@ hunks with 3 lines of context) from `before` to `after`;
// empty when they are equal.
std::string unifiedDiff(std::string_view before, std::string_view after,
                        const std::string& fromName, const std::string& toName);

}  // namespace trig::format
