// The hand-written lexer must produce exactly the tokens of the ANTLR lexer generated from
// grammar/Trig.g4: on every golden case, on the generated benchmark rules, and on random text
// built from the language's own characters (where the tricky cases are).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "compiler/parse/lexer.h"

namespace trig::parse {
namespace {

std::string describe(const LexedToken& t) {
  return "type " + std::to_string(t.type) + " [" + std::to_string(t.start) + "," +
         std::to_string(t.stop) + "] " + std::to_string(t.line) + ":" + std::to_string(t.column) +
         (t.hidden ? " hidden" : "");
}

// The first difference between the two lexers on `text`, or "".
std::string difference(const std::string& text) {
  auto mine = lexAll(text);
  auto ref = lexAllReference(text);
  for (size_t i = 0; i < std::max(mine.size(), ref.size()); ++i) {
    std::string a = i < mine.size() ? describe(mine[i]) : "(none)";
    std::string b = i < ref.size() ? describe(ref[i]) : "(none)";
    if (a != b) return "token " + std::to_string(i) + ": got " + a + ", want " + b;
  }
  return "";
}

}  // namespace

TEST_CASE("lexer: small cases agree with the generated lexer") {
  const char* cases[] = {
      "",
      " ",
      "when cart_add and idle 15m unless purchased within 30d priority 2 send cart_reminder",
      "2026-01-01T10:00:00Z 2026-01-01T10:00Z 2026-01-01t10:00:00.123+02:00 2026-01-01T10:00:00",
      "22:00-08:00 22:00 22:0 1h30m 15min 10q 1.5x 50% 49.99% 49.99 3. .5 007 1h30 1d2",
      R"("You left {{ product_name | default "something" }} behind")",
      R"("a \" b \\ \n \u{e9} \u{zz} \q {{ "x" }} }} {{ y")",
      "\"unterminated\n\"also\\",
      "\"{{ a } b }}\"",
      "== != <= >= < > = + - * / ( ) { } [ ] , : . ? ! $ @ ~ # comment\n// also\n/ /",
      "\x01\x02\xff\xc3\xa9 abc",
      "customer.first_name starts_with \"A\" contains x in [1, 2]",
      "\"{{\"}}\"",
      "\"\\u{\"",
      "\"{{ \\\" }}\"",
  };
  for (const char* c : cases) CHECK_MESSAGE(difference(c) == "", c);
  CHECK(difference(std::string("a\0b \"\0\"", 8)) == "");
}

TEST_CASE("lexer: golden cases and examples agree with the generated lexer") {
  namespace fs = std::filesystem;
  size_t files = 0;
  for (const char* dir : {"tests/golden", "tests/golden/inputs", "examples", "bench/check_bench"}) {
    fs::path root = fs::path(TRIG_SOURCE_DIR) / dir;
    if (!fs::is_directory(root)) continue;
    for (const auto& entry : fs::directory_iterator(root)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      CHECK_MESSAGE(difference(ss.str()) == "", entry.path().string());
      ++files;
    }
  }
  CHECK(files > 50);
}

TEST_CASE("lexer: random text agrees with the generated lexer") {
  // Fragments chosen to collide: digits next to units, colons and dashes, quotes, braces and
  // backslashes inside strings, keywords glued to names.
  const std::vector<std::string> pieces = {
      "0", "1", "2", "9",  "12",   "2026", "-",    ":",        ".",    "T",  "t",
      "Z", "+", "s", "m",  "h",    "d",    "w",    "q",        "%",    "\"", "\\",
      "u", "{", "}", "{{", "}}",   "\n",   "\r",   " ",        "\t",   "#",  "/",
      "=", "!", "<", ">",  "when", "_x",   "and",  "in",       "idle", "e",  "a1",
      "[", "]", "(", ")",  ",",    "?",    "\xff", "\xc3\xa9", "*",    "\f"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> length(1, 40);
  int failures = 0;
  for (int round = 0; round < 4000 && failures < 5; ++round) {
    std::string text;
    for (int k = length(rng); k > 0; --k) text += pieces[pick(rng)];
    std::string diff = difference(text);
    if (!diff.empty()) {
      ++failures;
      FAIL_CHECK(diff << " in " << text);
    }
  }
  CHECK(failures == 0);
}

}  // namespace trig::parse
