#include "runtime/deliver/render.h"

#include <charconv>
#include <cmath>

#include "runtime/ingest/utf8.h"

namespace trig::deliver {

namespace {

void appendFloat(std::string& out, double f) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, f);
  out.append(buf, res.ptr);
}

void appendInt(std::string& out, int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void appendRendered(std::string& out, const Value& v, Escape escape) {
  if (escape == Escape::None) {
    appendValue(out, v);
    return;
  }
  if (v.kind == Value::Kind::String) {
    appendHtmlEscaped(out, v.s);
    return;
  }
  if (v.kind == Value::Kind::List) {
    for (size_t k = 0; k < v.list.size(); ++k) {
      if (k) out += ", ";
      appendRendered(out, v.list[k], escape);
    }
    return;
  }
  // Numbers, bools, times and durations contain no character HTML treats specially.
  appendValue(out, v);
}

}  // namespace

void appendValue(std::string& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::Absent: return;
    case Value::Kind::String: out += v.s; return;
    case Value::Kind::Int: appendInt(out, v.i); return;
    case Value::Kind::Float: appendFloat(out, v.f); return;
    case Value::Kind::Money: out += v.m.toMoneyString(); return;
    case Value::Kind::Bool: out += v.b ? "true" : "false"; return;
    case Value::Kind::Time: out += formatTimestamp(v.i); return;
    case Value::Kind::Duration: out += formatDuration(v.i); return;
    case Value::Kind::List:
      for (size_t k = 0; k < v.list.size(); ++k) {
        if (k) out += ", ";
        appendValue(out, v.list[k]);
      }
      return;
  }
}

std::string formatValue(const Value& v) {
  std::string s;
  appendValue(s, v);
  return s;
}

std::string variableName(const ast::Placeholder& p) {
  std::string name;
  for (size_t k = 0; k < p.path.size(); ++k) {
    if (k) name += '.';
    name += p.path[k].text;
  }
  return name;
}

bool render(const ast::TemplateText& text, const Lookup& lookup, Escape escape, std::string& out,
            RenderError& error) {
  for (const auto& piece : text.pieces) {
    if (!piece.isPlaceholder) {
      out += piece.text;
      continue;
    }
    const Value* v = lookup ? lookup(piece.placeholder) : nullptr;
    if (v && !v->isAbsent()) {
      appendRendered(out, *v, escape);
    } else if (piece.placeholder.defaultText) {
      out += *piece.placeholder.defaultText;
    } else {
      error.variable = variableName(piece.placeholder);
      error.loc = piece.placeholder.loc;
      return false;
    }
  }
  return true;
}

bool renderTemplate(const sema::TemplateInfo& info, const Lookup& lookup, RenderedTemplate& out,
                    RenderError& error) {
  out.subject.clear();
  out.body.clear();
  if (info.subject && !render(*info.subject, lookup, Escape::None, out.subject, error))
    return false;
  if (info.body &&
      !render(*info.body, lookup, info.html ? Escape::Html : Escape::None, out.body, error))
    return false;
  return true;
}

void appendHtmlEscaped(std::string& out, std::string_view text) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char* rep = nullptr;
    switch (text[i]) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      case '\'': rep = "&#39;"; break;
      default: continue;
    }
    out.append(text, start, i - start);
    out += rep;
    start = i + 1;
  }
  out.append(text, start, text.size() - start);
}

void appendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t i = 0;
  while (i < text.size()) {
    // Plain printable ASCII (most of every record) is copied a run at a time.
    size_t run = i;
    while (run < text.size()) {
      const auto p = static_cast<unsigned char>(text[run]);
      if (p < 0x20 || p >= 0x7f || p == '"' || p == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(text.data() + i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t n = utf8::sequenceLength(text, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text, i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

void appendJsonValue(std::string& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::Absent: out += "null"; return;
    case Value::Kind::String: appendJsonString(out, v.s); return;
    case Value::Kind::Int: appendInt(out, v.i); return;
    case Value::Kind::Float:
      // JSON has no infinities or NaN.
      if (std::isfinite(v.f))
        appendFloat(out, v.f);
      else
        out += "null";
      return;
    case Value::Kind::Money: out += v.m.toString(); return;
    case Value::Kind::Bool: out += v.b ? "true" : "false"; return;
    case Value::Kind::Time: appendJsonString(out, formatTimestamp(v.i)); return;
    case Value::Kind::Duration: appendJsonString(out, formatDuration(v.i)); return;
    case Value::Kind::List:
      out += '[';
      for (size_t k = 0; k < v.list.size(); ++k) {
        if (k) out += ',';
        appendJsonValue(out, v.list[k]);
      }
      out += ']';
      return;
  }
}

}  // namespace trig::deliver
