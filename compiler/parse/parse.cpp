// Lexing, declaration splitting, syntax errors in words, and the parse tree -> AST builder.
#include "compiler/parse/parse.h"

#include <optional>
#include <stdexcept>

#include <antlr4-runtime.h>

#include <algorithm>
#include <cassert>
#include <functional>
#include <set>

#include "TrigParser.h"
#include "compiler/core/aggregate.h"
#include "compiler/parse/lexer.h"
#include "compiler/support/utf8.h"

namespace trig::parse {
namespace {

using antlr4::Token;
using grammar::TrigParser;

// Deeper nesting than this is refused before parsing, so recursion stays bounded.
constexpr int kMaxNesting = 64;
// More operators than this in one declaration are refused too (see checkNesting).
constexpr int kMaxOperators = 1000;

// The hand-written lexer as an ANTLR token source: the parser's error recovery asks tokens for
// their source (to make "missing" tokens) and their text (through the input stream).
class TokenSourceAdapter : public antlr4::TokenSource {
 public:
  TokenSourceAdapter(std::string_view text, antlr4::CharStream& input, std::string name)
      : lexer_(text), input_(input), name_(std::move(name)) {}

  // Receives each comment token (they never reach the parser).
  std::function<void(const LexedToken&)> onComment;

  // The next default-channel token; comments and white space never reach the parser.
  std::unique_ptr<Token> nextToken() override {
    for (LexedToken t; lexer_.next(t);) {
      if (t.hidden && t.type == grammar::TrigParser::LINE_COMMENT && onComment) onComment(t);
      if (t.hidden) continue;
      line_ = t.line;
      column_ = t.column;
      auto tok = std::make_unique<antlr4::CommonToken>(
          std::make_pair<antlr4::TokenSource*, antlr4::CharStream*>(this, &input_), t.type,
          Token::DEFAULT_CHANNEL, t.start, t.stop);
      return tok;
    }
    auto eof = std::make_unique<antlr4::CommonToken>(
        std::make_pair<antlr4::TokenSource*, antlr4::CharStream*>(this, &input_), Token::EOF,
        Token::DEFAULT_CHANNEL, input_.size(), input_.size() - 1);
    return eof;
  }
  size_t getLine() const override { return line_; }
  size_t getCharPositionInLine() override { return column_; }
  antlr4::CharStream* getInputStream() override { return &input_; }
  std::string getSourceName() override { return name_; }
  antlr4::TokenFactory<antlr4::CommonToken>* getTokenFactory() override {
    return antlr4::CommonTokenFactory::DEFAULT.get();
  }

 private:
  Lexer lexer_;
  antlr4::CharStream& input_;
  std::string name_;
  size_t line_ = 1;
  size_t column_ = 0;
};

// The parser reads token text through a character stream holding each byte as one code point,
// so token indices are byte offsets into the original text, which keeps locations exact for any
// text, valid UTF-8 or not. (NUL is read as a space, as the lexer does.)
class ByteInputStream : public antlr4::ANTLRInputStream {
 public:
  explicit ByteInputStream(std::string_view text) {
    _data.resize(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      auto c = static_cast<unsigned char>(text[i]);
      _data[i] = c == 0 ? U' ' : static_cast<char32_t>(c);
    }
    p = 0;
  }
};

// Reports the first byte sequence that is not UTF-8.
void checkUtf8(const SourceFile& src, FileId id, DiagEngine& diags) {
  std::string_view t = src.text();
  for (size_t i = 0; i < t.size();) {
    auto c = static_cast<unsigned char>(t[i]);
    const size_t n = utf8::sequenceLength(t, i);
    if (n == 0) {
      diags
          .report(DiagKind::InvalidUtf8,
                  Loc{id, static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1)},
                  "this file is not valid UTF-8 (byte 0x{:02x})", c)
          .help("save the file as UTF-8");
      return;
    }
    i += n;
  }
}

std::string describeToken(size_t type, const antlr4::dfa::Vocabulary& vocab) {
  switch (type) {
    case Token::EOF: return "the end of the declaration";
    case TrigParser::IDENT: return "a name";
    case TrigParser::STRING: return "a quoted string";
    case TrigParser::INT: return "a whole number";
    case TrigParser::DECIMAL: return "a decimal number";
    case TrigParser::DURATION: return "a duration such as 15m";
    case TrigParser::PERCENT: return "a percentage such as 50%";
    case TrigParser::TIMESTAMP: return "a timestamp such as 2026-01-01T10:00:00Z";
    case TrigParser::TIME_RANGE: return "a time range such as 22:00-08:00";
    case TrigParser::TIME_OF_DAY: return "a time of day such as 22:00";
    default: break;
  }
  std::string lit = vocab.getLiteralName(type);
  if (!lit.empty()) {
    if (lit.front() == '\'') lit = lit.substr(1, lit.size() - 2);
    return "'" + lit + "'";
  }
  return vocab.getSymbolicName(type);
}

bool isContextualKeyword(size_t t) {
  switch (t) {
    case TrigParser::SUBJECT:
    case TrigParser::BODY:
    case TrigParser::FILE:
    case TrigParser::PASSIVE:
    case TrigParser::FROM:
    case TrigParser::AT:
    case TrigParser::EXPECT:
    case TrigParser::NO:
    case TrigParser::TO:
    case TrigParser::ARBITRATION:
    case TrigParser::CAP:
    case TrigParser::QUIET_HOURS:
    case TrigParser::DEDUP:
    case TrigParser::SUPPRESSED:
    case TrigParser::BECAUSE:
    case TrigParser::PIN:
    case TrigParser::VARIANT:
    case TrigParser::HOLDOUT:
    case TrigParser::MEDIAN:
    case TrigParser::ACTIVITY:
    case TrigParser::IGNORE: return true;
    default: return false;
  }
}

// A stray character, quoted when printable and shown as a byte value otherwise (binary junk).
std::string describeBadChar(const std::string& text) {
  auto c = static_cast<unsigned char>(text.empty() ? 0 : text[0]);
  if (c >= 0x21 && c < 0x7f) return "unexpected character '" + text + "'";
  return fmt::format("unexpected byte 0x{:02x}", c);
}

bool isReservedWord(size_t t) {
  return t >= TrigParser::WHEN && t <= TrigParser::LAST;
}

// Turns ANTLR's syntax errors into one diagnostic per declaration, in words.
class ErrorListener : public antlr4::BaseErrorListener {
 public:
  ErrorListener(const SourceFile& src, FileId id, DiagEngine& diags)
      : src_(src), id_(id), diags_(diags) {}
  void reset() { reported_ = false; }
  bool reported() const { return reported_; }

  void syntaxError(antlr4::Recognizer* recognizer, Token* tok, size_t, size_t, const std::string&,
                   std::exception_ptr) override {
    if (reported_ || tok == nullptr) return;
    reported_ = true;
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    // The whole declaration, so that what follows the error can be looked at.
    if (auto* buffered = parser != nullptr
                             ? dynamic_cast<antlr4::BufferedTokenStream*>(parser->getTokenStream())
                             : nullptr)
      buffered->fill();
    size_t type = tok->getType();
    Loc loc{id_, static_cast<uint32_t>(tok->getStartIndex()),
            static_cast<uint32_t>(tok->getStopIndex() + 1)};
    if (type == Token::EOF) loc.end = loc.begin;
    std::string text(src_.text().substr(loc.begin, loc.end - loc.begin));

    if (type == TrigParser::BAD_NUMBER) {
      reportBadNumber(text, loc);
      return;
    }
    if (type == TrigParser::UNTERMINATED_STRING) {
      diags_.report(DiagKind::UnterminatedString, loc, "missing closing quote of this string")
          .help("strings end on the line they start; write \\n for a line break");
      return;
    }

    std::vector<std::string> expected;
    std::vector<size_t> expectedTypes;
    bool wantsName = false;
    if (parser != nullptr) {
      try {
        auto set = parser->getExpectedTokens();
        for (size_t t : set.toList()) {
          if (t == TrigParser::IDENT) wantsName = true;
          // Contextual keywords are names too; listing them would only confuse.
          if (isContextualKeyword(t) || t == TrigParser::BAD_NUMBER ||
              t == TrigParser::UNTERMINATED_STRING)
            continue;
          expectedTypes.push_back(t);
          expected.push_back(describeToken(t, parser->getVocabulary()));
        }
      } catch (...) {
        expected.clear();
        expectedTypes.clear();
      }
    }
    if (parser != nullptr && commonMistake(*parser, tok, loc, text, expectedTypes, wantsName))
      return;
    std::string found = type == Token::EOF             ? "the declaration ends here"
                        : type == TrigParser::BAD_CHAR ? describeBadChar(text)
                                                       : "unexpected '" + text + "'";
    std::string msg = found;
    if (tok->getTokenIndex() == 0 && type != Token::EOF) {
      // Nothing of a declaration parsed yet: say what may begin one.
      msg +=
          "; expected a declaration (event, customer, template, settings, trigger, when, test or "
          "import)";
    } else if (!expected.empty() && expected.size() <= 8) {
      msg += "; expected ";
      for (size_t i = 0; i < expected.size(); ++i) {
        if (i > 0) msg += i + 1 == expected.size() ? " or " : ", ";
        msg += expected[i];
      }
    } else if (!expected.empty()) {
      msg += "; expected a value or a condition";
    }
    auto b = diags_.add(DiagKind::SyntaxError, loc, msg);
    auto* tokens = parser != nullptr ? parser->getTokenStream() : nullptr;
    bool inTrigger =
        tokens != nullptr && tokens->size() > 0 && tokens->get(0)->getType() == TrigParser::TRIGGER;
    auto expects = [&](size_t t) {
      return std::find(expectedTypes.begin(), expectedTypes.end(), t) != expectedTypes.end();
    };
    if (type == TrigParser::OR && expects(TrigParser::AND)) {
      b.help(
          "after `when ...`, each `and` term is one condition: put an `or` in parentheses, "
          "as in `and (price > 10 or quantity > 2)`");
    } else if (type == Token::EOF && expects(TrigParser::SEND)) {
      b.help("a rule ends with what it does, such as `send cart_reminder`");
    } else if (inTrigger && expects(TrigParser::COLON)) {
      b.help(
          "a named rule is written `trigger NAME: when ...` (or `trigger NAME \"Title\": when "
          "...`)");
    } else if (type == TrigParser::IDENT && parser != nullptr) {
      if (std::string kw = closeKeyword(text, expectedTypes, parser->getVocabulary()); !kw.empty())
        b.help("did you mean '" + kw + "'?");
    }
    if (parser != nullptr) noteUnclosed(b, *parser, tok, expected);
  }

 private:
  static std::string keywordText(size_t t, const antlr4::dfa::Vocabulary& vocab) {
    std::string lit = vocab.getLiteralName(t);
    if (lit.size() < 3 || lit.front() != '\'' || !std::isalpha(static_cast<unsigned char>(lit[1])))
      return {};
    return lit.substr(1, lit.size() - 2);
  }

  // The expected keyword a misspelt word stands for (`unles`: unless), or empty.
  static std::string closeKeyword(const std::string& word, const std::vector<size_t>& expectedTypes,
                                  const antlr4::dfa::Vocabulary& vocab) {
    std::vector<std::string> words;
    for (size_t t : expectedTypes)
      if (std::string kw = keywordText(t, vocab); !kw.empty()) words.push_back(kw);
    return closestMatch(word, words);
  }

  Loc tokenLocOf(Token* t) const {
    return Loc{id_, static_cast<uint32_t>(t->getStartIndex()),
               static_cast<uint32_t>(t->getStopIndex() + 1)};
  }

  // Mistakes people make often, each reported as what to write instead. True when reported.
  bool commonMistake(antlr4::Parser& parser, Token* tok, Loc loc, const std::string& text,
                     const std::vector<size_t>& expectedTypes, bool wantsName) {
    auto expects = [&](size_t t) {
      return std::find(expectedTypes.begin(), expectedTypes.end(), t) != expectedTypes.end();
    };
    auto* stream = parser.getTokenStream();
    size_t index = tok->getTokenIndex();
    Token* next =
        stream != nullptr && index + 1 < stream->size() ? stream->get(index + 1) : nullptr;
    Token* prev = stream != nullptr && index > 0 ? stream->get(index - 1) : nullptr;
    size_t nextType = next != nullptr ? next->getType() : Token::EOF;
    size_t prevType = prev != nullptr ? prev->getType() : Token::INVALID_TYPE;
    size_t type = tok->getType();
    const auto& vocab = parser.getVocabulary();

    // `idle 15 minutes`, `within 30 days`: the number and the unit word are the duration.
    if (expects(TrigParser::DURATION) && type == TrigParser::INT && nextType == TrigParser::IDENT &&
        durationUnitForWord(next->getText()) != '\0') {
      Loc both{id_, loc.begin, tokenLocOf(next).end};
      auto b = diags_.report(DiagKind::BadDuration, both, "'{} {}' is not a duration", text,
                             next->getText());
      durationHelp(b, text, next->getText());
      return true;
    }
    // `limit 3 per day`
    if (expects(TrigParser::DURATION) && type == TrigParser::IDENT &&
        durationUnitForWord(text) != '\0') {
      auto b = diags_.report(DiagKind::BadDuration, loc,
                             "'{}' is not a duration: write a duration such as 1d", text);
      durationHelp(b, "1", text);
      return true;
    }
    // `event x from "X" passive {`
    if (type == TrigParser::PASSIVE && stream->get(0)->getType() == TrigParser::EVENT) {
      diags_.report(DiagKind::SyntaxError, loc, "'passive' goes before 'from'")
          .help("write it right after the name: event NAME passive from \"External Name\" { ... }");
      return true;
    }
    // `category = "lamps"` in a rule, where '=' only ever binds a `with` value.
    size_t declKeyword = stream->get(0)->getType();
    if (type == TrigParser::ASSIGN && !expects(TrigParser::ASSIGN) &&
        (declKeyword == TrigParser::WHEN || declKeyword == TrigParser::TRIGGER)) {
      diags_.report(DiagKind::SyntaxError, loc, "'=' is not a comparison")
          .help("did you mean '=='? (a single '=' gives a value: defaults, `with` bindings)");
      return true;
    }
    // `limit: int`, `event when { }`: a reserved word where a name belongs.
    // (After a field the parser may only expect the closing brace; a word followed by ':' or
    // '?' is still meant as the next field's name.)
    bool namePosition = (wantsName && expectedTypes.size() == 1) || nextType == TrigParser::COLON ||
                        nextType == TrigParser::QUESTION;
    if (isReservedWord(type) && namePosition) {
      const char* what = prevType == TrigParser::EVENT      ? "an event"
                         : prevType == TrigParser::TEMPLATE ? "a template"
                         : prevType == TrigParser::TRIGGER  ? "a rule"
                         : nextType == TrigParser::COLON || nextType == TrigParser::QUESTION
                             ? "a field"
                             : "anything";
      diags_.report(DiagKind::SyntaxError, loc, "'{}' is a reserved word; rename it", text)
          .help(fmt::format(
              "reserved words of the language cannot name {} ('{}_' or another word can)", what,
              text));
      return true;
    }
    // `AND`, `Unless`: keywords are lowercase.
    if (type == TrigParser::IDENT) {
      std::string lower = text;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      for (size_t t : expectedTypes)
        if (lower != text && keywordText(t, vocab) == lower) {
          diags_.report(DiagKind::SyntaxError, loc, "unexpected '{}': keywords are lowercase", text)
              .help("did you mean '" + lower + "'?");
          return true;
        }
    }
    return false;
  }

  // When a closing bracket is expected, points at the bracket that is still open (one that
  // the rest of the declaration closes is not: the mistake is elsewhere).
  void noteUnclosed(DiagEngine::Builder& b, antlr4::Parser& parser, Token* tok,
                    const std::vector<std::string>& expected) {
    auto* stream = parser.getTokenStream();
    if (stream == nullptr) return;
    std::vector<Token*> open;
    Token* unclosed = nullptr;
    for (size_t i = 0; i < stream->size(); ++i) {
      Token* t = stream->get(i);
      if (i == tok->getTokenIndex()) {
        if (open.empty()) return;
        unclosed = open.back();
      }
      switch (t->getType()) {
        case TrigParser::LPAREN:
        case TrigParser::LBRACE:
        case TrigParser::LBRACK: open.push_back(t); break;
        case TrigParser::RPAREN:
        case TrigParser::RBRACE:
        case TrigParser::RBRACK:
          if (!open.empty()) {
            if (open.back() == unclosed) return;
            open.pop_back();
          }
          break;
        default: break;
      }
      if (t->getType() == Token::EOF) break;
    }
    if (unclosed == nullptr) return;
    Token* o = unclosed;
    std::string closer = o->getType() == TrigParser::LPAREN   ? "')'"
                         : o->getType() == TrigParser::LBRACE ? "'}'"
                                                              : "']'";
    if (std::find(expected.begin(), expected.end(), closer) == expected.end()) return;
    b.note(tokenLocOf(o), "this '" + o->getText() + "' is not closed");
  }

  void reportBadNumber(const std::string& text, Loc loc) {
    size_t digits = 0;
    while (digits < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
      ++digits;
    std::string unit = text.substr(digits);
    auto b = diags_.report(DiagKind::BadDuration, loc, "'{}' is not a duration: unknown unit '{}'",
                           text, unit);
    durationHelp(b, text.substr(0, digits), unit);
  }

  // "did you mean '15m'?" when `word` names a unit (`minutes`), else how durations are written.
  static void durationHelp(DiagEngine::Builder& b, std::string_view count, std::string_view word) {
    if (char c = durationUnitForWord(word); c != '\0') {
      b.help(fmt::format("did you mean '{}{}'?", count, c));
      return;
    }
    b.help("durations are whole numbers with a unit s, m, h, d or w, such as 15m, 1h30m or 30d");
  }

  const SourceFile& src_;
  FileId id_;
  DiagEngine& diags_;
  bool reported_ = false;
};

// ---- Parse tree -> AST --------------------------------------------------------------------------

class Builder {
 public:
  Builder(const SourceFile& src, FileId id, ast::AstArena& arena, DiagEngine& diags)
      : src_(src), id_(id), arena_(arena), diags_(diags) {}

  void build(TrigParser::FileContext* file, ast::File& out) {
    for (auto* d : file->decl()) decl(d, out);
  }

 private:
  Loc loc(Token* t) const {
    if (t == nullptr) return Loc{id_, 0, 0};
    if (t->getType() == Token::EOF)
      return Loc{id_, static_cast<uint32_t>(t->getStartIndex()),
                 static_cast<uint32_t>(t->getStartIndex())};
    return Loc{id_, static_cast<uint32_t>(t->getStartIndex()),
               static_cast<uint32_t>(t->getStopIndex() + 1)};
  }
  Loc loc(antlr4::tree::TerminalNode* n) const { return loc(n ? n->getSymbol() : nullptr); }
  Loc loc(antlr4::ParserRuleContext* c) const {
    Loc b = loc(c->getStart());
    Token* stop = c->getStop();
    if (stop != nullptr && stop->getType() != Token::EOF &&
        stop->getStopIndex() + 1 >= c->getStart()->getStartIndex())
      b.end = static_cast<uint32_t>(stop->getStopIndex() + 1);
    return b;
  }
  Loc span(Loc a, Loc b) const { return Loc{id_, a.begin, std::max(a.end, b.end)}; }
  std::string text(Loc l) const {
    return std::string(src_.text().substr(l.begin, l.end - l.begin));
  }
  std::string text(antlr4::tree::TerminalNode* n) const { return n ? text(loc(n)) : std::string(); }

  ast::Ident ident(TrigParser::IdentContext* c) const {
    if (c == nullptr) return {};
    Loc l = loc(c);
    return {text(l), l};
  }

  ast::StringLit stringLit(antlr4::tree::TerminalNode* n) { return stringLit(loc(n)); }
  ast::StringLit stringLit(Token* t) { return stringLit(loc(t)); }
  ast::StringLit stringLit(Loc l) {
    ast::StringLit s;
    s.loc = l;
    if (l.end >= l.begin + 2)
      s.value = decodeString(src_.text().substr(l.begin + 1, l.end - l.begin - 2), id_, l.begin + 1,
                             diags_);
    return s;
  }

  ast::TemplateText templateText(antlr4::tree::TerminalNode* n) {
    Loc l = loc(n);
    if (l.end < l.begin + 2) return {};
    return parseTemplate(src_.text().substr(l.begin + 1, l.end - l.begin - 2), id_, l.begin + 1,
                         true, diags_);
  }

  ast::Duration duration(antlr4::tree::TerminalNode* n) {
    ast::Duration d;
    d.loc = loc(n);
    std::string written = text(n);
    if (std::string error = durationLimitError(written); !error.empty()) {
      diags_.add(DiagKind::BadDuration, d.loc, error)
          .help("the longest duration is 36525d (100 years)");
      d.ms = 0;
    } else {
      d.ms = parseDuration(written).value_or(0);
    }
    return d;
  }

  int64_t integer(antlr4::tree::TerminalNode* n) {
    std::string t = text(n);
    int64_t v = 0;
    for (char c : t) {
      if (v > (INT64_MAX - 9) / 10) {
        diags_.report(DiagKind::BadNumber, loc(n), "number '{}' is too large", t);
        return 0;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  void decl(TrigParser::DeclContext* d, ast::File& out) {
    if (auto* im = d->importDecl()) {
      out.imports.push_back({stringLit(im->STRING()), loc(im)});
    } else if (auto* ev = d->eventDecl()) {
      auto* e = arena_.make<ast::EventDecl>();
      e->name = ident(ev->ident());
      e->passive = ev->PASSIVE() != nullptr;
      for (auto* s : ev->STRING()) e->aliases.push_back(stringLit(s));
      fields(ev->fieldList(), e->fields);
      e->loc = loc(ev);
      out.events.push_back(e);
    } else if (auto* cu = d->customerDecl()) {
      auto* decl = arena_.make<ast::CustomerDecl>();
      fields(cu->fieldList(), decl->fields);
      decl->loc = loc(cu);
      out.customers.push_back(decl);
    } else if (auto* tp = d->templateDecl()) {
      out.templates.push_back(templateDecl(tp));
    } else if (auto* st = d->settingsDecl()) {
      out.settings.push_back(settingsDecl(st));
    } else if (auto* tr = d->triggerDecl()) {
      ast::Rule* r = rule(tr->ruleDecl());
      r->name = ident(tr->ident());
      r->anonymous = false;
      if (tr->STRING()) r->title = stringLit(tr->STRING());
      r->loc = loc(tr);
      out.rules.push_back(r);
    } else if (auto* ru = d->ruleDecl()) {
      ast::Rule* r = rule(ru);
      r->anonymous = true;
      out.rules.push_back(r);
    } else if (auto* te = d->testDecl()) {
      out.tests.push_back(testDecl(te));
    }
  }

  void fields(TrigParser::FieldListContext* c, std::vector<ast::FieldDecl>& out) {
    if (c == nullptr) return;
    for (auto* f : c->field()) {
      ast::FieldDecl fd;
      fd.name = ident(f->ident());
      fd.optional = f->optional != nullptr;
      fd.type = typeRef(f->typeRef());
      if (f->expr()) fd.defaultValue = expr(f->expr());
      for (auto* s : f->STRING()) fd.aliases.push_back(stringLit(s));
      fd.loc = loc(f);
      out.push_back(std::move(fd));
    }
  }

  ast::TypeRef typeRef(TrigParser::TypeRefContext* c) {
    ast::TypeRef t;
    if (c == nullptr) return t;
    t.loc = loc(c);
    if (c->typeRef()) {
      ast::TypeRef inner = typeRef(c->typeRef());
      t.name = inner.name;
      t.isList = true;
      if (inner.isList)
        diags_.report(DiagKind::UnknownType, t.loc, "lists of lists are not supported");
    } else {
      t.name = ident(c->ident()).text;
    }
    return t;
  }

  ast::TemplateDecl* templateDecl(TrigParser::TemplateDeclContext* c) {
    auto* t = arena_.make<ast::TemplateDecl>();
    t->name = ident(c->ident());
    t->loc = loc(c);
    for (auto* part : c->templatePart()) {
      Loc pl = loc(part);
      auto duplicate = [&](const char* what) {
        diags_.report(DiagKind::BadTemplateDecl, pl, "template '{}' has more than one {}",
                      t->name.text, what);
      };
      if (auto* s = dynamic_cast<TrigParser::SubjectPartContext*>(part)) {
        if (t->subject) duplicate("subject");
        t->subject = templateText(s->STRING());
      } else if (auto* b = dynamic_cast<TrigParser::BodyPartContext*>(part)) {
        if (t->body || t->bodyFile) duplicate("body");
        t->body = templateText(b->STRING());
      } else if (auto* f = dynamic_cast<TrigParser::BodyFilePartContext*>(part)) {
        if (t->body || t->bodyFile) duplicate("body");
        t->bodyFile = stringLit(f->STRING());
      }
    }
    return t;
  }

  ast::SettingsDecl* settingsDecl(TrigParser::SettingsDeclContext* c) {
    auto* s = arena_.make<ast::SettingsDecl>();
    s->loc = loc(c);
    for (auto* st : c->setting()) {
      ast::SettingDecl sd;
      sd.name = ident(st->ident());
      sd.loc = loc(st);
      for (auto* a : st->settingArg()) {
        ast::SettingArg arg;
        arg.loc = loc(a);
        arg.text = text(arg.loc);
        if (a->ident() != nullptr) {
          // `per day`: `per`, then the word as a bad argument.
          arg.loc = loc(a->PER());
          arg.text = text(arg.loc);
          arg.kind = ast::SettingArgKind::Per;
          sd.args.push_back(std::move(arg));
          ast::Ident word = ident(a->ident());
          sd.args.push_back(ast::SettingArg{ast::SettingArgKind::Bad, word.text, word.loc});
          continue;
        }
        switch (a->getStart()->getType()) {
          case TrigParser::INT: arg.kind = ast::SettingArgKind::Int; break;
          case TrigParser::DECIMAL: arg.kind = ast::SettingArgKind::Decimal; break;
          case TrigParser::DURATION:
            // `22h-8h` is one bad argument.
            arg.kind =
                a->MINUS() != nullptr ? ast::SettingArgKind::Bad : ast::SettingArgKind::Duration;
            break;
          case TrigParser::TIME_RANGE: arg.kind = ast::SettingArgKind::TimeRange; break;
          case TrigParser::TIME_OF_DAY: arg.kind = ast::SettingArgKind::TimeOfDay; break;
          case TrigParser::PER: arg.kind = ast::SettingArgKind::Per; break;
          case TrigParser::ACTIVITY:
          case TrigParser::IGNORE: arg.kind = ast::SettingArgKind::Word; break;
          case TrigParser::STRING:
            arg.kind = ast::SettingArgKind::String;
            arg.text = stringLit(a->STRING()).value;
            break;
          default: arg.kind = ast::SettingArgKind::Bad; break;
        }
        sd.args.push_back(std::move(arg));
      }
      s->settings.push_back(std::move(sd));
    }
    return s;
  }

  ast::EventRef* eventRef(TrigParser::EventRefContext* c) {
    auto* r = arena_.make<ast::EventRef>();
    r->name = ident(c->ident());
    r->loc = loc(c);
    filter(c->filter(), r);
    return r;
  }

  void filter(TrigParser::FilterContext* f, ast::EventRef* r) {
    if (f == nullptr) return;
    if (auto* s = dynamic_cast<TrigParser::SameFilterContext*>(f)) {
      for (auto* id : s->ident()) r->same.push_back(ident(id));
    } else if (auto* e = dynamic_cast<TrigParser::ExprFilterContext*>(f)) {
      r->filter = expr(e->expr());
    }
  }

  ast::Rule* rule(TrigParser::RuleDeclContext* c) {
    auto* r = arena_.make<ast::Rule>();
    r->loc = loc(c);
    if (auto* a = dynamic_cast<TrigParser::SingleAnchorContext*>(c->anchor())) {
      r->anchor.events.push_back(eventRef(a->eventRef()));
      if (a->ident()) r->anchor.alias = ident(a->ident());
      r->anchor.loc = loc(a);
    } else if (auto* any = dynamic_cast<TrigParser::AnyAnchorContext*>(c->anchor())) {
      for (auto* e : any->eventRef()) r->anchor.events.push_back(eventRef(e));
      r->anchor.loc = loc(any);
    }
    for (auto* t : c->terms) r->terms.push_back(notExpr(t));
    for (auto* u : c->unlessExpr) r->unless.push_back(expr(u));
    for (auto* o : c->ruleOption()) {
      Loc ol = loc(o);
      if (auto* p = dynamic_cast<TrigParser::PriorityOptionContext*>(o)) {
        if (r->priority || r->priorityExpr)
          diags_.report(DiagKind::SyntaxError, ol, "a rule has at most one 'priority'");
        ast::Expr* e = expr(p->expr());
        if (e->kind == ast::ExprKind::IntLit) {
          r->priority = e->intValue;
          r->priorityExpr = nullptr;
        } else {
          r->priority.reset();
          r->priorityExpr = e;
        }
        r->priorityLoc = ol;
      } else if (auto* l = dynamic_cast<TrigParser::LimitOptionContext*>(o)) {
        if (r->limit) diags_.report(DiagKind::SyntaxError, ol, "a rule has at most one 'limit'");
        r->limit = ast::Rule::Limit{integer(l->INT()), duration(l->DURATION()), ol};
      } else if (auto* g = dynamic_cast<TrigParser::GoalOptionContext*>(o)) {
        if (r->goal) diags_.report(DiagKind::SyntaxError, ol, "a rule has at most one 'goal'");
        r->goal = ast::Rule::Goal{eventRef(g->eventRef()), duration(g->DURATION()), ol};
      }
    }
    r->steps = steps(c->steps());
    // An anonymous rule is named after its first template in source order.
    r->name = firstTemplate(r->steps);
    return r;
  }

  static ast::Ident firstTemplate(const std::vector<ast::Step>& steps) {
    for (const auto& s : steps) {
      if (s.action == ast::ActionKind::Send && !s.templateName.text.empty()) return s.templateName;
      for (const auto& v : s.variants) {
        ast::Ident n = firstTemplate(v.steps);
        if (!n.text.empty()) return n;
      }
    }
    return {};
  }

  std::vector<ast::Step> steps(TrigParser::StepsContext* c) {
    std::vector<ast::Step> out;
    if (c == nullptr) return out;
    for (auto* s : c->step()) {
      ast::Step st;
      st.id = arena_.newStepId();
      st.loc = loc(s);
      if (s->AFTER()) st.after = duration(s->DURATION());
      for (auto* u : s->expr()) st.unless.push_back(expr(u));
      if (auto* a = dynamic_cast<TrigParser::SendActionContext*>(s->action())) {
        st.action = ast::ActionKind::Send;
        st.templateName = ident(a->ident());
        for (auto* b : a->binding()) st.bindings.push_back({ident(b->ident()), expr(b->expr())});
      } else if (auto* sp = dynamic_cast<TrigParser::SplitActionContext*>(s->action())) {
        st.action = ast::ActionKind::Split;
        st.splitName = ident(sp->ident());
        for (auto* v : sp->variant()) {
          ast::Variant var;
          var.percentLoc = loc(v->PERCENT());
          std::string p = text(v->PERCENT());
          if (!p.empty()) p.pop_back();
          var.percent = Decimal::parse(p).value_or(Decimal{});
          var.name = ident(v->ident());
          var.holdout = v->HOLDOUT() != nullptr;
          var.steps = steps(v->steps());
          var.loc = loc(v);
          st.variants.push_back(std::move(var));
        }
      }
      out.push_back(std::move(st));
    }
    return out;
  }

  // ---- expressions ----

  ast::Expr* binary(ast::Op op, ast::Expr* l, ast::Expr* r) {
    ast::Expr* e = arena_.newExpr(ast::ExprKind::Binary, span(l->loc, r->loc));
    e->op = op;
    e->lhs = l;
    e->rhs = r;
    return e;
  }

  ast::Expr* errorExpr(antlr4::ParserRuleContext* c) {
    return arena_.newExpr(ast::ExprKind::Error, c ? loc(c) : Loc{id_, 0, 0});
  }

  // Each generated accessor such as c->andExpr() scans the children with dynamic_cast (across
  // a shared library, so with string compares): on large files that was most of the builder's
  // time. The lists are fetched once, and the common case of an expression level with a single
  // child (a plain `price` goes through seven levels) takes that child directly: the tree of a
  // declaration that parsed without error has the grammar's shape.
  template <typename T>
  static T* soleChild(antlr4::ParserRuleContext* c) {
    if (c->children.size() != 1) return nullptr;
    assert(dynamic_cast<T*>(c->children[0]) != nullptr);
    return static_cast<T*>(c->children[0]);
  }

  ast::Expr* expr(TrigParser::ExprContext* c) {
    if (c == nullptr) return errorExpr(c);
    if (auto* only = soleChild<TrigParser::AndExprContext>(c)) return andExpr(only);
    auto parts = c->andExpr();
    if (parts.empty()) return errorExpr(c);
    ast::Expr* e = andExpr(parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) e = binary(ast::Op::Or, e, andExpr(parts[i]));
    return e;
  }

  ast::Expr* andExpr(TrigParser::AndExprContext* c) {
    if (c == nullptr) return errorExpr(c);
    if (auto* only = soleChild<TrigParser::NotExprContext>(c)) return notExpr(only);
    auto parts = c->notExpr();
    if (parts.empty()) return errorExpr(c);
    ast::Expr* e = notExpr(parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) e = binary(ast::Op::And, e, notExpr(parts[i]));
    return e;
  }

  ast::Expr* notExpr(TrigParser::NotExprContext* c) {
    if (c == nullptr) return errorExpr(c);
    if (auto* only = soleChild<TrigParser::CmpExprContext>(c)) return cmpExpr(only);
    if (c->NOT()) {
      ast::Expr* e = arena_.newExpr(ast::ExprKind::Unary, loc(c));
      e->op = ast::Op::Not;
      e->lhs = notExpr(c->notExpr());
      return e;
    }
    return cmpExpr(c->cmpExpr());
  }

  ast::Expr* cmpExpr(TrigParser::CmpExprContext* c) {
    if (c == nullptr) return errorExpr(c);
    if (auto* only = soleChild<TrigParser::AddExprContext>(c)) return addExpr(only);
    auto parts = c->addExpr();
    if (parts.empty()) return errorExpr(c);
    ast::Expr* l = addExpr(parts[0]);
    if (parts.size() < 2) return l;
    auto* cmp = c->cmpOp();
    if (cmp == nullptr) return l;
    ast::Op op = ast::Op::Eq;
    switch (cmp->getStart()->getType()) {
      case TrigParser::EQ: op = ast::Op::Eq; break;
      case TrigParser::NE: op = ast::Op::Ne; break;
      case TrigParser::LT: op = ast::Op::Lt; break;
      case TrigParser::LE: op = ast::Op::Le; break;
      case TrigParser::GT: op = ast::Op::Gt; break;
      case TrigParser::GE: op = ast::Op::Ge; break;
      case TrigParser::IN: op = ast::Op::In; break;
      case TrigParser::CONTAINS: op = ast::Op::Contains; break;
      case TrigParser::STARTS_WITH: op = ast::Op::StartsWith; break;
      default: break;
    }
    ast::Expr* e = binary(op, l, addExpr(parts[1]));
    e->loc = loc(c);
    return e;
  }

  ast::Expr* addExpr(TrigParser::AddExprContext* c) {
    if (c == nullptr) return errorExpr(c);
    if (auto* only = soleChild<TrigParser::MulExprContext>(c)) return mulExpr(only);
    auto parts = c->mulExpr();
    if (parts.empty()) return errorExpr(c);
    ast::Expr* e = mulExpr(parts[0]);
    for (size_t i = 1; i < parts.size() && i - 1 < c->op.size(); ++i)
      e = binary(c->op[i - 1]->getType() == TrigParser::PLUS ? ast::Op::Add : ast::Op::Sub, e,
                 mulExpr(parts[i]));
    return e;
  }

  ast::Expr* mulExpr(TrigParser::MulExprContext* c) {
    if (c == nullptr) return errorExpr(c);
    if (auto* only = soleChild<TrigParser::UnaryExprContext>(c)) return unaryExpr(only);
    auto parts = c->unaryExpr();
    if (parts.empty()) return errorExpr(c);
    ast::Expr* e = unaryExpr(parts[0]);
    for (size_t i = 1; i < parts.size() && i - 1 < c->op.size(); ++i)
      e = binary(c->op[i - 1]->getType() == TrigParser::STAR ? ast::Op::Mul : ast::Op::Div, e,
                 unaryExpr(parts[i]));
    return e;
  }

  ast::Expr* unaryExpr(TrigParser::UnaryExprContext* c) {
    if (c == nullptr) return errorExpr(c);
    if (auto* only = soleChild<TrigParser::PrimaryContext>(c)) return primary(only);
    if (c->MINUS()) {
      ast::Expr* inner = unaryExpr(c->unaryExpr());
      // Fold `-3` and `-49.99` into literals, so negative numbers are plain values.
      if (inner->kind == ast::ExprKind::IntLit || inner->kind == ast::ExprKind::DecimalLit) {
        inner->intValue = -inner->intValue;
        inner->decimalValue.units = -inner->decimalValue.units;
        inner->text = "-" + inner->text;
        inner->loc = loc(c);
        return inner;
      }
      ast::Expr* e = arena_.newExpr(ast::ExprKind::Unary, loc(c));
      e->op = ast::Op::Neg;
      e->lhs = inner;
      return e;
    }
    return primary(c->primary());
  }

  std::optional<ast::Duration> window(antlr4::tree::TerminalNode* within,
                                      antlr4::tree::TerminalNode* d) {
    if (within == nullptr || d == nullptr) return std::nullopt;
    return duration(d);
  }

  ast::Expr* primary(TrigParser::PrimaryContext* c) {
    if (c == nullptr) return errorExpr(c);
    Loc l = loc(c);
    // The most frequent alternatives first: each test is a dynamic_cast.
    if (auto* p = dynamic_cast<TrigParser::LiteralExprContext*>(c)) return literal(p->literal());
    if (auto* p = dynamic_cast<TrigParser::NameExprContext*>(c)) {
      ast::Expr* e = arena_.newExpr(ast::ExprKind::Name, l);
      for (auto* id : p->ident()) e->path.push_back(ident(id));
      return e;
    }
    if (auto* p = dynamic_cast<TrigParser::WithinExprContext*>(c)) {
      ast::Expr* e = arena_.newExpr(ast::ExprKind::EventTerm, l);
      auto* r = arena_.make<ast::EventRef>();
      r->name = ident(p->ident());
      r->loc = r->name.loc;
      e->event = r;
      e->window = window(p->WITHIN(), p->DURATION());
      return e;
    }
    if (auto* p = dynamic_cast<TrigParser::CallExprContext*>(c)) {
      ast::Ident name = ident(p->ident());
      // `exists(x)` is a function; any other `name(...)` is an event reference with a filter.
      if (name.text == "exists" && p->WITHIN() == nullptr) {
        ast::Expr* e = arena_.newExpr(ast::ExprKind::Call, l);
        e->callee = name;
        if (auto* f = dynamic_cast<TrigParser::ExprFilterContext*>(p->filter()))
          e->items.push_back(expr(f->expr()));
        return e;
      }
      ast::Expr* e = arena_.newExpr(ast::ExprKind::EventTerm, l);
      auto* r = arena_.make<ast::EventRef>();
      r->name = name;
      r->loc = span(name.loc, loc(p->RPAREN()));
      filter(p->filter(), r);
      e->event = r;
      e->window = window(p->WITHIN(), p->DURATION());
      return e;
    }
    if (auto* p = dynamic_cast<TrigParser::TraitExprContext*>(c)) {
      ast::Expr* e = arena_.newExpr(ast::ExprKind::Trait, l);
      e->field = ident(p->ident());
      return e;
    }
    if (auto* p = dynamic_cast<TrigParser::ParenExprContext*>(c)) return expr(p->expr());
    if (auto* p = dynamic_cast<TrigParser::CountExprContext*>(c)) {
      ast::Expr* e = arena_.newExpr(ast::ExprKind::Aggregate, l);
      e->agg = ast::AggFn::Count;
      e->event = eventRef(p->eventRef());
      e->window = window(p->WITHIN(), p->DURATION());
      return e;
    }
    if (auto* p = dynamic_cast<TrigParser::AggExprContext*>(c)) {
      ast::Expr* e = arena_.newExpr(ast::ExprKind::Aggregate, l);
      // The grammar's aggFn tokens are spelled as core::aggName names them.
      std::optional<ast::AggFn> fn = core::aggNamed(p->aggFn()->getText());
      if (!fn) throw std::logic_error("aggregate without an ast::AggFn: " + p->aggFn()->getText());
      e->agg = *fn;
      e->event = eventRef(p->eventRef());
      e->field = ident(p->ident());
      e->window = window(p->WITHIN(), p->DURATION());
      return e;
    }
    if (auto* p = dynamic_cast<TrigParser::LastExprContext*>(c)) {
      ast::Expr* e = arena_.newExpr(ast::ExprKind::Last, l);
      e->event = eventRef(p->eventRef());
      e->field = ident(p->ident());
      return e;
    }
    if (auto* p = dynamic_cast<TrigParser::IdleExprContext*>(c)) {
      ast::Expr* e = arena_.newExpr(ast::ExprKind::Idle, l);
      e->window = duration(p->DURATION());
      return e;
    }
    if (auto* p = dynamic_cast<TrigParser::ListExprContext*>(c)) {
      ast::Expr* e = arena_.newExpr(ast::ExprKind::List, l);
      for (auto* x : p->expr()) e->items.push_back(expr(x));
      return e;
    }
    return errorExpr(c);
  }

  ast::Expr* literal(TrigParser::LiteralContext* c) {
    Loc l = loc(c);
    std::string t = text(l);
    switch (c->getStart()->getType()) {
      case TrigParser::INT: {
        ast::Expr* e = arena_.newExpr(ast::ExprKind::IntLit, l);
        e->intValue = integer(c->INT());
        e->decimalValue = Decimal::fromInt(e->intValue).value_or(Decimal{});
        e->text = t;
        return e;
      }
      case TrigParser::DECIMAL: {
        ast::Expr* e = arena_.newExpr(ast::ExprKind::DecimalLit, l);
        auto d = Decimal::parse(t);
        if (!d)
          diags_.report(DiagKind::BadNumber, l, "'{}' has more than six decimals or is too large",
                        t);
        e->decimalValue = d.value_or(Decimal{});
        e->text = t;
        return e;
      }
      case TrigParser::STRING: {
        ast::Expr* e = arena_.newExpr(ast::ExprKind::StringLit, l);
        e->text = stringLit(c->STRING()).value;
        return e;
      }
      case TrigParser::TRUE:
      case TrigParser::FALSE: {
        ast::Expr* e = arena_.newExpr(ast::ExprKind::BoolLit, l);
        e->boolValue = c->TRUE() != nullptr;
        return e;
      }
      case TrigParser::DURATION: {
        ast::Expr* e = arena_.newExpr(ast::ExprKind::DurationLit, l);
        e->intValue = duration(c->DURATION()).ms;
        e->text = t;
        return e;
      }
      case TrigParser::PERCENT: {
        ast::Expr* e = arena_.newExpr(ast::ExprKind::PercentLit, l);
        e->decimalValue = Decimal::parse(t.substr(0, t.size() - 1)).value_or(Decimal{});
        e->text = t;
        return e;
      }
      case TrigParser::TIMESTAMP: {
        ast::Expr* e = arena_.newExpr(ast::ExprKind::TimeLit, l);
        auto ts = parseTimestamp(t);
        if (!ts) diags_.report(DiagKind::BadTimestamp, l, "'{}' is not a valid timestamp", t);
        e->intValue = ts.value_or(0);
        e->text = t;
        return e;
      }
      default: {
        // BAD_NUMBER in value position: `10q`.
        diags_.report(DiagKind::BadNumber, l, "'{}' is not a number, duration or percentage", t)
            .help("durations use the units s, m, h, d, w (15m); percentages end in %");
        return arena_.newExpr(ast::ExprKind::Error, l);
      }
    }
  }

  // ---- tests ----

  std::optional<TimeMs> timestamp(antlr4::tree::TerminalNode* n) {
    auto ts = parseTimestamp(text(n));
    if (!ts)
      diags_.report(DiagKind::BadTimestamp, loc(n), "'{}' is not a valid timestamp", text(n));
    return ts;
  }

  void props(TrigParser::PropsContext* c, std::vector<ast::Prop>& out) {
    if (c == nullptr) return;
    for (auto* p : c->prop()) out.push_back({ident(p->ident()), expr(p->expr())});
  }

  // `T [to "ID"] [from R]` of an expectation.
  void expectationTarget(ast::TestStmt& st, TrigParser::IdentContext* tmpl, Token* to,
                         TrigParser::IdentContext* rule) {
    st.templateName = ident(tmpl);
    if (rule != nullptr) st.fromRule = ident(rule);
    if (to != nullptr) {
      st.customer = stringLit(to);
      st.hasCustomer = true;
    }
  }

  ast::TestDecl* testDecl(TrigParser::TestDeclContext* c) {
    auto* t = arena_.make<ast::TestDecl>();
    t->name = stringLit(c->STRING());
    t->loc = loc(c);
    for (auto* s : c->testStmt()) {
      ast::TestStmt st;
      st.loc = loc(s);
      if (auto* p = dynamic_cast<TrigParser::TestCustomerContext*>(s)) {
        st.kind = ast::TestStmtKind::Customer;
        st.customer = stringLit(p->STRING());
        st.hasCustomer = true;
        props(p->props(), st.props);
      } else if (auto* ev = dynamic_cast<TrigParser::TestEventContext*>(s)) {
        st.kind = ast::TestStmtKind::Event;
        // A timestamp that does not parse was reported; it still counts as absolute, so the
        // checker does not add "the first event needs an absolute time" to that error.
        if (ev->TIMESTAMP()) st.atAbsolute = timestamp(ev->TIMESTAMP()).value_or(0);
        if (ev->DURATION()) st.atRelative = duration(ev->DURATION());
        if (!st.atAbsolute && !st.atRelative) st.atRelative = ast::Duration{0, loc(ev->AT())};
        st.event = ident(ev->ident());
        st.customer = stringLit(ev->STRING());
        st.hasCustomer = true;
        props(ev->props(), st.props);
      } else if (auto* ex = dynamic_cast<TrigParser::TestExpectSendContext*>(s)) {
        st.kind = ast::TestStmtKind::ExpectSend;
        expectationTarget(st, ex->tmpl, ex->to, ex->ruleName);
        if (ex->TIMESTAMP()) {
          st.expectAt = timestamp(ex->TIMESTAMP());
          st.atLoc = loc(ex->AT());
        }
        if (ex->variantName) st.variant = ident(ex->variantName);
        if (ex->subject) st.subject = stringLit(ex->subject);
        if (ex->INT()) st.count = integer(ex->INT());
      } else if (auto* nx = dynamic_cast<TrigParser::TestExpectNoSendContext*>(s)) {
        st.kind = ast::TestStmtKind::ExpectNoSend;
        expectationTarget(st, nx->tmpl, nx->to, nx->ruleName);
        if (nx->AT()) st.atLoc = loc(nx->AT());
      } else if (auto* sx = dynamic_cast<TrigParser::TestExpectSuppressedContext*>(s)) {
        st.kind = ast::TestStmtKind::ExpectSuppressed;
        expectationTarget(st, sx->tmpl, sx->to, sx->ruleName);
        st.reason = ident(sx->reason);
      } else if (auto* pin = dynamic_cast<TrigParser::TestPinContext*>(s)) {
        st.kind = ast::TestStmtKind::Pin;
        st.customer = stringLit(pin->STRING());
        st.hasCustomer = true;
        st.fromRule = ident(pin->ruleName);
        st.split = ident(pin->split);
        st.variant = ident(pin->variantName);
      } else {
        continue;
      }
      t->stmts.push_back(std::move(st));
    }
    return t;
  }

  const SourceFile& src_;
  FileId id_;
  ast::AstArena& arena_;
  DiagEngine& diags_;
};

// Splits the token stream into top-level declarations as it is lexed. A declaration starts at
// a declaration keyword at bracket depth 0 (`when` only when it does not follow
// `trigger NAME [title] :`, `customer` only when not `customer.x`). Keywords that only ever begin
// a declaration start one at any depth: the brackets before them were left open.
class DeclarationSplitter {
 public:
  // Whether `t` (after `prev`, before `next`) starts a new declaration; updates the depth.
  bool starts(size_t t, size_t prev, size_t next, bool first) {
    // Where a declaration's name belongs, a keyword is a badly chosen name (`event when { }`),
    // reported as one error, not the start of another declaration.
    bool namePosition =
        prev == TrigParser::EVENT || prev == TrigParser::TEMPLATE || prev == TrigParser::TRIGGER;
    bool topLevelOnly =
        !namePosition &&
        (t == TrigParser::IMPORT || t == TrigParser::EVENT || t == TrigParser::TEMPLATE ||
         t == TrigParser::SETTINGS || t == TrigParser::TRIGGER || t == TrigParser::TEST ||
         (t == TrigParser::CUSTOMER && next == TrigParser::LBRACE) ||
         (t == TrigParser::WHEN && prev != TrigParser::COLON));
    if (depth_ > 0 && topLevelOnly) depth_ = 0;
    bool start = first;
    if (depth_ == 0 && !namePosition) {
      switch (t) {
        case TrigParser::IMPORT:
        case TrigParser::EVENT:
        case TrigParser::TEMPLATE:
        case TrigParser::SETTINGS:
        case TrigParser::TRIGGER:
        case TrigParser::TEST: start = true; break;
        case TrigParser::CUSTOMER: start = start || next != TrigParser::DOT; break;
        case TrigParser::WHEN: start = start || prev != TrigParser::COLON; break;
        default: break;
      }
    }
    if (t == TrigParser::LPAREN || t == TrigParser::LBRACE || t == TrigParser::LBRACK) ++depth_;
    if ((t == TrigParser::RPAREN || t == TrigParser::RBRACE || t == TrigParser::RBRACK) &&
        depth_ > 0)
      --depth_;
    return start;
  }

 private:
  int depth_ = 0;
};

Loc tokenLoc(FileId id, const Token& t) {
  return Loc{id, static_cast<uint32_t>(t.getStartIndex()),
             static_cast<uint32_t>(t.getStopIndex() + 1)};
}

// The deepest bracket/prefix-operator nesting must stay bounded: the parser recurses on it. So
// must the operators of a declaration: a chain `a or b or ...` is a tree as deep as it is long,
// and the checker, the interpreter and the lowering recurse on that tree.
bool checkNesting(const std::vector<std::unique_ptr<Token>>& toks, FileId id, DiagEngine& diags) {
  int depth = 0;
  int prefixRun = 0;
  int operators = 0;
  for (const auto& tok : toks) {
    size_t t = tok->getType();
    switch (t) {
      case TrigParser::AND:
      case TrigParser::OR:
      case TrigParser::EQ:
      case TrigParser::NE:
      case TrigParser::LE:
      case TrigParser::GE:
      case TrigParser::LT:
      case TrigParser::GT:
      case TrigParser::PLUS:
      case TrigParser::MINUS:
      case TrigParser::STAR:
      case TrigParser::SLASH:
      case TrigParser::IN:
      case TrigParser::CONTAINS:
      case TrigParser::STARTS_WITH:
        if (++operators > kMaxOperators) {
          diags
              .report(DiagKind::NestingTooDeep, tokenLoc(id, *tok),
                      "more than {} operators in one declaration", kMaxOperators)
              .help(
                  "split the condition into simpler parts, or use 'in [...]' for a list of values");
          return false;
        }
        break;
      default: break;
    }
    if (t == TrigParser::LPAREN || t == TrigParser::LBRACE || t == TrigParser::LBRACK) ++depth;
    if (t == TrigParser::RPAREN || t == TrigParser::RBRACE || t == TrigParser::RBRACK) --depth;
    prefixRun = (t == TrigParser::NOT || t == TrigParser::MINUS) ? prefixRun + 1 : 0;
    if (depth + prefixRun > kMaxNesting) {
      diags
          .report(DiagKind::NestingTooDeep,
                  Loc{id, static_cast<uint32_t>(tok->getStartIndex()),
                      static_cast<uint32_t>(tok->getStopIndex() + 1)},
                  "expression nested more than {} levels deep", kMaxNesting)
          .help("split the condition into simpler parts");
      return false;
    }
  }
  return true;
}

// Parses one declaration's tokens (which it consumes) and builds its AST into `file`.
class DeclarationParser {
 public:
  DeclarationParser(const SourceFile& src, FileId id, ast::AstArena& arena, DiagEngine& diags,
                    ast::File& file)
      : id_(id),
        diags_(diags),
        file_(file),
        listener_(src, id, diags),
        builder_(src, id, arena, diags) {}

  void parse(std::vector<std::unique_ptr<Token>> toks) {
    if (toks.empty()) return;
    // The name of a declaration dropped for a syntax error, so its uses are not "unknown".
    std::string keyword, name;
    size_t kw = toks[0]->getType();
    if ((kw == TrigParser::EVENT || kw == TrigParser::TEMPLATE || kw == TrigParser::TRIGGER) &&
        toks.size() > 1 && toks[1]->getType() == TrigParser::IDENT) {
      keyword = kw == TrigParser::EVENT      ? "event"
                : kw == TrigParser::TEMPLATE ? "template"
                                             : "trigger";
      name = toks[1]->getText();
    }
    auto dropped = [&] {
      if (!keyword.empty()) file_.unparsed.push_back({keyword, name});
    };
    if (!checkNesting(toks, id_, diags_)) {
      dropped();
      return;
    }
    // A string without its closing quote swallows what follows; whatever syntax error comes
    // next is a consequence, so the string is what gets reported.
    for (const auto& t : toks) {
      if (t->getType() != TrigParser::UNTERMINATED_STRING) continue;
      diags_
          .report(DiagKind::UnterminatedString, tokenLoc(id_, *t),
                  "missing closing quote of this string")
          .help("strings end on the line they start; write \\n for a line break");
      dropped();
      return;
    }
    Loc first = tokenLoc(id_, *toks.front());
    size_t end = toks.back()->getStopIndex() + 1;
    auto eof = std::make_unique<antlr4::CommonToken>(Token::EOF, "<EOF>");
    eof->setStartIndex(end);
    eof->setStopIndex(end - 1);
    toks.push_back(std::move(eof));

    antlr4::ListTokenSource source(std::move(toks));
    antlr4::CommonTokenStream stream(&source);
    TrigParser parser(&stream);
    parser.removeErrorListeners();
    listener_.reset();
    try {
      // Two stages, as ANTLR recommends for speed: first SLL prediction without error recovery,
      // which parses almost every declaration; only a declaration that fails it is parsed
      // again with full LL prediction and error reporting, which finds its error.
      auto* sim = parser.getInterpreter<antlr4::atn::ParserATNSimulator>();
      parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
      sim->setPredictionMode(antlr4::atn::PredictionMode::SLL);
      TrigParser::FileContext* tree = nullptr;
      try {
        tree = parser.file();
      } catch (const antlr4::ParseCancellationException&) {
        parser.reset();
        parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
        sim->setPredictionMode(antlr4::atn::PredictionMode::LL);
        parser.addErrorListener(&listener_);
        tree = parser.file();
      }
      // A declaration with a syntax error did not parse: it is not built, so later passes
      // check every declaration that parsed without a cascade from the broken one.
      if (!listener_.reported())
        builder_.build(tree, file_);
      else
        dropped();
    } catch (const std::exception&) {
      diags_.report(DiagKind::SyntaxError, first, "could not parse this declaration");
      dropped();
    }
  }

 private:
  FileId id_;
  DiagEngine& diags_;
  ast::File& file_;
  ErrorListener listener_;
  Builder builder_;
};

// A `# trig: allow KIND[, KIND]` comment (or `// trig: allow ...`), added to `file`.
void lintAllow(std::string_view text, const LexedToken& t, FileId id, ast::File& file) {
  std::string_view c = text.substr(t.start, t.stop + 1 - t.start);
  c.remove_prefix(c[0] == '#' ? 1 : 2);
  auto skipSpace = [&] {
    while (!c.empty() && (c.front() == ' ' || c.front() == '\t' || c.front() == ','))
      c.remove_prefix(1);
  };
  skipSpace();
  if (c.substr(0, 5) != "trig:") return;
  c.remove_prefix(5);
  skipSpace();
  if (c.substr(0, 5) != "allow" || (c.size() > 5 && c[5] != ' ' && c[5] != '\t')) return;
  c.remove_prefix(5);
  ast::File::LintAllow allow;
  allow.line = static_cast<uint32_t>(t.line);
  size_t lineStart = text.rfind('\n', t.start == 0 ? 0 : t.start - 1);
  lineStart = lineStart == std::string_view::npos || t.start == 0 ? 0 : lineStart + 1;
  allow.ownLine = text.substr(lineStart, t.start - lineStart).find_first_not_of(" \t\r") ==
                  std::string_view::npos;
  for (skipSpace(); !c.empty(); skipSpace()) {
    size_t n = 0;
    while (n < c.size() && c[n] != ' ' && c[n] != '\t' && c[n] != ',') ++n;
    auto begin = static_cast<uint32_t>(c.data() - text.data());
    allow.kinds.push_back(
        {std::string(c.substr(0, n)), Loc{id, begin, begin + static_cast<uint32_t>(n)}});
    c.remove_prefix(n);
  }
  file.lintAllows.push_back(std::move(allow));
}

}  // namespace

ast::File parseFile(const SourceFile& src, FileId id, ast::AstArena& arena, DiagEngine& diags) {
  ast::File file;
  file.id = id;
  checkUtf8(src, id, diags);

  // The parser reads token text through this stream (error messages, names).
  ByteInputStream input(src.text());
  TokenSourceAdapter tokens(src.text(), input, src.path());
  tokens.onComment = [&](const LexedToken& t) { lintAllow(src.text(), t, id, file); };
  DeclarationParser declarations(src, id, arena, diags, file);
  DeclarationSplitter splitter;
  // Declarations are parsed as they are lexed, so only one declaration's tokens are alive at a
  // time.
  auto next = [&] { return tokens.nextToken(); };
  try {
    std::vector<std::unique_ptr<Token>> chunk;
    std::unique_ptr<Token> cur = next();
    size_t prev = Token::INVALID_TYPE;
    bool first = true;
    while (cur->getType() != Token::EOF) {
      std::unique_ptr<Token> ahead = next();
      size_t type = cur->getType();
      if (splitter.starts(type, prev, ahead->getType(), first) && !chunk.empty())
        declarations.parse(std::exchange(chunk, {}));
      first = false;
      prev = type;
      chunk.push_back(std::move(cur));
      cur = std::move(ahead);
    }
    declarations.parse(std::move(chunk));
  } catch (...) {
    diags.report(DiagKind::SyntaxError, Loc{id, 0, 0},
                 "this file could not be read as trig source");
  }
  return file;
}

}  // namespace trig::parse
