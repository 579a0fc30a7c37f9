// The canonical layout of .trig files: see format.h and docs/language.md ("Formatting").
#include "compiler/format/format.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/parse/lexer.h"
#include "compiler/parse/parse.h"

namespace trig::format {
namespace {

// One source line: its code tokens (their text) and a comment at its end (or alone on it).
struct Line {
  std::vector<std::string_view> code;
  std::string_view comment;
  bool blank() const { return code.empty() && comment.empty(); }
};

bool isWordStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isWord(std::string_view t) {
  return !t.empty() && isWordStart(t[0]);
}

bool oneOf(std::string_view t, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), t) != set.end();
}

// Reserved words that are never a name (the rest of the keywords are contextual: usable as names).
bool reserved(std::string_view t) {
  return oneOf(t,
               {"when", "and",  "or",      "not",   "unless",   "within",      "idle",     "after",
                "then", "send", "with",    "split", "priority", "limit",       "per",      "goal",
                "same", "as",   "trigger", "event", "template", "settings",    "customer", "import",
                "test", "true", "false",   "in",    "contains", "starts_with", "count",    "sum",
                "min",  "max",  "avg",     "last"});
}

// Words that take their parenthesis as a call: `count(...)`, `last(...)`, `purchased(...)`.
bool callsWith(std::string_view t) {
  if (!isWord(t)) return false;
  if (oneOf(t, {"count", "sum", "min", "max", "avg", "last"})) return true;
  return !reserved(t);
}

// Whether a token ends an operand (so a `+`/`-` after it is binary).
bool endsOperand(std::string_view t) {
  if (t.empty()) return false;
  if (t == ")" || t == "]" || t[0] == '"' || isDigit(t[0])) return true;
  if (t == "true" || t == "false") return true;
  return isWord(t) && !reserved(t);
}

bool isOpener(std::string_view t) {
  return t == "{" || t == "(" || t == "[";
}
bool isCloser(std::string_view t) {
  return t == "}" || t == ")" || t == "]";
}

// Clauses of a rule, each starting a line of its own at the rule's indentation.
bool isClause(std::string_view t) {
  return oneOf(t,
               {"when", "unless", "priority", "limit", "goal", "send", "split", "then", "after"});
}

bool isPercent(std::string_view t) {
  return !t.empty() && isDigit(t[0]) && t.back() == '%';
}

// The spaces between two tokens of one line: "" or " ".
bool spaceBetween(const std::vector<std::string_view>& code, size_t i) {
  std::string_view p = code[i - 1], c = code[i];
  if (oneOf(c, {",", ")", "]", ".", "?", ":"})) return false;
  if (oneOf(p, {"(", "[", "."})) return false;
  if (c == "(" && callsWith(p)) return false;
  if (c == "[" && oneOf(p, {"(", "["})) return false;
  if (p == "-" || p == "+") {
    // Unary unless it follows an operand; `at +5m` in a test is an offset (`x.at + 1` is not).
    if (i < 2) return false;
    std::string_view pp = code[i - 2];
    if (pp == "at" && (i == 2 || code[i - 3] != ".")) return false;
    return endsOperand(pp);
  }
  return true;
}

std::vector<Line> splitLines(std::string_view text, const std::vector<parse::LexedToken>& toks) {
  std::vector<Line> lines(1);
  for (const auto& t : toks) {
    std::string_view s = text.substr(t.start, t.stop + 1 - t.start);
    if (t.hidden && (s[0] == '#' || s[0] == '/')) {
      while (!s.empty() &&
             (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\f'))
        s.remove_suffix(1);
      lines.back().comment = s;
    } else if (t.hidden) {
      for (char ch : s)
        if (ch == '\n') lines.emplace_back();
    } else {
      lines.back().code.push_back(s);
    }
  }
  // At most one blank line in a row, none at the start or the end.
  std::vector<Line> out;
  for (auto& l : lines) {
    if (l.blank() && (out.empty() || out.back().blank())) continue;
    out.push_back(std::move(l));
  }
  while (!out.empty() && out.back().blank()) out.pop_back();
  return out;
}

}  // namespace

std::optional<std::string> layout(std::string_view text) {
  auto toks = parse::lexAll(text);
  std::vector<Line> lines = splitLines(text, toks);

  // Indentation of each code line, from the structure at its start.
  constexpr int kNone = -1;
  std::vector<int> indent(lines.size(), kNone);
  std::vector<std::string_view> stack;  // open brackets
  bool inRule = false;                  // inside a trigger or rule declaration
  bool triggerWantsWhen = false;        // after `trigger`, before its `when`
  for (size_t li = 0; li < lines.size(); ++li) {
    const auto& code = lines[li].code;
    if (code.empty()) continue;
    auto startsDecl = [&](size_t i) {
      std::string_view t = code[i];
      if (!stack.empty()) return false;
      if (oneOf(t, {"import", "event", "template", "settings", "trigger", "test"})) return true;
      if (t == "customer") {
        // `customer { ... }` declares traits; `customer.x` is an expression.
        if (i + 1 < code.size()) return code[i + 1] == "{";
        for (size_t lj = li + 1; lj < lines.size(); ++lj)
          if (!lines[lj].code.empty()) return lines[lj].code[0] == "{";
        return false;
      }
      return t == "when" && !triggerWantsWhen && !inRule;
    };
    int depth = static_cast<int>(stack.size());
    std::string_view f = code[0];
    int ind;
    if (startsDecl(0)) {
      ind = 0;
    } else if (inRule) {
      if (isCloser(f))
        ind = 2 + 2 * (depth - 1);
      else if (isClause(f) || (isPercent(f) && !stack.empty() && stack.back() == "{"))
        ind = 2 + 2 * depth;
      else
        ind = 4 + 2 * depth;
    } else {
      ind = 2 * std::max(0, isCloser(f) ? depth - 1 : depth);
    }
    indent[li] = std::max(0, ind);
    for (size_t i = 0; i < code.size(); ++i) {
      std::string_view t = code[i];
      if (startsDecl(i)) {
        inRule = t == "trigger" || t == "when";
        triggerWantsWhen = t == "trigger";
      } else if (t == "when" && stack.empty() && triggerWantsWhen) {
        triggerWantsWhen = false;
      }
      if (isOpener(t)) stack.push_back(t);
      if (isCloser(t) && !stack.empty()) stack.pop_back();
    }
  }
  // A comment alone on its line is indented as the code line after it (inside the block when
  // that line closes one).
  int next = 0;
  for (size_t li = lines.size(); li-- > 0;) {
    if (!lines[li].code.empty()) {
      next = indent[li] + (isCloser(lines[li].code[0]) ? 2 : 0);
    } else if (!lines[li].comment.empty()) {
      indent[li] = next;
    }
  }

  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t li = 0; li < lines.size(); ++li) {
    const Line& l = lines[li];
    if (l.blank()) {
      out += '\n';
      continue;
    }
    out.append(static_cast<size_t>(indent[li]), ' ');
    for (size_t i = 0; i < l.code.size(); ++i) {
      if (i > 0 && spaceBetween(l.code, i)) out += ' ';
      out += l.code[i];
    }
    if (!l.comment.empty()) {
      if (!l.code.empty()) out += ' ';
      out += l.comment;
    }
    out += '\n';
  }

  // The same tokens and comments, in the same order, or nothing.
  auto significant = [](std::string_view s, const std::vector<parse::LexedToken>& ts) {
    std::vector<std::string_view> v;
    for (const auto& t : ts) {
      std::string_view x = s.substr(t.start, t.stop + 1 - t.start);
      if (t.hidden && x[0] != '#' && x[0] != '/') continue;
      if (t.hidden)
        while (!x.empty() &&
               (x.back() == ' ' || x.back() == '\t' || x.back() == '\r' || x.back() == '\f'))
          x.remove_suffix(1);
      v.push_back(x);
    }
    return v;
  };
  auto again = parse::lexAll(out);
  if (significant(text, toks) != significant(out, again)) return std::nullopt;
  return out;
}

std::optional<std::string> formatFile(const SourceFile& src, FileId id, DiagEngine& diags) {
  ast::AstArena arena;
  size_t before = diags.errorCount();
  parse::parseFile(src, id, arena, diags);
  if (diags.errorCount() > before) return std::nullopt;
  auto out = layout(src.text());
  if (!out)
    diags.report(DiagKind::SyntaxError, Loc{id, 0, 0},
                 "trig fmt could not lay this file out without changing its tokens (a bug in "
                 "trig fmt); the file was left as it is");
  return out;
}

namespace {

// The lines of `s`; a last line without a line break says so, as diff(1) does.
std::vector<std::string> toLines(std::string_view s) {
  std::vector<std::string> v;
  size_t at = 0;
  while (at < s.size()) {
    size_t nl = s.find('\n', at);
    bool last = nl == std::string_view::npos;
    if (last) nl = s.size();
    v.emplace_back(s.substr(at, nl - at));
    if (last) v.back() += "\n\\ No newline at end of file";
    at = nl + 1;
  }
  return v;
}

}  // namespace

std::string unifiedDiff(std::string_view before, std::string_view after,
                        const std::string& fromName, const std::string& toName) {
  if (before == after) return "";
  auto a = toLines(before), b = toLines(after);
  // Common prefix and suffix, then an LCS of the middle (bounded: past the bound the middle is
  // one replacement).
  size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre &&
         a[a.size() - 1 - suf] == b[b.size() - 1 - suf])
    ++suf;
  size_t n = a.size() - pre - suf, m = b.size() - pre - suf;
  // ops over the whole files: ' ' keep, '-' delete from a, '+' insert from b
  std::vector<char> ops(pre, ' ');
  if (n * m <= 4'000'000) {
    std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
    for (size_t i = n; i-- > 0;)
      for (size_t j = m; j-- > 0;)
        at(i, j) =
            a[pre + i] == b[pre + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[pre + i] == b[pre + j]) {
        ops.push_back(' ');
        ++i, ++j;
      } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
        ops.push_back('-');
        ++i;
      } else {
        ops.push_back('+');
        ++j;
      }
    }
  } else {
    ops.insert(ops.end(), n, '-');
    ops.insert(ops.end(), m, '+');
  }
  ops.insert(ops.end(), suf, ' ');

  // Hunks: changes with 3 lines of context, merged when their contexts touch.
  constexpr size_t kContext = 3;
  std::string out = "--- " + fromName + "\n+++ " + toName + "\n";
  // Positions in a and b at each op.
  std::vector<size_t> ai(ops.size() + 1), bi(ops.size() + 1);
  for (size_t k = 0; k < ops.size(); ++k) {
    ai[k + 1] = ai[k] + (ops[k] != '+');
    bi[k + 1] = bi[k] + (ops[k] != '-');
  }
  size_t k = 0;
  while (k < ops.size()) {
    while (k < ops.size() && ops[k] == ' ') ++k;
    if (k == ops.size()) break;
    size_t start = k >= kContext ? k - kContext : 0;
    size_t end = k;  // one past the last change of the hunk
    size_t scan = k;
    while (scan < ops.size()) {
      if (ops[scan] != ' ') {
        end = scan + 1;
        ++scan;
        continue;
      }
      if (scan - end >= 2 * kContext) break;
      ++scan;
    }
    size_t stop = std::min(ops.size(), end + kContext);
    size_t aCount = ai[stop] - ai[start], bCount = bi[stop] - bi[start];
    auto range = [](size_t from, size_t count) {
      size_t first = count == 0 ? from : from + 1;
      return std::to_string(first) + (count == 1 ? "" : "," + std::to_string(count));
    };
    out += "@@ -" + range(ai[start], aCount) + " +" + range(bi[start], bCount) + " @@\n";
    for (size_t q = start; q < stop; ++q) {
      out += ops[q];
      out += ops[q] == '+' ? b[bi[q]] : a[ai[q]];
      out += '\n';
    }
    k = stop;
  }
  return out;
}

}  // namespace trig::format
