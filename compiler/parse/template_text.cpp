// Template texts and string escapes: the small languages inside string literals.
#include <cctype>

#include "compiler/parse/parse.h"

namespace trig::parse {
namespace {

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one escape at raw[i] == '\\'; returns the index after it.
size_t decodeEscape(std::string_view raw, size_t i, std::string& out, FileId file, uint32_t offset,
                    DiagEngine& diags) {
  Loc loc{file, offset + static_cast<uint32_t>(i), offset + static_cast<uint32_t>(i + 2)};
  if (i + 1 >= raw.size()) {
    diags.report(DiagKind::BadEscape, loc, "a backslash at the end of a string escapes nothing")
        .help("write \\\\ for a backslash");
    return i + 1;
  }
  char c = raw[i + 1];
  switch (c) {
    case '"': out += '"'; return i + 2;
    case '\\': out += '\\'; return i + 2;
    case 'n': out += '\n'; return i + 2;
    case 't': out += '\t'; return i + 2;
    case 'u': {
      size_t close = raw.find('}', i);
      if (i + 2 < raw.size() && raw[i + 2] == '{' && close != std::string_view::npos &&
          close > i + 3 && close - (i + 3) <= 6) {
        uint32_t cp = 0;
        bool ok = true;
        for (size_t k = i + 3; k < close; ++k) {
          if (!std::isxdigit(static_cast<unsigned char>(raw[k])))
            ok = false;
          else
            cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(raw[k]))
                                                     ? raw[k] - '0'
                                                     : (std::tolower(raw[k]) - 'a' + 10));
        }
        if (ok && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
          appendUtf8(out, cp);
          return close + 1;
        }
        loc.end = offset + static_cast<uint32_t>(close + 1);
      }
      diags.report(DiagKind::BadEscape, loc, "invalid unicode escape")
          .help("write \\u{...} with one to six hexadecimal digits of a code point, e.g. \\u{e9}");
      return close != std::string_view::npos ? close + 1 : raw.size();
    }
    default:
      diags.report(DiagKind::BadEscape, loc, "unknown escape sequence '\\{}'", c)
          .help("strings know \\\", \\\\, \\n, \\t and \\u{...}");
      out += c;
      return i + 2;
  }
}

bool isIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool isIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Parses the inside of one `{{ ... }}` (raw[b, e) excludes the braces).
bool parsePlaceholder(std::string_view raw, size_t b, size_t e, FileId file, uint32_t offset,
                      ast::Placeholder& ph, DiagEngine& diags) {
  auto at = [&](size_t i, size_t j) {
    return Loc{file, offset + static_cast<uint32_t>(i), offset + static_cast<uint32_t>(j)};
  };
  size_t i = b;
  auto skip = [&] {
    while (i < e && std::isspace(static_cast<unsigned char>(raw[i]))) ++i;
  };
  auto fail = [&](std::string msg) {
    diags.add(DiagKind::BadTemplateExpr, ph.loc, std::move(msg))
        .help("write {{ name }}, {{ customer.first_name }} or {{ name | default \"text\" }}");
    return false;
  };
  skip();
  while (true) {
    if (i >= e || !isIdentStart(raw[i])) return fail("expected a variable name inside {{ }}");
    size_t s = i;
    while (i < e && isIdentChar(raw[i])) ++i;
    ph.path.push_back({std::string(raw.substr(s, i - s)), at(s, i)});
    skip();
    if (i < e && raw[i] == '.') {
      ++i;
      skip();
      continue;
    }
    break;
  }
  if (i < e && raw[i] == '|') {
    ++i;
    skip();
    size_t s = i;
    while (i < e && isIdentChar(raw[i])) ++i;
    if (raw.substr(s, i - s) != "default")
      return fail("unknown template filter '" + std::string(raw.substr(s, i - s)) +
                  "'; the only filter is 'default'");
    skip();
    if (i >= e || raw[i] != '"') return fail("expected a quoted text after 'default'");
    size_t q = i + 1;
    size_t j = q;
    while (j < e && raw[j] != '"') j += raw[j] == '\\' ? 2 : 1;
    if (j >= e) return fail("the default text is missing its closing quote");
    ph.defaultText =
        decodeString(raw.substr(q, j - q), file, offset + static_cast<uint32_t>(q), diags);
    i = j + 1;
    skip();
  }
  if (i != e) return fail("unexpected '" + std::string(raw.substr(i, e - i)) + "' inside {{ }}");
  return true;
}

}  // namespace

std::string decodeString(std::string_view raw, FileId file, uint32_t offset, DiagEngine& diags) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size();) {
    if (raw[i] == '\\') {
      i = decodeEscape(raw, i, out, file, offset, diags);
    } else {
      out += raw[i++];
    }
  }
  return out;
}

ast::TemplateText parseTemplate(std::string_view raw, FileId file, uint32_t offset,
                                bool decodeEscapes, DiagEngine& diags) {
  ast::TemplateText tt;
  tt.loc = {file, offset, offset + static_cast<uint32_t>(raw.size())};
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) {
      ast::TemplatePiece p;
      p.text = std::move(lit);
      tt.pieces.push_back(std::move(p));
      lit.clear();
    }
  };
  for (size_t i = 0; i < raw.size();) {
    if (raw.compare(i, 2, "{{") == 0) {
      size_t close = raw.find("}}", i + 2);
      Loc whole{
          file, offset + static_cast<uint32_t>(i),
          offset + static_cast<uint32_t>(close == std::string_view::npos ? raw.size() : close + 2)};
      if (close == std::string_view::npos) {
        diags.report(DiagKind::BadTemplateExpr, whole, "'{{{{' is never closed with '}}}}'")
            .help(
                "close the template expression with }}, or write \\u{7b}\\u{7b} for literal "
                "braces");
        lit += raw.substr(i);
        break;
      }
      flush();
      ast::TemplatePiece p;
      p.isPlaceholder = true;
      p.placeholder.loc = whole;
      if (parsePlaceholder(raw, i + 2, close, file, offset, p.placeholder, diags))
        tt.pieces.push_back(std::move(p));
      i = close + 2;
    } else if (decodeEscapes && raw[i] == '\\') {
      i = decodeEscape(raw, i, lit, file, offset, diags);
    } else {
      lit += raw[i++];
    }
  }
  flush();
  return tt;
}

}  // namespace trig::parse
