#pragma once
// The lexer of the trig language, internal to compiler/parse. It produces exactly the tokens of
// the lexer rules of grammar/Trig.g4 (same types, offsets and channels; lexer_test.cpp checks it
// against the ANTLR-generated lexer), by hand: the generated lexer takes a lock and allocates
// for every character, which made lexing most of `trig check`'s time on large rule sets.
#include <cstddef>
#include <string_view>
#include <vector>

namespace trig::parse {

struct LexedToken {
  size_t type = 0;      // a TrigLexer token type
  size_t start = 0;     // byte offset of the first byte
  size_t stop = 0;      // byte offset of the last byte (inclusive, as ANTLR counts)
  size_t line = 1;      // 1-based
  size_t column = 0;    // 0-based, in bytes
  bool hidden = false;  // comments and white space
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}
  // The next token; false at the end of the text.
  bool next(LexedToken& out);

 private:
  size_t number(size_t i, size_t& type) const;
  size_t string(size_t i, size_t& type) const;
  size_t word(size_t i, size_t& type) const;

  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t column_ = 0;
};

// Every token of `text`, comments and white space included.
std::vector<LexedToken> lexAll(std::string_view text);
// The same with the lexer ANTLR generates from grammar/Trig.g4: the reference for tests.
std::vector<LexedToken> lexAllReference(std::string_view text);

}  // namespace trig::parse
