#pragma once
// The parser: the only code that sees ANTLR. It lexes a file, splits it into top-level
// declarations, parses each with the generated parser and builds trig's AST from the parse tree.
// A syntax error is reported once per declaration (in words, not token names) and parsing goes
// on at the next declaration, so one run reports every broken declaration.
#include <string_view>

#include "compiler/ast/ast.h"
#include "compiler/diag/diagnostic.h"
#include "compiler/source/source.h"

namespace trig::parse {

// Parses one source file into `arena`. Never throws; every problem becomes a diagnostic.
ast::File parseFile(const SourceFile& src, FileId id, ast::AstArena& arena, DiagEngine& diags);

// Parses template text: `raw` is the text as written (a string literal's content between its
// quotes, or a whole template file) starting at byte `offset` of `file`. With `decodeEscapes`,
// backslash escapes outside `{{ }}` are decoded (string literals); template files are literal.
ast::TemplateText parseTemplate(std::string_view raw, FileId file, uint32_t offset,
                                bool decodeEscapes, DiagEngine& diags);

// Decodes the escapes of a string literal's content (without its quotes), reporting bad ones.
std::string decodeString(std::string_view raw, FileId file, uint32_t offset, DiagEngine& diags);

}  // namespace trig::parse
