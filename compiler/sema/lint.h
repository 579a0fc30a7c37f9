#pragma once
// Whether a lint may be reported about a declaration: not when an error was reported in it (the
// lint would be a follow-on of the error), not when `# trig: allow KIND` silences it. Used by
// sema's own lints and by the solver-backed review of `trig check` (compiler/review/).
#include <initializer_list>
#include <utility>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/diag/diagnostic.h"
#include "compiler/source/source.h"

namespace trig::sema {

class LintGate {
 public:
  // Takes the errors reported so far in `diags`.
  LintGate(const ast::Program& program, const SourceManager& sources, const DiagEngine& diags);

  // `about`: the declaration the lint is reported on; `others`: declarations it also names.
  bool open(DiagKind kind, Loc about, std::initializer_list<Loc> others = {}) const;

  // Every `# trig: allow` comment of the program, with its file.
  const std::vector<std::pair<FileId, const ast::File::LintAllow*>>& allows() const {
    return allows_;
  }

 private:
  bool hasError(Loc decl) const;
  bool allowed(DiagKind kind, Loc decl) const;

  const SourceManager& sources_;
  std::vector<Loc> errors_;
  std::vector<std::pair<FileId, const ast::File::LintAllow*>> allows_;
};

}  // namespace trig::sema
