#pragma once
// The compiler pipeline up to a checked program: load (prelude, imports depth-first, the named
// files) -> parse -> sema. Later phases (interpreter, lowering, runtime) take a Compilation.
#include <memory>
#include <string>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/diag/diagnostic.h"
#include "compiler/sema/model.h"
#include "compiler/source/source.h"

namespace trig {

struct Compilation {
  SourceManager sources;
  ast::Program program;
  DiagEngine diags;
  sema::Model model;
  bool ok() const { return diags.errorCount() == 0; }
};

// Compiles the given .trig files as one program; a directory stands for every .trig file under
// it (sorted), and a file imported by another is loaded once. I/O problems are diagnostics (kind
// io-error).
std::unique_ptr<Compilation> compile(const std::vector<std::string>& paths);

// The paths with each directory replaced by the .trig files under it, recursively, sorted.
std::vector<std::string> expandTrigPaths(const std::vector<std::string>& paths);

}  // namespace trig
