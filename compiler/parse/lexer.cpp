// A hand-written lexer for the lexer rules of grammar/Trig.g4. ANTLR lexers take the longest
// match, and among equally long matches the rule defined first; so does this one, rule by rule.
#include "compiler/parse/lexer.h"

#include <antlr4-runtime.h>

#include <algorithm>
#include <string>
#include <unordered_map>

#include "TrigLexer.h"

namespace trig::parse {
namespace {

using T = grammar::TrigLexer;

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isIdentChar(char c) {
  return isLetter(c) || isDigit(c);
}
bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// NUL reaches the generated lexer as a space (see ByteInputStream in parse.cpp).
bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\0';
}

// The keywords, from the grammar's own vocabulary: 'when' -> WHEN, ...
const std::unordered_map<std::string, size_t>& keywords() {
  static const std::unordered_map<std::string, size_t> table = [] {
    std::unordered_map<std::string, size_t> out;
    antlr4::ANTLRInputStream empty("");
    T lexer(&empty);
    const auto& vocab = lexer.getVocabulary();
    for (size_t t = 1; t <= vocab.getMaxTokenType(); ++t) {
      std::string lit = vocab.getLiteralName(t);
      if (lit.size() < 3 || lit.front() != '\'' || !isLetter(lit[1])) continue;
      out.emplace(lit.substr(1, lit.size() - 2), t);
    }
    return out;
  }();
  return table;
}

}  // namespace

size_t Lexer::word(size_t i, size_t& type) const {
  size_t j = i + 1;
  while (j < text_.size() && isIdentChar(text_[j])) ++j;
  auto it = keywords().find(std::string(text_.substr(i, j - i)));
  type = it != keywords().end() ? it->second : static_cast<size_t>(T::IDENT);
  return j - i;
}

// Numbers and the tokens that start with digits: TIMESTAMP, TIME_RANGE, TIME_OF_DAY, DURATION,
// PERCENT, DECIMAL, INT and BAD_NUMBER, in the grammar's order.
size_t Lexer::number(size_t i, size_t& type) const {
  const std::string_view s = text_;
  auto digits = [&](size_t k) {
    size_t n = 0;
    while (k + n < s.size() && isDigit(s[k + n])) ++n;
    return n;
  };
  auto at = [&](size_t k, char c) { return k < s.size() && s[k] == c; };
  auto twoDigits = [&](size_t k) { return k + 1 < s.size() && isDigit(s[k]) && isDigit(s[k + 1]); };
  auto letterAt = [&](size_t k) { return k < s.size() && isLetter(s[k]); };

  size_t best = 0;
  size_t bestType = T::INT;
  auto offer = [&](size_t len, size_t t) {
    if (len > best) {
      best = len;
      bestType = t;
    }
  };

  // TIMESTAMP: DDDD-DD-DD[Tt]DD:DD(:DD(.D+)?)?([Zz]|[+-]DD:DD)
  if (twoDigits(i) && twoDigits(i + 2) && at(i + 4, '-') && twoDigits(i + 5) && at(i + 7, '-') &&
      twoDigits(i + 8) && (at(i + 10, 'T') || at(i + 10, 't')) && twoDigits(i + 11) &&
      at(i + 13, ':') && twoDigits(i + 14)) {
    auto zone = [&](size_t k) -> size_t {
      if (at(k, 'Z') || at(k, 'z')) return k + 1;
      if ((at(k, '+') || at(k, '-')) && twoDigits(k + 1) && at(k + 3, ':') && twoDigits(k + 4))
        return k + 6;
      return 0;
    };
    size_t k = i + 16;
    size_t end = zone(k);
    if (at(k, ':') && twoDigits(k + 1)) {
      size_t m = k + 3;
      if (size_t z = zone(m)) end = std::max(end, z);
      if (at(m, '.') && digits(m + 1) > 0)
        if (size_t z = zone(m + 1 + digits(m + 1))) end = std::max(end, z);
    }
    if (end != 0) offer(end - i, T::TIMESTAMP);
  }
  // TIME_RANGE: DD:DD-DD:DD, TIME_OF_DAY: DD:DD
  if (twoDigits(i) && at(i + 2, ':') && twoDigits(i + 3)) {
    if (at(i + 5, '-') && twoDigits(i + 6) && at(i + 8, ':') && twoDigits(i + 9))
      offer(11, T::TIME_RANGE);
    offer(5, T::TIME_OF_DAY);
  }
  // DURATION: (D+ [smhdw])+
  {
    size_t k = i, last = 0;
    for (size_t d; (d = digits(k)) > 0;) {
      char u = k + d < s.size() ? s[k + d] : '\0';
      if (u != 's' && u != 'm' && u != 'h' && u != 'd' && u != 'w') break;
      k += d + 1;
      last = k - i;
    }
    offer(last, T::DURATION);
  }
  size_t d = digits(i);
  size_t frac = at(i + d, '.') ? digits(i + d + 1) : 0;
  // PERCENT: D+ (. D+)? %
  if (frac > 0 && at(i + d + 1 + frac, '%')) offer(d + 1 + frac + 1, T::PERCENT);
  if (at(i + d, '%')) offer(d + 1, T::PERCENT);
  // DECIMAL, INT
  if (frac > 0) offer(d + 1 + frac, T::DECIMAL);
  offer(d, T::INT);
  // BAD_NUMBER: D+ (. D+)? [A-Za-z_] [A-Za-z0-9_]*
  auto badFrom = [&](size_t k) {
    size_t e = k + 1;
    while (e < s.size() && isIdentChar(s[e])) ++e;
    return e - i;
  };
  if (frac > 0 && letterAt(i + d + 1 + frac)) offer(badFrom(i + d + 1 + frac), T::BAD_NUMBER);
  if (letterAt(i + d)) offer(badFrom(i + d), T::BAD_NUMBER);
  type = bestType;
  return best;
}

// STRING and UNTERMINATED_STRING at a quote. Strings never span lines, so this simulates the
// rules' alternatives (escapes, `{{ ... }}` in which a quote does not end the string, plain
// characters) as a set of states over the rest of the line and keeps the longest match.
size_t Lexer::string(size_t i, size_t& type) const {
  const std::string_view s = text_;
  // States of the STRING rule after the opening quote.
  enum : unsigned {
    kPlain = 1,           // between items
    kEscape = 2,          // after a backslash
    kUnicode = 4,         // after \u{ : hex digits until }
    kUBrace = 8,          // after \u : expecting {
    kOpenBrace = 16,      // after the first { of {{
    kInBraces = 32,       // inside {{ }}
    kInBracesClose = 64,  // inside {{ }} after one }
  };
  unsigned st = kPlain;
  size_t stringEnd = 0;
  // UNTERMINATED_STRING: '"' (ESC | ~["\\\r\n])*; its own states (plain, escape, unicode).
  unsigned ut = kPlain;
  size_t unterminatedEnd = i + 1;
  for (size_t k = i + 1; k < s.size() && (st != 0 || ut != 0); ++k) {
    char c = s[k];
    bool eol = c == '\r' || c == '\n';
    auto step = [&](unsigned from, bool braces) {
      unsigned to = 0;
      if (from & kPlain) {
        if (c == '"') {
          if (braces) stringEnd = k + 1;
        } else if (c == '\\') {
          to |= kEscape;
        } else if (!eol) {
          to |= kPlain;
          if (braces && c == '{') to |= kOpenBrace;
        }
      }
      if ((from & kEscape) && !eol) {
        to |= kPlain;
        if (c == 'u') to |= kUBrace;
      }
      if ((from & kUBrace) && c == '{') to |= kUnicode;
      if (from & kUnicode) {
        if (isHex(c))
          to |= kUnicode;
        else if (c == '}')
          to |= kPlain;
      }
      if ((from & kOpenBrace) && c == '{') to |= kInBraces;
      if (from & kInBraces) {
        if (c == '}')
          to |= kInBracesClose;
        else if (!eol)
          to |= kInBraces;
      }
      if (from & kInBracesClose) {
        if (c == '}')
          to |= kPlain;
        else if (!eol)
          to |= kInBraces;
      }
      return to;
    };
    st = step(st, true);
    ut = step(ut, false);
    if (ut & kPlain) unterminatedEnd = k + 1;
  }
  if (stringEnd != 0 && stringEnd - i >= unterminatedEnd - i) {
    type = T::STRING;
    return stringEnd - i;
  }
  type = T::UNTERMINATED_STRING;
  return unterminatedEnd - i;
}

bool Lexer::next(LexedToken& out) {
  const std::string_view s = text_;
  if (pos_ >= s.size()) return false;
  size_t i = pos_;
  char c = s[i];
  char n = i + 1 < s.size() ? s[i + 1] : '\0';
  size_t len = 1;
  size_t type = T::BAD_CHAR;
  bool hidden = false;
  if (isSpace(c)) {
    while (i + len < s.size() && isSpace(s[i + len])) ++len;
    type = T::WS;
    hidden = true;
  } else if (c == '#' || (c == '/' && n == '/')) {
    while (i + len < s.size() && s[i + len] != '\r' && s[i + len] != '\n') ++len;
    type = T::LINE_COMMENT;
    hidden = true;
  } else if (isLetter(c)) {
    len = word(i, type);
  } else if (isDigit(c)) {
    len = number(i, type);
  } else if (c == '"') {
    len = string(i, type);
  } else {
    switch (c) {
      case '=': type = n == '=' ? (len = 2, T::EQ) : T::ASSIGN; break;
      case '!':
        if (n == '=') {
          type = T::NE;
          len = 2;
        }
        break;
      case '<': type = n == '=' ? (len = 2, T::LE) : T::LT; break;
      case '>': type = n == '=' ? (len = 2, T::GE) : T::GT; break;
      case '+': type = T::PLUS; break;
      case '-': type = T::MINUS; break;
      case '*': type = T::STAR; break;
      case '/': type = T::SLASH; break;
      case '(': type = T::LPAREN; break;
      case ')': type = T::RPAREN; break;
      case '{': type = T::LBRACE; break;
      case '}': type = T::RBRACE; break;
      case '[': type = T::LBRACK; break;
      case ']': type = T::RBRACK; break;
      case ',': type = T::COMMA; break;
      case ':': type = T::COLON; break;
      case '.': type = T::DOT; break;
      case '?': type = T::QUESTION; break;
      default: break;
    }
  }
  out = LexedToken{type, i, i + len - 1, line_, column_, hidden};
  for (size_t k = i; k < i + len; ++k) {
    if (s[k] == '\n') {
      ++line_;
      column_ = 0;
    } else {
      ++column_;
    }
  }
  pos_ = i + len;
  return true;
}

std::vector<LexedToken> lexAll(std::string_view text) {
  std::vector<LexedToken> out;
  Lexer lexer(text);
  for (LexedToken t; lexer.next(t);) out.push_back(t);
  return out;
}

std::vector<LexedToken> lexAllReference(std::string_view text) {
  std::u32string points(text.size(), U' ');
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c != 0) points[i] = c;
  }
  std::string utf8 = antlrcpp::utf32_to_utf8(points);
  antlr4::ANTLRInputStream input(utf8);
  T lexer(&input);
  lexer.removeErrorListeners();
  std::vector<LexedToken> out;
  for (;;) {
    std::unique_ptr<antlr4::Token> t = lexer.nextToken();
    if (t->getType() == antlr4::Token::EOF) break;
    out.push_back(LexedToken{t->getType(), t->getStartIndex(), t->getStopIndex(), t->getLine(),
                             t->getCharPositionInLine(),
                             t->getChannel() != antlr4::Token::DEFAULT_CHANNEL});
  }
  return out;
}

}  // namespace trig::parse
