// The end of every `--help`: one example and the exit codes, in one table so that they stay
// consistent (the man page, build/trig.1, is made from these texts by help2man). A command
// without an entry here fails tests/completion (every command's help must have both).
#include <string>
#include <vector>

#include "cli/commands.h"

namespace trig::cli {
namespace {

struct HelpEnd {
  const char* path;     // "check", "log export"
  const char* example;  // one command line, with what it does after "#"
  const char* exits;    // what 1 and 2 mean for this command ("" when 1 is never returned)
  const char* usage2 = "usage or I/O errors";
};

// The exit codes are the CLI contract's (commands.h): 0 success, 1 the rules or tests failed,
// 2 usage or I/O errors; each command says what they mean for it.
const std::vector<HelpEnd>& table() {
  static const std::vector<HelpEnd> kTable = {
      {"", "trig check rules/ && trig test rules/   # check the rules, then run their tests",
       "the rules or tests failed (see each command)"},
      {"check", "trig check examples/cart_abandonment --strict",
       "errors in the rules (or warnings, with --strict; or a worst case above --max-per-day or "
       "--max-per-week)",
       "usage errors, or a file that cannot be read"},
      {"run",
       "trig run examples/cart_abandonment/rules.trig --events "
       "examples/cart_abandonment/events.jsonl --explain",
       "the rules fail `trig check` (or, with --strict, an event line was invalid)"},
      {"test", "trig test examples/ --coverage",
       "a test failed, no test matched --run, or the rules have errors"},
      {"explain",
       "trig explain examples/cart_abandonment/rules.trig --events "
       "examples/cart_abandonment/events.jsonl --customer ann",
       "the rules fail `trig check`"},
      {"diff", "trig diff old.trig new.trig --events events.jsonl --fail-on-change",
       "the rules fail `trig check` (or, with --fail-on-change, a send was added, removed or "
       "changed; with --static, two rules newly overlap or a bound grew)"},
      {"compile", "trig compile examples/cart_abandonment/rules.trig --emit llvm",
       "the rules have errors"},
      {"serve", "trig serve examples/cart_abandonment --data /tmp/trig-data",
       "the rules fail `trig check`",
       "usage or I/O errors (DIR in use by another trig serve, a port that cannot be bound); "
       "SIGTERM or SIGINT stops it with 0 after the requests in flight"},
      {"log", "trig log export --data /tmp/trig-data > events.jsonl", ""},
      {"log export", "trig log export --data /tmp/trig-data > events.jsonl", ""},
      {"log dead-letter", "trig log dead-letter --data /tmp/trig-data", ""},
      {"log decisions", "trig log decisions --data /tmp/trig-data", ""},
      {"report",
       "trig report examples/cart_abandonment/rules.trig --events "
       "examples/cart_abandonment/events.jsonl --format html > report.html",
       "the rules fail `trig check`"},
      {"fmt", "trig fmt --check rules/   # the diff of what -w would change",
       "a file has syntax errors, or --check found one not in the canonical layout",
       "usage errors, or a file that cannot be read or written"},
      {"preview",
       "trig preview examples/cart_abandonment/rules.trig --template cart_reminder --customer "
       "ann --events examples/cart_abandonment/events.jsonl",
       "the rules fail `trig check`, or the send would be suppressed as missing_data (shown)",
       "usage or I/O errors (an unknown template or rule, a template no rule sends, a bad --set, "
       "an "
       "events file that cannot be read, an --html file that cannot be written)"},
      {"graph",
       "trig graph examples/cart_abandonment/rules.trig --events "
       "examples/cart_abandonment/events.jsonl --format svg -o cart.svg",
       "the rules have errors",
       "usage or I/O errors (an unknown --rule, an unreadable events file, a write error)"},
      {"lsp",
       "trig lsp   # started by an editor: the VS Code extension of editors/vscode, or any LSP "
       "client (docs/editors.md)",
       "`exit` came without `shutdown`, or the input ended first", "usage errors"},
      {"completion", "source <(trig completion bash)", "",
       "usage errors (a shell other than bash or zsh), or standard output cannot be written"},
  };
  return kTable;
}

void endHelp(CLI::App& app, const std::string& path) {
  for (const auto& h : table()) {
    if (path != h.path) continue;
    std::string text = "Example:\n  ";
    text += h.example;
    text += "\n\nExit status:\n  0  success\n";
    if (*h.exits) text += std::string("  1  ") + h.exits + "\n";
    text += std::string("  2  ") + h.usage2;
    app.footer(text);
  }
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
    endHelp(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name());
}

}  // namespace

void addHelpEndings(CLI::App& app) {
  endHelp(app, "");
}

}  // namespace trig::cli
