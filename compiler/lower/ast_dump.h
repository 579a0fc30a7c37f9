#pragma once
// `trig compile --emit ast`: a readable dump of what the lowering takes in: the event layouts
// (field slots, the offsets compiled code reads) and every rule's conditions, filters and
// bindings as expression trees annotated with sema's types, absence and name resolutions, each
// labelled with the symbol its compiled function gets.
#include <ostream>

#include "compiler/ast/ast.h"
#include "compiler/sema/model.h"
#include "compiler/source/source.h"

namespace trig::lower {

void dumpAst(std::ostream& out, const ast::Program& program, const sema::Model& model,
             const SourceManager& sources);

}  // namespace trig::lower
