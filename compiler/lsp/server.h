#pragma once
// `trig lsp`: the language server's logic, without pipes. The command (cli/lsp.cpp) feeds it
// message bodies and writes what it returns; tests call it directly.
//
// Every analysis is `compile()` of compiler/driver, the front end of `trig check`, run on the
// open document with the editor's buffers over the files on disk (a SourceOverlay), so the
// diagnostics are check's, word for word. Hover, definition and completion read that
// compilation's AST and sema model; formatting is compiler/format's, as `trig fmt`.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/driver/driver.h"
#include "compiler/lsp/protocol.h"

namespace trig::lsp {

class Server {
 public:
  Server();
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // One message body (a request, a notification, a batch of them, or junk): the messages to
  // send back, in order. Changed documents are analysed lazily: by flush(), or first by a
  // request that needs their analysis.
  std::vector<json> handle(std::string_view body);
  // Analyses the documents changed since the last analysis and returns their
  // textDocument/publishDiagnostics notifications. The command calls it when no input waits,
  // so a burst of keystrokes is analysed once.
  std::vector<json> flush();
  // A parse error for a message whose header was unusable.
  static json malformed(const std::string& why);

  // After the `exit` notification: the process should end with exitCode() (0 after `shutdown`,
  // 1 otherwise, as the protocol says).
  bool exited() const { return exited_; }
  int exitCode() const { return shutdown_ ? 0 : 1; }

  struct Document;

 private:
  void dispatch(const json& msg, std::vector<json>& out);
  json request(const std::string& method, const json& params);
  void notify(const std::string& method, const json& params);

  Document& find(const json& params);      // by params.textDocument.uri; throws if not open
  Document& document(const json& params);  // the same, analysed
  void analyze(Document& d);
  json publish(Document& d);

  json hover(Document& d, const json& params);
  json definition(Document& d, const json& params);
  json completion(Document& d, const json& params);
  json symbols(Document& d);
  json formatting(Document& d);
  json codeActions(Document& d, const json& params);

  // Marks the documents whose last analysis read `path` (an import, a template file) changed.
  void touched(const std::string& path);

  std::map<std::string, std::unique_ptr<Document>> docs_;  // by URI
  std::vector<std::string> closed_;  // closed since the last flush: their diagnostics are cleared
  bool initialized_ = false;
  bool shutdown_ = false;
  bool exited_ = false;
};

}  // namespace trig::lsp
