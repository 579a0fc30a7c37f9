#pragma once
// Diagnostic output: clang-style text, JSON and SARIF 2.1.0.
#include <ostream>
#include <vector>

#include "compiler/diag/diagnostic.h"

namespace trig {

enum class DiagFormat { Text, Json, Sarif };

// Text: `file:line:col: error: message`, the source line, a caret under the range, notes, help.
void renderText(std::ostream& out, const std::vector<Diagnostic>& diags, const SourceManager& sm,
                bool color = false);
// JSON: {"diagnostics":[{file,line,column,end_line,end_column,severity,kind,message,help,notes}],
//        "errors":N,"warnings":N}
void renderJson(std::ostream& out, const std::vector<Diagnostic>& diags, const SourceManager& sm);
// SARIF 2.1.0 with one run of the tool "trig"; rules are the diagnostic kinds.
void renderSarif(std::ostream& out, const std::vector<Diagnostic>& diags, const SourceManager& sm);

}  // namespace trig
