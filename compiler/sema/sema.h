#pragma once
// Semantic analysis: one entry point. Resolves names, checks types, checks templates against
// every rule that sends them, validates settings, splits and tests, and runs the lint checks.
// Reports every problem to `diags` and returns what it learned; a program with errors still
// yields a Model (with Error types where names did not resolve) so the checks keep going.
#include <string>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/diag/diagnostic.h"
#include "compiler/sema/model.h"
#include "compiler/source/source.h"

namespace trig::sema {

// `sources` is not const: templates read from `templates/NAME.txt|html` beside a rule file are
// added to it so their diagnostics can point into them.
Model analyze(const ast::Program& program, SourceManager& sources, DiagEngine& diags);

// The names of the settings (`settings { ... }`), for completion and suggestions.
const std::vector<std::string>& settingNames();

}  // namespace trig::sema
