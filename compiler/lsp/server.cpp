#include "compiler/lsp/server.h"

#include <filesystem>
#include <regex>

#include "compiler/format/format.h"
#include "compiler/lsp/document.h"

namespace trig::lsp {
namespace {

// A request's parameters that lack what the method needs.
struct BadParams : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct UnknownMethod : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A request that cannot be answered (formatting a file with syntax errors).
struct Failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

json position(uint32_t line, uint32_t character) {
  return {{"line", line}, {"character", character}};
}

LineIndex::Position positionIn(const SourceFile& f, uint32_t offset) {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(f.text().size()));
  LineCol lc = f.lineCol(offset);
  std::string_view line = f.lineText(lc.line);
  size_t bytes = std::min<size_t>(lc.column > 0 ? lc.column - 1 : 0, line.size());
  return {lc.line > 0 ? lc.line - 1 : 0, utf16Length(line.substr(0, bytes))};
}

bool editorFile(const std::string& path) {
  return !path.empty() && path[0] == '/';
}

// `did you mean 'X'?` in a help line: X.
std::optional<std::string> suggestion(const std::string& help) {
  static const std::regex re(R"(did you mean '([^']+)'\?)");
  std::smatch m;
  if (help.size() > 1000 || !std::regex_search(help, m, re)) return std::nullopt;
  return m[1].str();
}

// The first 'quoted' word of a message: the name it is about.
std::optional<std::string> quoted(const std::string& message) {
  size_t a = message.find('\'');
  if (a == std::string::npos) return std::nullopt;
  size_t b = message.find('\'', a + 1);
  if (b == std::string::npos || b == a + 1) return std::nullopt;
  return message.substr(a + 1, b - a - 1);
}

}  // namespace

json rangeOf(const SourceManager& sm, Loc loc) {
  if (!loc.valid() || loc.file >= sm.size())
    return {{"start", position(0, 0)}, {"end", position(0, 0)}};
  const SourceFile& f = sm.file(loc.file);
  auto b = positionIn(f, loc.begin);
  auto e = positionIn(f, std::max(loc.begin, loc.end));
  return {{"start", position(b.line, b.character)}, {"end", position(e.line, e.character)}};
}

json locationOf(const SourceManager& sm, Loc loc) {
  if (!loc.valid() || loc.file >= sm.size()) return nullptr;
  const std::string& path = sm.file(loc.file).path();
  if (!editorFile(path)) return nullptr;
  return {{"uri", pathToUri(path)}, {"range", rangeOf(sm, loc)}};
}

std::string_view textOf(const SourceManager& sm, Loc loc) {
  if (!loc.valid() || loc.file >= sm.size()) return {};
  std::string_view t = sm.file(loc.file).text();
  uint32_t b = std::min<uint32_t>(loc.begin, static_cast<uint32_t>(t.size()));
  uint32_t e = std::min<uint32_t>(std::max(loc.begin, loc.end), static_cast<uint32_t>(t.size()));
  return t.substr(b, e - b);
}

uint32_t Server::Document::textOffset(const json& pos) const {
  auto whole = [&](const char* key) {
    return pos.contains(key) && pos[key].is_number_integer() && pos[key].get<int64_t>() >= 0;
  };
  if (!pos.is_object() || !whole("line") || !whole("character"))
    throw BadParams("a position needs a line and a character (whole numbers, 0 or more)");
  LineIndex index(text);
  return index.offset(
      static_cast<uint32_t>(std::min<uint64_t>(pos["line"].get<uint64_t>(), UINT32_MAX)),
      static_cast<uint32_t>(std::min<uint64_t>(pos["character"].get<uint64_t>(), UINT32_MAX)));
}

Server::Server() = default;
Server::~Server() = default;

json Server::malformed(const std::string& why) {
  return errorResponse(nullptr, error::kParseError, why);
}

std::vector<json> Server::handle(std::string_view body) {
  std::vector<json> out;
  json msg = json::parse(body.begin(), body.end(), nullptr, false);
  if (msg.is_discarded()) {
    out.push_back(errorResponse(nullptr, error::kParseError, "the message is not valid JSON"));
    return out;
  }
  if (msg.is_array()) {  // a batch
    if (msg.empty())
      out.push_back(errorResponse(nullptr, error::kInvalidRequest, "an empty batch"));
    for (const auto& m : msg) dispatch(m, out);
    return out;
  }
  dispatch(msg, out);
  return out;
}

void Server::dispatch(const json& msg, std::vector<json>& out) {
  if (!msg.is_object() || !msg.contains("method") || !msg["method"].is_string()) {
    // A response from the client (to a request we never send) is ignored; anything else is not
    // a request.
    if (msg.is_object() && msg.contains("id") && (msg.contains("result") || msg.contains("error")))
      return;
    json id =
        msg.is_object() && msg.contains("id") && (msg["id"].is_number() || msg["id"].is_string())
            ? msg["id"]
            : json(nullptr);
    out.push_back(errorResponse(id, error::kInvalidRequest, "not a JSON-RPC request"));
    return;
  }
  std::string method = msg["method"];
  json params = msg.contains("params") ? msg["params"] : json::object();
  bool isRequest = msg.contains("id");
  if (isRequest && !msg["id"].is_number() && !msg["id"].is_string()) {
    out.push_back(errorResponse(nullptr, error::kInvalidRequest,
                                "a request id must be a number or a string"));
    return;
  }
  if (!isRequest) {
    try {
      notify(method, params);
    } catch (const std::exception& e) {
      // A notification has no answer: a malformed one is logged (window/logMessage, a warning)
      // and changes nothing more than the part of it done before.
      out.push_back(notification(
          "window/logMessage",
          {{"type", 2}, {"message", "trig lsp: ignored " + method + ": " + e.what()}}));
    }
    return;
  }
  const json& id = msg["id"];
  if (shutdown_ && method != "exit") {
    out.push_back(errorResponse(id, error::kInvalidRequest, "the server is shutting down"));
    return;
  }
  if (!initialized_ && method != "initialize") {
    out.push_back(errorResponse(id, error::kServerNotInitialized, "the server is not initialized"));
    return;
  }
  try {
    json result = request(method, params);
    out.push_back(response(id, std::move(result)));
  } catch (const BadParams& e) {
    out.push_back(errorResponse(id, error::kInvalidParams, e.what()));
  } catch (const Failed& e) {
    out.push_back(errorResponse(id, error::kRequestFailed, e.what()));
  } catch (const json::exception& e) {
    out.push_back(
        errorResponse(id, error::kInvalidParams, std::string("invalid params: ") + e.what()));
  } catch (const UnknownMethod& e) {
    out.push_back(errorResponse(id, error::kMethodNotFound, e.what()));
  } catch (const std::exception& e) {
    out.push_back(
        errorResponse(id, error::kInternalError, std::string("internal error: ") + e.what()));
  }
  // Diagnostics of documents a request analysed go out right after its answer.
  for (auto& [uri, d] : docs_)
    if (!d->dirty && d->unpublished) out.push_back(publish(*d));
}

json Server::request(const std::string& method, const json& params) {
  if (method == "initialize") {
    initialized_ = true;
    return {{"capabilities",
             {{"positionEncoding", "utf-16"},
              {"textDocumentSync", {{"openClose", true}, {"change", 2}}},
              {"hoverProvider", true},
              {"completionProvider", {{"triggerCharacters", {".", "(", " "}}}},
              {"definitionProvider", true},
              {"documentSymbolProvider", true},
              {"documentFormattingProvider", true},
              {"codeActionProvider", {{"codeActionKinds", {"quickfix"}}}}}},
            {"serverInfo", {{"name", "trig"}, {"version", "0.1.0"}}}};
  }
  if (method == "shutdown") {
    shutdown_ = true;
    return nullptr;
  }
  if (!params.is_object()) throw BadParams("params must be an object");
  if (method == "textDocument/hover") return hover(document(params), params);
  if (method == "textDocument/definition") return definition(document(params), params);
  if (method == "textDocument/completion") return completion(document(params), params);
  if (method == "textDocument/documentSymbol") return symbols(document(params));
  if (method == "textDocument/formatting") return formatting(document(params));
  if (method == "textDocument/codeAction") return codeActions(document(params), params);
  throw UnknownMethod("unknown method '" + method + "'");
}

void Server::notify(const std::string& method, const json& params) {
  if (method == "exit") {
    exited_ = true;
    return;
  }
  if (!initialized_ || shutdown_) return;
  if (method == "textDocument/didOpen") {
    const json& td = params.at("textDocument");
    auto d = std::make_unique<Document>();
    d->uri = td.at("uri").get<std::string>();
    d->path = uriToPath(d->uri);
    if (editorFile(d->path)) d->path = std::filesystem::path(d->path).lexically_normal().string();
    d->text = td.at("text").get<std::string>();
    d->version = td.contains("version") && td["version"].is_number_integer()
                     ? td["version"].get<int64_t>()
                     : 0;
    std::string path = d->path;
    docs_[d->uri] = std::move(d);
    touched(path);
    return;
  }
  if (method == "textDocument/didChange") {
    Document& d = find(params);
    const json& td = params.at("textDocument");
    if (td.contains("version") && td["version"].is_number_integer()) d.version = td["version"];
    d.dirty = true;
    touched(d.path);
    for (const auto& change : params.at("contentChanges")) {
      std::string text = change.at("text").get<std::string>();
      if (!change.contains("range")) {
        d.text = std::move(text);
        continue;
      }
      const json& r = change["range"];
      uint32_t b = d.textOffset(r.at("start")), e = d.textOffset(r.at("end"));
      if (e < b) std::swap(b, e);
      d.text.replace(b, e - b, text);
    }
    return;
  }
  if (method == "textDocument/didClose") {
    const std::string uri = params.at("textDocument").at("uri").get<std::string>();
    auto it = docs_.find(uri);
    if (it == docs_.end()) return;
    std::string path = it->second->path;
    docs_.erase(it);
    // Its diagnostics are cleared; the documents that read it read the disk from now on.
    closed_.push_back(uri);
    touched(path);
    return;
  }
  // initialized, $/cancelRequest, $/setTrace, workspace/didChangeConfiguration, ...: nothing to do.
}

void Server::touched(const std::string& path) {
  for (auto& [uri, d] : docs_)
    if (d->path != path && d->comp && d->comp->sources.find(path) != kNoFile) d->dirty = true;
}

Server::Document& Server::find(const json& params) {
  if (!params.contains("textDocument") || !params["textDocument"].is_object() ||
      !params["textDocument"].contains("uri") || !params["textDocument"]["uri"].is_string())
    throw BadParams("params.textDocument.uri is missing");
  auto it = docs_.find(params["textDocument"]["uri"].get<std::string>());
  if (it == docs_.end()) throw BadParams("the document is not open");
  return *it->second;
}

Server::Document& Server::document(const json& params) {
  Document& d = find(params);
  if (d.dirty || !d.comp) analyze(d);
  return d;
}

void Server::analyze(Document& d) {
  std::vector<std::pair<std::string, std::string>> files;
  files.reserve(docs_.size());
  for (const auto& [uri, doc] : docs_) files.emplace_back(doc->path, doc->text);
  {
    SourceOverlay overlay(files, /*disk=*/true);
    d.comp = compile({d.path});
  }
  d.file = d.comp->sources.find(d.path);
  d.bom = 0;
  if (d.file != kNoFile)
    d.bom = static_cast<uint32_t>(d.text.size() - d.comp->sources.file(d.file).text().size());
  d.dirty = false;
  d.unpublished = true;
  d.fixes.clear();
}

std::vector<json> Server::flush() {
  std::vector<json> out;
  for (const auto& uri : closed_)
    if (docs_.count(uri) == 0)
      out.push_back(notification("textDocument/publishDiagnostics",
                                 {{"uri", uri}, {"diagnostics", json::array()}}));
  closed_.clear();
  for (auto& [uri, d] : docs_) {
    if (d->dirty) analyze(*d);
    if (d->unpublished) out.push_back(publish(*d));
  }
  return out;
}

json Server::publish(Document& d) {
  json list = json::array();
  d.fixes.clear();
  d.unpublished = false;
  const SourceManager& sm = d.comp->sources;
  for (const auto& diag : d.comp->diags.sorted(sm)) {
    bool here = diag.loc.valid() && diag.loc.file == d.file;
    if (!here && diag.loc.valid()) continue;  // another file's: shown when that file is open
    json item = {{"range", rangeOf(sm, diag.loc)},
                 {"severity", diag.severity == Severity::Error     ? 1
                              : diag.severity == Severity::Warning ? 2
                                                                   : 3},
                 {"code", kindName(diag.kind)},
                 {"source", "trig"}};
    std::string message = diag.message;
    if (!diag.help.empty()) message += "\nhelp: " + diag.help;
    json related = json::array();
    for (const auto& n : diag.notes) {
      json where = locationOf(sm, n.loc);
      if (where.is_null())
        message += "\nnote: " + n.message;
      else
        related.push_back({{"location", where}, {"message", n.message}});
    }
    item["message"] = message;
    if (!related.empty()) item["relatedInformation"] = related;
    if (here) {
      if (auto fix = suggestion(diag.help)) {
        std::string_view src = textOf(sm, diag.loc);
        Loc target = diag.loc;
        if (auto word = quoted(diag.message); word && !word->empty()) {
          size_t at = src.find(*word);
          if (at != std::string_view::npos && src.find(*word, at + 1) == std::string_view::npos)
            target = Loc{diag.loc.file, diag.loc.begin + static_cast<uint32_t>(at),
                         diag.loc.begin + static_cast<uint32_t>(at + word->size())};
        }
        if (textOf(sm, target).find('\n') == std::string_view::npos && target.end > target.begin)
          d.fixes.push_back({item, "Change to '" + *fix + "'", rangeOf(sm, target), *fix});
      }
    }
    list.push_back(std::move(item));
  }
  if (std::string more = omittedLine(d.comp->diags); !more.empty())
    list.push_back(
        {{"range", rangeOf(sm, Loc{})}, {"severity", 3}, {"source", "trig"}, {"message", more}});
  json params = {{"uri", d.uri}, {"diagnostics", std::move(list)}};
  params["version"] = d.version;
  return notification("textDocument/publishDiagnostics", std::move(params));
}

json Server::formatting(Document& d) {
  SourceManager sources;
  FileId id = sources.add(d.path, d.text);
  DiagEngine diags;
  auto formatted = format::formatFile(sources.file(id), id, diags);
  if (!formatted) throw Failed("the file has syntax errors; it was not formatted");
  json edits = json::array();
  if (*formatted == d.text) return edits;
  LineIndex index(d.text);
  auto end = index.position(static_cast<uint32_t>(d.text.size()));
  edits.push_back(
      {{"range", {{"start", position(0, 0)}, {"end", position(end.line, end.character)}}},
       {"newText", *formatted}});
  return edits;
}

json Server::codeActions(Document& d, const json& params) {
  json out = json::array();
  bool unpublished = d.unpublished;
  publish(d);  // the fixes of the current analysis; what it would send goes out as before
  d.unpublished = unpublished;
  const json& range = params.at("range");
  auto key = [](const json& p) {
    return std::pair<uint64_t, uint64_t>(p.at("line").get<uint64_t>(),
                                         p.at("character").get<uint64_t>());
  };
  auto rb = key(range.at("start")), re = key(range.at("end"));
  for (const auto& fix : d.fixes) {
    auto fb = key(fix.diagnostic["range"]["start"]), fe = key(fix.diagnostic["range"]["end"]);
    if (fe < rb || re < fb) continue;  // does not touch the range
    json edit = {
        {"changes", {{d.uri, json::array({{{"range", fix.range}, {"newText", fix.newText}}})}}}};
    out.push_back({{"title", fix.title},
                   {"kind", "quickfix"},
                   {"diagnostics", json::array({fix.diagnostic})},
                   {"isPreferred", true},
                   {"edit", std::move(edit)}});
  }
  return out;
}

}  // namespace trig::lsp
