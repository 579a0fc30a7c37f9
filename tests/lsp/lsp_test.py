#!/usr/bin/env python3
"""End-to-end tests of `trig lsp` (docs/editors.md): a scripted LSP client over pipes.

usage: lsp_test.py TRIG

It starts `TRIG lsp`, opens an unsaved buffer over files on disk, and checks what an editor
sees: diagnostics with the text and position of `trig check` (related notes, the document's
version), incremental edits counted in UTF-16 code units, hover, completion, go to definition
(into an imported file, and of the import itself), document symbols, formatting identical to
`trig fmt`, the "did you mean" quick fix (applied, the error goes away), JSON-RPC errors, and
shutdown/exit codes. Then garbage: broken headers, broken JSON, invalid UTF-8, deep nesting,
random bytes. The server must answer what it can and never crash.
"""
import json
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading

TRIG = os.path.abspath(sys.argv[1])
TIMEOUT = 30

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


class Client:
    def __init__(self, cwd):
        self.p = subprocess.Popen([TRIG, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, cwd=cwd)
        self.q = queue.Queue()
        self.next_id = 100
        self.notes = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.p.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    self.q.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                k, _, v = line.decode("ascii").partition(":")
                headers[k.strip().lower()] = v.strip()
            body = out.read(int(headers["content-length"]))
            self.q.put(json.loads(body))

    def raw(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def get(self):
        m = self.q.get(timeout=TIMEOUT)
        if m is None:
            raise EOFError("the server closed its output")
        return m

    def wait_id(self, id_):
        while True:
            m = self.get()
            if m.get("id") == id_ and "method" not in m:
                return m
            self.notes.append(m)

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.wait_id(self.next_id)

    def diagnostics(self, uri, version=None):
        """The next publishDiagnostics for uri (of that version, when given)."""
        while True:
            found = None
            for i, m in enumerate(self.notes):
                if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri \
                        and (version is None or m["params"].get("version") == version):
                    found = i
                    break
            if found is not None:
                return self.notes.pop(found)["params"]["diagnostics"]
            self.notes.append(self.get())


def pos(text, offset):
    """The LSP position (UTF-16) of a character offset of a str."""
    before = text[:offset]
    line = before.count("\n")
    col = before[before.rfind("\n") + 1:]
    return {"line": line, "character": len(col.encode("utf-16-le")) // 2}


def at(uri, text, needle, delta=0):
    i = text.index(needle) + delta
    return {"textDocument": {"uri": uri}, "position": pos(text, i)}


def main():
    tmp = tempfile.mkdtemp(prefix="trig-lsp-test-")
    with open(os.path.join(tmp, "events.trig"), "w") as f:
        f.write("# Shared declarations.\n"
                "event signup { plan: string, referrer?: string }\n"
                "template welcome { subject \"Welcome aboard\" body \"Hello {{ customer.first_name"
                " | default \"there\" }}\" }\n")
    main_path = os.path.join(tmp, "main.trig")
    with open(main_path, "w") as f:
        f.write("# saved version: not what the editor shows\n")
    uri = "file://" + main_path
    # The unsaved buffer: a typo'd template name, a comment with a non-ASCII letter.
    text = ("import \"events.trig\"\n"
            "\n"
            "trigger onboarding:\n"
            "  when signup(plan == \"pro\") as s and customer.first_name != \"\" and s.referer != \"\"\n"
            "  send welcom # café\n")

    c = Client(tmp)
    init = c.request("initialize", {"processId": None, "rootUri": "file://" + tmp, "capabilities": {}})
    caps = init["result"]["capabilities"]
    check(caps["textDocumentSync"]["change"] == 2, "incremental sync is offered")
    for cap in ("hoverProvider", "definitionProvider", "documentSymbolProvider",
                "documentFormattingProvider", "completionProvider", "codeActionProvider"):
        check(cap in caps, "capability " + cap)
    c.notify("initialized", {})
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "trig", "version": 1,
                                                       "text": text}})
    diags = c.diagnostics(uri, 1)
    # What `trig check` says of the same text.
    check_path = os.path.join(tmp, "check.trig")
    with open(check_path, "w") as f:
        f.write(text)
    p = subprocess.run([TRIG, "check", "--format", "json", check_path], capture_output=True,
                       timeout=TIMEOUT)
    # Those of this file (an imported file's, like its unused template, show when it is open).
    expected = [e for e in json.loads(p.stdout)["diagnostics"] if e["file"] == check_path]
    os.remove(check_path)
    check(len(diags) == len(expected) and len(expected) >= 1,
          "as many diagnostics as check: %r vs %r" % (diags, expected))
    for d, e in zip(diags, expected):
        check(d["message"].split("\n")[0] == e["message"], "check's message: %r" % d["message"])
        check(d["code"] == e["kind"], "check's kind")
        check(d["range"]["start"]["line"] == e["line"] - 1, "check's line")
        check(d["range"]["start"]["character"] == e["column"] - 1, "check's column (ASCII line)")
        if e["help"]:
            check(e["help"] in d["message"], "the help line in the message")
    typo = [d for d in diags if d["code"] == "unknown-template"]
    check(len(typo) == 1, "the typo is an unknown template")

    # The quick fix of "did you mean 'welcome'?".
    acts = c.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": typo[0]["range"],
                                                 "context": {"diagnostics": typo}})["result"]
    check(len(acts) == 1 and acts[0]["kind"] == "quickfix", "one quick fix: %r" % acts)
    edit = acts[0]["edit"]["changes"][uri][0]
    check(edit["newText"] == "welcome", "the fix writes the suggestion")

    # A second typo, after a string on its line: `s.referer`.
    field = [d for d in diags if d["code"] == "unknown-field"]
    check(len(field) == 1 and "did you mean 'referrer'?" in field[0]["message"],
          "the misspelt field: %r" % field)
    acts2 = c.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": field[0]["range"],
                                                  "context": {"diagnostics": field}})["result"]
    check(len(acts2) == 1, "the field's quick fix: %r" % acts2)
    edit2 = acts2[0]["edit"]["changes"][uri][0]

    # An incremental edit inside the string before it, with a character outside the BMP: the
    # error moves by its UTF-16 length (2), not its UTF-8 length (4) or code points (1).
    in_string = text.index('"pro"') + 1
    c.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": 2},
        "contentChanges": [{"range": {"start": pos(text, in_string), "end": pos(text, in_string)},
                            "text": "\U0001F600"}]})
    text = text[:in_string] + "\U0001F600" + text[in_string:]
    d2 = c.diagnostics(uri, 2)
    moved = [d for d in d2 if d["code"] == "unknown-field"]
    check(len(moved) == 1 and moved[0]["range"]["start"]["character"] ==
          field[0]["range"]["start"]["character"] + 2, "the diagnostic moved by 2 UTF-16 units: %r" % moved)
    # Undo it (a range counted in UTF-16) and apply both quick fixes.
    start = pos(text, in_string)
    c.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": 3},
        "contentChanges": [
            {"range": {"start": start, "end": {"line": start["line"], "character": start["character"] + 2}},
             "text": ""},
            {"range": edit["range"], "text": edit["newText"]},
            {"range": edit2["range"], "text": edit2["newText"]}]})
    text = text[:in_string] + text[in_string + 1:]
    text = text.replace("send welcom ", "send welcome ").replace("s.referer ", "s.referrer ")
    check(c.diagnostics(uri, 3) == [], "no diagnostics after the fixes")

    # An unsaved buffer of the imported file is what the document sees: renaming `plan` there is
    # an error here; closing it (the disk again) clears both.
    events_uri = "file://" + os.path.join(tmp, "events.trig")
    with open(os.path.join(tmp, "events.trig")) as f:
        events_text = f.read()
    c.notify("textDocument/didOpen", {"textDocument": {
        "uri": events_uri, "languageId": "trig", "version": 1,
        "text": events_text.replace("plan: string", "tier: string")}})
    d4 = c.diagnostics(uri, 3)
    check([d["code"] for d in d4] == ["unknown-field"] and "'plan'" in d4[0]["message"],
          "the imported file's unsaved buffer counts: %r" % d4)
    opened_events = c.diagnostics(events_uri, 1)  # its own: lint of the file alone
    check(all(d["severity"] == 2 for d in opened_events), "the imported file alone: warnings only: %r" % opened_events)
    c.notify("textDocument/didClose", {"textDocument": {"uri": events_uri}})
    check(c.diagnostics(events_uri) == [], "a closed document's diagnostics are cleared")
    check(c.diagnostics(uri, 3) == [], "the importer reads the disk again")

    # Hover.
    h = c.request("textDocument/hover", at(uri, text, "plan ==", 1))["result"]
    check(h and "plan: string" in h["contents"]["value"], "hover on a field: its type: %r" % h)
    h = c.request("textDocument/hover", at(uri, text, "signup(", 2))["result"]
    check(h and "event signup" in h["contents"]["value"] and "referrer?: string" in h["contents"]["value"],
          "hover on an event: its fields: %r" % h)
    h = c.request("textDocument/hover", at(uri, text, "first_name", 2))["result"]
    check(h and "customer.first_name?: string" in h["contents"]["value"], "hover on a trait: %r" % h)
    h = c.request("textDocument/hover", at(uri, text, "send welcome", 7))["result"]
    check(h and "Welcome aboard" in h["contents"]["value"] and "Hello" in h["contents"]["value"],
          "hover on a template: its text: %r" % h)

    # Definition: into the imported file; the import itself.
    events_uri = "file://" + os.path.join(tmp, "events.trig")
    dfn = c.request("textDocument/definition", at(uri, text, "signup(", 1))["result"]
    check(dfn and dfn["uri"] == events_uri and dfn["range"]["start"] == {"line": 1, "character": 6},
          "definition of an event: %r" % dfn)
    dfn = c.request("textDocument/definition", at(uri, text, "send welcome", 6))["result"]
    check(dfn and dfn["uri"] == events_uri and dfn["range"]["start"]["line"] == 2,
          "definition of a template: %r" % dfn)
    dfn = c.request("textDocument/definition", at(uri, text, "events.trig", 2))["result"]
    check(dfn and dfn["uri"] == events_uri, "definition of an import: %r" % dfn)
    dfn = c.request("textDocument/definition", at(uri, text, "onboarding", 2))["result"]
    check(dfn and dfn["uri"] == uri and dfn["range"]["start"] == {"line": 2, "character": 8},
          "definition of a rule: %r" % dfn)

    # Completion: edit the buffer to the places an author types at.
    def complete(prefix_text):
        full = text + prefix_text
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 10},
                                            "contentChanges": [{"text": full}]})
        r = c.request("textDocument/completion",
                      {"textDocument": {"uri": uri}, "position": pos(full, len(full))})["result"]
        return {i["label"] for i in r["items"]}
    got = complete("trigger t2:\n  when signup(")
    check("plan" in got and "referrer" in got, "fields after 'signup(': %r" % got)
    got = complete("trigger t2:\n  when signup as x and x.")
    check("plan" in got and "when" not in got, "fields after an alias and '.': %r" % got)
    got = complete("trigger t2:\n  when signup and customer.")
    check("first_name" in got and "subscribed" in got and "plan" not in got, "traits: %r" % got)
    got = complete("trigger t2:\n  when signup\n  send ")
    check("welcome" in got, "templates after send: %r" % got)
    got = complete("trigger t2:\n  when signup and idle 15")
    check({"15m", "15h", "15d"} <= got, "duration units: %r" % got)
    got = complete("settings {\n  ")
    check({"cap", "quiet_hours", "cooldown"} <= got, "settings: %r" % got)
    got = complete("trigger t2:\n  wh")
    check({"when", "signup", "cart_add", "count"} <= got, "keywords, events: %r" % got)
    c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 11},
                                        "contentChanges": [{"text": text}]})

    # Symbols.
    syms = c.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})["result"]
    check([s["name"] for s in syms] == ["events.trig", "onboarding"], "symbols: %r" % syms)

    # Formatting: what `trig fmt` prints.
    messy = "trigger   t3 :\n      when signup\n  send    welcome\n"
    c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 12},
                                        "contentChanges": [{"text": text + messy}]})
    edits = c.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                  "options": {"tabSize": 2, "insertSpaces": True}})["result"]
    fmt_path = os.path.join(tmp, "fmt.trig")
    with open(fmt_path, "w") as f:
        f.write(text + messy)
    want = subprocess.run([TRIG, "fmt", fmt_path], capture_output=True, timeout=TIMEOUT).stdout.decode()
    check(len(edits) == 1 and edits[0]["newText"] == want, "formatting is trig fmt's: %r" % edits)
    check(want != text + messy, "the messy text was not in the canonical layout")
    c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 13},
                                        "contentChanges": [{"text": "trigger (:\n"}]})
    r = c.request("textDocument/formatting", {"textDocument": {"uri": uri}, "options": {}})
    check("error" in r, "formatting a file with syntax errors fails: %r" % r)

    # JSON-RPC errors, then garbage; the server keeps answering.
    r = c.request("no/such/method", {})
    check(r.get("error", {}).get("code") == -32601, "unknown method: %r" % r)
    r = c.request("textDocument/hover", {"textDocument": {"uri": "file:///not/open.trig"},
                                         "position": {"line": 0, "character": 0}})
    check(r.get("error", {}).get("code") == -32602, "hover on a document not open: %r" % r)
    r = c.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": -1}})
    check(r.get("error", {}).get("code") == -32602, "a bad position: %r" % r)
    c.raw(b"Content-Length: 9\r\n\r\n{not json")
    m = c.get()
    check(m.get("error", {}).get("code") == -32700 and m.get("id") is None, "parse error: %r" % m)
    c.raw(b"X-Nothing: here\r\n\r\n")
    m = c.get()
    check(m.get("error", {}).get("code") == -32700, "a header without Content-Length: %r" % m)
    c.raw(b"Content-Length: 3\r\n\r\n\"\xff\"")
    m = c.get()
    check("error" in m, "invalid UTF-8: %r" % m)
    deep = b"[" * 100000 + b"]" * 100000
    c.raw(b"Content-Length: %d\r\n\r\n" % len(deep) + deep)
    m = c.get()
    check("error" in m, "deep nesting: %r" % m)
    rnd = random.Random(14)
    for _ in range(50):
        body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200)))
        c.raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    for _ in range(50):
        msg = {"jsonrpc": "2.0", "id": rnd.choice([1, "x", None, [], {}]),
               "method": rnd.choice(["textDocument/hover", "textDocument/completion", "initialize",
                                     "textDocument/didChange", "textDocument/didOpen", 7]),
               "params": rnd.choice([None, 1, [], {}, {"textDocument": {"uri": uri}},
                                     {"textDocument": {"uri": uri}, "position": {"line": 1e9, "character": 1e9}},
                                     {"textDocument": {"uri": uri}, "contentChanges": [{"text": 5}]}])}
        c.send(msg)
    r = c.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    check("result" in r, "still answering after garbage: %r" % r)
    check(c.p.poll() is None, "still running after garbage")

    # Shutdown and exit.
    r = c.request("shutdown", None)
    check("result" in r and r["result"] is None, "shutdown")
    c.notify("exit", None)
    check(c.p.wait(timeout=TIMEOUT) == 0, "exit after shutdown: code 0")

    # Exit without shutdown: 1. Random bytes and then the end of input: no crash.
    c2 = Client(tmp)
    c2.request("initialize", {"capabilities": {}})
    c2.notify("exit", None)
    check(c2.p.wait(timeout=TIMEOUT) == 1, "exit without shutdown: code 1")
    for seed in range(5):
        rnd = random.Random(seed)
        junk = bytes(rnd.randrange(256) for _ in range(20000))
        junk = junk.replace(b"Content-Length", b"")  # no huge bodies to wait for
        p = subprocess.run([TRIG, "lsp"], input=b"Content-Length: 2\r\n\r\n{}" + junk,
                           capture_output=True, timeout=TIMEOUT)
        check(p.returncode == 1, "garbage then end of input: exit 1, no crash (got %d)" % p.returncode)

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("lsp: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
