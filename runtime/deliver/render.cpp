#include "runtime/deliver/render.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "compiler/support/utf8.h"

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

// What `| default` replaces besides an absent value, as Liquid's `default` does: an empty
// string, one of only white space, an empty list.
bool takesDefault(const Value& v) {
  switch (v.kind) {
    case Value::Kind::String:
      // Usually decided by the first byte (find_first_not_of was a call and a set look-up each).
      for (const char ch : v.s)
        if (ch != ' ' && (ch < '\t' || ch > '\r')) return false;
      return true;
    case Value::Kind::List: return v.list.empty();
    case Value::Kind::Absent: return true;
    case Value::Kind::Int:
    case Value::Kind::Float:
    case Value::Kind::Money:
    case Value::Kind::Bool:
    case Value::Kind::Time:
    case Value::Kind::Duration: return false;
  }
  return false;
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

namespace {

// Appends to a string through a buffer on the stack, the text's pieces copied into it and the
// whole appended once: an append per piece was most of a subject's cost.
class Pieces {
 public:
  explicit Pieces(std::string& out) : out_(out) {}
  Pieces(const Pieces&) = delete;
  Pieces& operator=(const Pieces&) = delete;
  ~Pieces() { flush(); }
  void add(std::string_view text) {
    if (n_ + text.size() > sizeof buf_) {
      flush();
      if (text.size() > sizeof buf_) {
        out_.append(text);
        return;
      }
    }
    if (!text.empty()) std::memcpy(buf_ + n_, text.data(), text.size());
    n_ += text.size();
  }
  // The string itself, for what is appended to it directly (in order: the buffer first).
  std::string& flushed() {
    flush();
    return out_;
  }

 private:
  void flush() {
    if (n_ != 0) out_.append(buf_, n_);
    n_ = 0;
  }
  std::string& out_;
  size_t n_ = 0;
  char buf_[256];
};

// render(), into `pieces` (null: only checked).
bool renderPieces(const plan::TemplateText& text, LookupRef lookup, Escape escape, Pieces* pieces,
                  RenderError& error) {
  for (const auto& piece : text.pieces) {
    if (!piece.isPlaceholder) {
      if (pieces) pieces->add(piece.text);
      continue;
    }
    const Value* v = lookup(piece.placeholder);
    if (v && !v->isAbsent() && !(piece.placeholder.defaultText && takesDefault(*v))) {
      if (!pieces) continue;
      if (v->kind == Value::Kind::String && escape == Escape::None)
        pieces->add(v->s);
      else
        appendRendered(pieces->flushed(), *v, escape);
    } else if (piece.placeholder.defaultText) {
      if (pieces) pieces->add(*piece.placeholder.defaultText);
    } else {
      error.variable = piece.placeholder.name;
      error.loc = piece.placeholder.loc;
      return false;
    }
  }
  return true;
}

}  // namespace

bool render(const plan::TemplateText& text, LookupRef lookup, Escape escape, std::string* out,
            RenderError& error) {
  if (out == nullptr) return renderPieces(text, lookup, escape, nullptr, error);
  Pieces pieces(*out);
  return renderPieces(text, lookup, escape, &pieces, error);
}

bool renderTemplate(const plan::Template& info, LookupRef lookup, RenderedTemplate& out,
                    RenderError& error, Body body) {
  out.subject.clear();
  out.body.clear();
  if (info.subject && !render(*info.subject, lookup, Escape::None, &out.subject, error))
    return false;
  if (info.body && !render(*info.body, lookup, info.html ? Escape::Html : Escape::None,
                           body == Body::Render ? &out.body : nullptr, error))
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

namespace {

// The bytes a JSON string cannot hold as they are: a quote, a backslash, a control character,
// DEL, or any byte outside ASCII (checked as UTF-8 by the caller). As the high bit of each byte
// of the 8 at `p`: the first flagged byte is always right, bytes after it may be flagged wrongly
// (borrows) but never because of a plain byte before them.
inline uint64_t specialWord(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  const uint64_t quote = x ^ (kOnes * '"');
  const uint64_t slash = x ^ (kOnes * '\\');
  const uint64_t del = x ^ (kOnes * 0x7f);
  // A byte is zero in v exactly when (v - 1) sets its high bit while v's is clear.
  return (((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash) | ((del - kOnes) & ~del) |
          ((x - kOnes * 0x20) & ~x) | x) &
         (kOnes * 0x80);
}
inline uint64_t specialBytes(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  return specialWord(x);
}

#if defined(__SSE2__)
// The same test for the 16 bytes at `p`, as a bit per byte.
inline unsigned special16(const char* at) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  // Signed bytes below 0x20 are the control characters and every byte outside ASCII.
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
      _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                   _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))))));
}
#endif

// Copies the n >= 4 bytes at `s` to `out` a block at a time (blocks overlapping at the end, so
// nothing outside [s, s + n) is read and nothing outside [out, out + n) written) and says whether
// all of them were plain: the common case of a record's strings, whole, without a loop per run.
// When not, the copy is to be discarded.
// One block width W (n >= W) of copiedPlain(), `special` being the test for W bytes.
template <size_t W, typename Special>
inline bool copiedPlainBlocks(char* out, const char* s, size_t n, Special special) {
  decltype(special(s)) any = 0;
  for (size_t k = 0; k + W < n; k += W) {
    any |= special(s + k);
    std::memcpy(out + k, s + k, W);
  }
  any |= special(s + n - W);
  std::memcpy(out + n - W, s + n - W, W);
  return any == 0;
}

inline bool copiedPlain(char* out, const char* s, size_t n) {
#if defined(__SSE2__)
  if (n >= 16) return copiedPlainBlocks<16>(out, s, n, [](const char* p) { return special16(p); });
#endif
  if (n >= 8) return copiedPlainBlocks<8>(out, s, n, [](const char* p) { return specialBytes(p); });
  uint32_t head, tail;
  std::memcpy(&head, s, 4);
  std::memcpy(&tail, s + n - 4, 4);
  std::memcpy(out, &head, 4);
  std::memcpy(out + n - 4, &tail, 4);
  return specialWord(uint64_t{head} | uint64_t{tail} << 32) == 0;
}

// The first byte of [p, end) that specialBytes() flags, or `end`; `begin` (at most `p`) is where
// the text starts, so that the last block can end at `end` by reading bytes already checked
// again. 16 bytes at a time with SSE2, then 8: records are mostly plain text.
const char* plainJsonRun(const char* begin, const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    if (const unsigned mask = special16(p); mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
  if (p < end && end - begin >= 16) {
    // The last 16 bytes, without the ones already checked.
    const auto checked = static_cast<unsigned>(16 - (end - p));
    const unsigned mask = special16(end - 16) >> checked;
    return mask != 0 ? p + __builtin_ctz(mask) : end;
  }
#endif
  while (end - p >= 8) {
    if (const uint64_t special = specialBytes(p); special != 0)
      return p + std::countr_zero(special) / 8;
    p += 8;
  }
  if (p < end && end - begin >= 8) {
    const auto checked = static_cast<unsigned>(8 - (end - p));
    const uint64_t special = specialBytes(end - 8) >> (8 * checked);
    return special != 0 ? p + std::countr_zero(special) / 8 : end;
  }
  for (; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return p;
  }
  return end;
}

// writeJsonString's text with something to escape (or short), a run at a time. Out of line: the
// plain path, which most strings take, then saves no registers.
[[gnu::noinline]] char* writeJsonEscaped(char* p, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto put = [&p](const char* bytes, size_t n) {
    std::memcpy(p, bytes, n);
    p += n;
  };
  *p++ = '"';
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  const char* q = begin;
  while (q < end) {
    // Plain printable ASCII (most of every record) is copied a run at a time.
    const char* run = plainJsonRun(begin, q, end);
    if (run > q) {
      put(q, static_cast<size_t>(run - q));
      q = run;
      if (q == end) break;
    }
    const auto c = static_cast<unsigned char>(*q);
    if (c >= 0x80) {
      const size_t n = utf8::sequenceLength(text, static_cast<size_t>(q - begin));
      if (n == 0) {
        put("\\ufffd", 6);
        ++q;
      } else {
        put(q, n);
        q += n;
      }
      continue;
    }
    switch (c) {
      case '"': put("\\\"", 2); break;
      case '\\': put("\\\\", 2); break;
      case '\n': put("\\n", 2); break;
      case '\r': put("\\r", 2); break;
      case '\t': put("\\t", 2); break;
      case '\b': put("\\b", 2); break;
      case '\f': put("\\f", 2); break;
      default: {
        // The other control characters and DEL.
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        put(u, 6);
      }
    }
    ++q;
  }
  *p++ = '"';
  return p;
}

}  // namespace

char* writeJsonString(char* p, std::string_view text) {
  if (const size_t n = text.size(); n >= 4 && copiedPlain(p + 1, text.data(), n)) {
    p[0] = '"';
    p[n + 1] = '"';
    return p + n + 2;
  }
  return writeJsonEscaped(p, text);
}

void appendJsonString(std::string& out, std::string_view text) {
  const size_t start = out.size();
  out.resize(start + jsonStringBound(text.size()));
  char* end = writeJsonString(out.data() + start, text);
  out.resize(static_cast<size_t>(end - out.data()));
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
