#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "compiler/lsp/protocol.h"
#include "compiler/lsp/server.h"

using namespace trig::lsp;

namespace {

MessageReader::Source stringSource(const std::string& data, size_t chunk = 3) {
  auto pos = std::make_shared<size_t>(0);
  return [data, pos, chunk](char* buf, size_t n) {
    size_t take = std::min({n, chunk, data.size() - *pos});
    data.copy(buf, take, *pos);
    *pos += take;
    return take;
  };
}

const char* kUri = "file:///tmp/trig-lsp-unit/rules.trig";

const char* kRules =
    "template cart_reminder { subject \"Your cart\" body \"Hi {{ customer.first_name | default "
    "\"there\" }}\" }\n"
    "trigger cart_abandon:\n"
    "  when cart_ad and idle 15m\n"
    "  send cart_reminder\n";

json request(int id, const std::string& method, json params) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}
json note(const std::string& method, json params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}
json pos(int line, int character) {
  return {{"textDocument", {{"uri", kUri}}},
          {"position", {{"line", line}, {"character", character}}}};
}

// The one answer to a request.
json ask(Server& s, const json& msg) {
  auto out = s.handle(msg.dump());
  REQUIRE(!out.empty());
  return out.front();
}

Server& opened(Server& s, const std::string& text) {
  ask(s, request(1, "initialize", json::object()));
  s.handle(note("initialized", json::object()).dump());
  s.handle(note("textDocument/didOpen",
                {{"textDocument",
                  {{"uri", kUri}, {"languageId", "trig"}, {"version", 1}, {"text", text}}}})
               .dump());
  return s;
}

}  // namespace

TEST_CASE("lsp: positions count UTF-16 code units") {
  // "é" is 2 bytes and 1 unit, "😀" 4 bytes and 2 units.
  std::string text = "a\xC3\xA9z\n\xF0\x9F\x98\x80x\r\nlast";
  LineIndex index(text);
  CHECK(index.lineCount() == 3);
  CHECK(index.offset(0, 2) == 3);  // z
  CHECK(index.position(3).line == 0);
  CHECK(index.position(3).character == 2);
  CHECK(index.offset(1, 2) == 9);  // x after the emoji
  CHECK(index.position(9).character == 2);
  CHECK(index.offset(1, 1) == 5);    // inside the surrogate pair: the sequence's start
  CHECK(index.offset(1, 99) == 10);  // the line's end, before "\r\n"
  CHECK(index.offset(7, 0) == text.size());
  CHECK(index.position(static_cast<uint32_t>(text.size())).line == 2);
  CHECK(index.position(static_cast<uint32_t>(text.size())).character == 4);
}

TEST_CASE("lsp: file URIs") {
  CHECK(uriToPath("file:///a%20b/c%C3%A9.trig") == "/a b/c\xC3\xA9.trig");
  CHECK(pathToUri("/a b/c\xC3\xA9.trig") == "file:///a%20b/c%C3%A9.trig");
  CHECK(uriToPath(pathToUri("/x/y_z-1.trig")) == "/x/y_z-1.trig");
  CHECK(uriToPath("untitled:Untitled-1") == "untitled:Untitled-1");
}

TEST_CASE("lsp: framing, split reads, junk headers and an oversized body") {
  std::string a = "{\"a\":1}", b = "{\"b\":2}";
  std::string data = "Content-Length: " + std::to_string(a.size()) + "\r\n\r\n" + a +
                     "X-Junk: 1\r\n\r\n" +  // no Content-Length
                     "content-length:  " + std::to_string(b.size()) +
                     "\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + b +
                     "Content-Length: 12x\r\n\r\n" + "Content-Length: 5\r\n\r\nab";
  MessageReader r(stringSource(data));
  std::string body, error;
  CHECK(r.next(body, error) == MessageReader::Status::Message);
  CHECK(body == a);
  CHECK(r.next(body, error) == MessageReader::Status::Malformed);
  CHECK(!error.empty());
  CHECK(r.next(body, error) == MessageReader::Status::Message);
  CHECK(body == b);
  CHECK(r.next(body, error) == MessageReader::Status::Malformed);
  CHECK(r.next(body, error) == MessageReader::Status::End);  // ended inside the body
  CHECK(frame(json{{"x", 1}}) == "Content-Length: 7\r\n\r\n{\"x\":1}");
}

TEST_CASE("lsp: requests before initialize, unknown methods, junk") {
  Server s;
  auto early = ask(s, request(7, "textDocument/hover", pos(0, 0)));
  CHECK(early["error"]["code"] == error::kServerNotInitialized);
  auto init = ask(s, request(1, "initialize", json::object()));
  CHECK(init["result"]["capabilities"]["hoverProvider"] == true);
  CHECK(ask(s, request(2, "no/such", json::object()))["error"]["code"] == error::kMethodNotFound);
  auto bad = s.handle("{not json");
  REQUIRE(bad.size() == 1);
  CHECK(bad[0]["error"]["code"] == error::kParseError);
  CHECK(bad[0]["id"].is_null());
  CHECK(ask(s, json::parse("[1]"))["error"]["code"] == error::kInvalidRequest);
  CHECK(
      ask(s,
          json::parse(
              R"({"jsonrpc":"2.0","id":3,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///nope.trig"},"position":{"line":0,"character":0}}})"))
          ["error"]["code"] == error::kInvalidParams);
  CHECK(ask(s,
            json::parse(
                R"({"jsonrpc":"2.0","id":4,"method":"textDocument/hover","params":42})"))["error"]
                                                                                         ["code"] ==
        error::kInvalidParams);
  // A notification never gets an answer, even a broken one: it is logged.
  auto logged = s.handle(note("textDocument/didChange", {{"bogus", true}}).dump());
  REQUIRE(logged.size() == 1);
  CHECK(logged[0]["method"] == "window/logMessage");
  CHECK(!logged[0].contains("id"));
  CHECK(ask(s, request(5, "shutdown", nullptr))["result"].is_null());
  CHECK(ask(s, request(6, "textDocument/hover", pos(0, 0)))["error"]["code"] ==
        error::kInvalidRequest);
  CHECK(!s.exited());
  s.handle(note("exit", nullptr).dump());
  CHECK(s.exited());
  CHECK(s.exitCode() == 0);
  Server t;
  t.handle(note("exit", nullptr).dump());
  CHECK(t.exitCode() == 1);  // exit without shutdown
}

TEST_CASE("lsp: diagnostics as check reports them, and the quick fix of 'did you mean'") {
  Server s;
  opened(s, kRules);
  auto published = s.flush();
  REQUIRE(published.size() == 1);
  CHECK(published[0]["method"] == "textDocument/publishDiagnostics");
  const json& diags = published[0]["params"]["diagnostics"];
  REQUIRE(diags.size() == 1);
  CHECK(diags[0]["code"] == "unknown-event");
  CHECK(diags[0]["message"].get<std::string>().rfind("unknown event 'cart_ad'", 0) == 0);
  CHECK(diags[0]["range"]["start"] == json{{"line", 2}, {"character", 7}});
  CHECK(s.flush().empty());  // nothing changed

  auto actions = ask(s, request(2, "textDocument/codeAction",
                                {{"textDocument", {{"uri", kUri}}},
                                 {"range", diags[0]["range"]},
                                 {"context", {{"diagnostics", diags}}}}));
  REQUIRE(actions["result"].size() == 1);
  const json& edit = actions["result"][0]["edit"]["changes"][kUri][0];
  CHECK(edit["newText"] == "cart_add");
  CHECK(edit["range"] == diags[0]["range"]);

  // The fix applied as an incremental change: no diagnostics left.
  s.handle(
      note("textDocument/didChange",
           {{"textDocument", {{"uri", kUri}, {"version", 2}}},
            {"contentChanges", json::array({{{"range", edit["range"]}, {"text", "cart_add"}}})}})
          .dump());
  auto after = s.flush();
  REQUIRE(after.size() == 1);
  CHECK(after[0]["params"]["version"] == 2);
  CHECK(after[0]["params"]["diagnostics"].empty());
}

TEST_CASE("lsp: hover, definition, completion, symbols, formatting") {
  Server s;
  std::string text = kRules;
  text.replace(text.find("cart_ad "), 8, "cart_add as c and c.price > 10 ");
  text += "settings {\n  \n}\n";
  text.replace(text.find("trigger cart_abandon"), 7, "trigger  ");  // not the canonical layout
  opened(s, text);
  s.flush();
  // Hover on `price` in `c.price`: its type.
  size_t price = text.find("c.price") + 3;
  auto lineOf = [&](size_t off) {
    return static_cast<int>(std::count(text.begin(), text.begin() + off, '\n'));
  };
  auto colOf = [&](size_t off) { return static_cast<int>(off - (text.rfind('\n', off) + 1)); };
  auto h = ask(s, request(3, "textDocument/hover", pos(lineOf(price), colOf(price))));
  CHECK(h["result"]["contents"]["value"].get<std::string>().find("price?: money") !=
        std::string::npos);
  // Hover on the anchor event: its fields.
  size_t anchor = text.find("cart_add");
  h = ask(s, request(4, "textDocument/hover", pos(lineOf(anchor), colOf(anchor) + 1)));
  CHECK(h["result"]["contents"]["value"].get<std::string>().find("event cart_add") !=
        std::string::npos);
  // Hover on the template sent: its text.
  size_t sent = text.find("send cart_reminder") + 6;
  h = ask(s, request(5, "textDocument/hover", pos(lineOf(sent), colOf(sent))));
  CHECK(h["result"]["contents"]["value"].get<std::string>().find("Your cart") != std::string::npos);
  // Definition of the template sent: its declaration.
  auto d = ask(s, request(6, "textDocument/definition", pos(lineOf(sent), colOf(sent))));
  CHECK(d["result"]["uri"] == kUri);
  CHECK(d["result"]["range"]["start"] == json{{"line", 0}, {"character", 9}});
  // Completion after `c.`: the anchor's fields.
  auto labels = [&](const json& r) {
    std::vector<std::string> out;
    for (const auto& it : r["result"]["items"]) out.push_back(it["label"]);
    return out;
  };
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  size_t dot = text.find("c.price") + 2;
  auto c = labels(ask(s, request(7, "textDocument/completion", pos(lineOf(dot), colOf(dot)))));
  CHECK(has(c, "price"));
  CHECK(has(c, "quantity"));
  CHECK(!has(c, "when"));
  // In the settings block: the settings.
  size_t inSettings = text.find("settings {\n") + 13;
  c = labels(ask(s, request(8, "textDocument/completion", pos(lineOf(inSettings), 2))));
  CHECK(has(c, "quiet_hours"));
  // After `send `: the templates.
  c = labels(ask(s, request(9, "textDocument/completion", pos(lineOf(sent), colOf(sent)))));
  CHECK(has(c, "cart_reminder"));
  // Symbols: the template and the trigger, in source order.
  auto sym =
      ask(s, request(10, "textDocument/documentSymbol", {{"textDocument", {{"uri", kUri}}}}));
  REQUIRE(sym["result"].size() == 3);
  CHECK(sym["result"][0]["name"] == "cart_reminder");
  CHECK(sym["result"][1]["name"] == "cart_abandon");
  CHECK(sym["result"][2]["name"] == "settings");
  // Formatting: one edit of the whole text, the layout of compiler/format.
  auto f = ask(s, request(11, "textDocument/formatting",
                          {{"textDocument", {{"uri", kUri}}},
                           {"options", {{"tabSize", 2}, {"insertSpaces", true}}}}));
  REQUIRE(f["result"].size() == 1);
  std::string formatted = f["result"][0]["newText"];
  CHECK(formatted.find("\ntrigger cart_abandon:\n") != std::string::npos);
  CHECK(formatted.find("trigger  ") == std::string::npos);
  // A syntax error: formatting refuses.
  s.handle(
      note("textDocument/didChange", {{"textDocument", {{"uri", kUri}, {"version", 3}}},
                                      {"contentChanges", json::array({{{"text", "trigger (:"}}})}})
          .dump());
  f = ask(s, request(12, "textDocument/formatting", {{"textDocument", {{"uri", kUri}}}}));
  CHECK(f["error"]["code"] == error::kRequestFailed);
}
