// The examples of docs/language.md are real: every ```trig block must check without any
// diagnostic, and every ```trig-diagnostic block must produce the kinds its `# expect:` lines
// name. So the reference cannot drift from the checker.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "compiler/driver/driver.h"
#include "compiler/review/review.h"

namespace trig {
namespace {

struct Block {
  std::string info;  // "trig" or "trig-diagnostic"
  std::string text;
  int line = 0;  // of the opening fence in the document
};

std::vector<Block> trigBlocks(const std::string& markdown) {
  std::vector<Block> out;
  std::istringstream in(markdown);
  std::string line;
  int n = 0;
  Block* open = nullptr;
  while (std::getline(in, line)) {
    ++n;
    if (open == nullptr) {
      if (line == "```trig" || line == "```trig-diagnostic") {
        out.push_back(Block{line.substr(3), "", n});
        open = &out.back();
      }
    } else if (line == "```") {
      open = nullptr;
    } else {
      open->text += line + "\n";
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the examples of docs/language.md check as documented") {
  namespace fs = std::filesystem;
  std::ifstream in(fs::path(TRIG_SOURCE_DIR) / "docs" / "language.md");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<Block> blocks = trigBlocks(ss.str());
  CHECK(blocks.size() >= 10);

  fs::path dir = fs::temp_directory_path() / ("trig-docs-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const Block& b : blocks) {
    fs::path file = dir / ("line" + std::to_string(b.line) + ".trig");
    std::ofstream(file) << b.text;
    auto c = compile({file.string()});
    review::review(*c);  // as `trig check` does
    std::string found;
    for (const auto& d : c->diags.sorted(c->sources))
      found += std::string(kindName(d.kind)) + ": " + d.message + "\n";
    if (b.info == "trig") {
      CHECK_MESSAGE(found.empty(), "docs/language.md:" << b.line << " should check clean, got:\n"
                                                       << found);
      continue;
    }
    std::istringstream lines(b.text);
    int expectations = 0;
    for (std::string l; std::getline(lines, l);) {
      if (l.rfind("# expect: ", 0) != 0) continue;
      ++expectations;
      std::string kind = l.substr(10);
      CHECK_MESSAGE(found.find(kind + ":") != std::string::npos,
                    "docs/language.md:" << b.line << " should report " << kind << ", got:\n"
                                        << found);
    }
    CHECK_MESSAGE(expectations > 0, "docs/language.md:" << b.line << " has no # expect: line");
  }
  fs::remove_all(dir);
}

}  // namespace trig
