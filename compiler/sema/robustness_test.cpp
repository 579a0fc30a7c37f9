// Inputs that must never crash the front end: a 10 MB file, deep nesting, binary junk. Each is
// generated here, at run time, rather than committed.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "compiler/parse/parse.h"
#include "compiler/sema/sema.h"
#include "stdlib/stdlib.h"

namespace trig::sema {
namespace {

struct Front {
  SourceManager sources;
  ast::Program program;
  DiagEngine diags;
  Model model;

  explicit Front(std::string text) {
    for (const auto& f : stdlib::files()) {
      FileId id = sources.add(std::string(f.path), std::string(f.text));
      ast::File file = parse::parseFile(sources.file(id), id, program.arena, diags);
      file.isStdlib = true;
      program.files.push_back(std::move(file));
    }
    FileId id = sources.add("big.trig", std::move(text));
    program.files.push_back(parse::parseFile(sources.file(id), id, program.arena, diags));
    model = analyze(program, sources, diags);
  }
  size_t count(DiagKind k) const {
    size_t n = 0;
    for (const auto& d : diags.all()) n += d.kind == k ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("a 10 MB file of long templates and many rules checks clean") {
  std::string text;
  text.reserve(10'500'000);
  const std::string filler(4000, 'x');
  int n = 0;
  while (text.size() < 10'000'000) {
    std::string i = std::to_string(n++);
    text += "template t" + i + " { subject \"Offer " + i +
            " {{ product_name | default \"\" }}\" body \"" + filler + "\" }\n";
    text += "trigger r" + i + ": when cart_add and price > " + i + ".5 unless purchased within " +
            std::to_string(n % 30 + 1) + "d priority " + i + " send t" + i + "\n";
  }
  Front f(std::move(text));
  CHECK(f.diags.all().empty());
  CHECK(f.model.rules.size() == static_cast<size_t>(n));
  CHECK(f.model.templates.size() == static_cast<size_t>(n));
  CHECK(f.model.rules.back().priority == n - 1);
}

TEST_CASE("deep nesting is refused without exhausting the stack") {
  std::string parens = "trigger t: when cart_add and " + std::string(1'000'000, '(') + "price > 1" +
                       std::string(1'000'000, ')') + " send x\n";
  Front a(parens);
  CHECK(a.count(DiagKind::NestingTooDeep) == 1);
  Front b("trigger t: when cart_add and " + [] {
    std::string s;
    for (int i = 0; i < 200'000; ++i) s += "not ";
    return s;
  }() + "true send x\n");
  CHECK(b.count(DiagKind::NestingTooDeep) == 1);
  Front c("event e { tags: [string] = " + std::string(500'000, '[') + "\n");
  CHECK(c.count(DiagKind::NestingTooDeep) == 1);
  Front d("template t { subject \"" + std::string(300'000, '{') + "\" body \".\" }\n");
  CHECK(d.diags.errorCount() >= 1);
}

TEST_CASE("binary junk is reported, never a crash") {
  std::mt19937 rng(99);
  for (int round = 0; round < 20; ++round) {
    std::string junk;
    for (int i = 0; i < 20'000; ++i) junk += static_cast<char>(rng() & 0xff);
    Front f(junk);
    CHECK(f.diags.errorCount() > 0);
  }
  // Junk made of the language's own words and symbols gets further into the parser.
  const char* words[] = {"when",     "and",   "(",    ")",  "send", "x",
                         "{",        "}",     "\"",   "{{", "1d",   "within",
                         "same",     "split", "50%",  ":",  "then", "after",
                         "template", "event", "test", "at", "+",    "2026-01-01T00:00:00Z"};
  for (int round = 0; round < 200; ++round) {
    std::string text;
    for (int i = 0; i < 60; ++i)
      text += std::string(words[rng() % (sizeof words / sizeof *words)]) + " ";
    Front f(text);
    CHECK(f.model.exprType.size() == f.program.arena.exprCount());
  }
}

}  // namespace trig::sema
