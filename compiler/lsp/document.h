#pragma once
// Inside compiler/lsp: an open document with its last analysis, and the position helpers the
// features share.
#include <memory>
#include <string>
#include <vector>

#include "compiler/driver/driver.h"
#include "compiler/lsp/protocol.h"
#include "compiler/lsp/server.h"

namespace trig::lsp {

struct Server::Document {
  std::string uri;
  std::string path;  // the file the compiler reads it as (the overlay's key)
  std::string text;  // the editor's buffer
  int64_t version = 0;
  bool dirty = true;         // changed since the last analysis
  bool unpublished = false;  // analysed since its diagnostics were last published

  // The last analysis: `file` is the document in it; `bom` the bytes its SourceFile dropped at
  // the start of `text` (offsets in `comp` are offsets in `text` minus `bom`).
  std::unique_ptr<Compilation> comp;
  FileId file = kNoFile;
  uint32_t bom = 0;

  // The "did you mean" fixes of the published diagnostics, for codeAction.
  struct Fix {
    json diagnostic;  // as published
    std::string title;
    json range;  // what to replace
    std::string newText;
  };
  std::vector<Fix> fixes;

  // The byte offset in `text` of an LSP position; throws (invalid params) when it is not one.
  uint32_t textOffset(const json& position) const;
  // The same in `comp`'s copy of the text.
  uint32_t offsetAt(const json& position) const {
    uint32_t off = textOffset(position);
    return off >= bom ? off - bom : 0;
  }
};

// An LSP range of a location of a compiled file (any file of the compilation).
json rangeOf(const SourceManager& sm, Loc loc);
// An LSP location ({uri, range}); null when the location has no file or its file is not one an
// editor can open (the embedded prelude).
json locationOf(const SourceManager& sm, Loc loc);
// The source text of a location.
std::string_view textOf(const SourceManager& sm, Loc loc);

}  // namespace trig::lsp
