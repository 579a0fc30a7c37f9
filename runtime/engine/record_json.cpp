#include "runtime/engine/record_json.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "runtime/deliver/render.h"

namespace trig::engine {

namespace {

// Writes a record at a pointer into a buffer made big enough beforehand (see bound()).
struct Out {
  char* p;
  // A literal, its length known at compile time.
  template <size_t N>
  void lit(const char (&text)[N]) {
    std::memcpy(p, text, N - 1);
    p += N - 1;
  }
  void str(std::string_view v) { p = deliver::writeJsonString(p, v); }
  // A rule's name (an identifier of the language: it never needs an escape), copied as it is.
  // Template and variant names are escaped like any string: a Record may carry any text there.
  void name(std::string_view v) {
    *p++ = '"';
    if (!v.empty()) std::memcpy(p, v.data(), v.size());  // an empty view's data may be null
    p += v.size();
    *p++ = '"';
  }
  template <size_t N>
  void name(const char (&key)[N], std::string_view v) {
    lit(key);
    name(v);
  }
  // `,"key":"value"` (the key's text includes its quotes and colon).
  template <size_t N>
  void str(const char (&key)[N], std::string_view v) {
    lit(key);
    str(v);
  }
  template <size_t N>
  void strOrNull(const char (&key)[N], std::string_view v) {
    lit(key);
    if (v.empty())
      lit("null");
    else
      str(v);
  }
  void decimal(uint64_t v) {
    char buf[20];
    char* q = buf + sizeof buf;
    do {
      *--q = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    const auto n = static_cast<size_t>(buf + sizeof buf - q);
    std::memcpy(p, q, n);
    p += n;
  }
};

// Room for the keys, punctuation, numbers and times of any record.
constexpr size_t kFixedBound = 512;

}  // namespace

RecordWriter::RecordWriter(std::vector<std::string> ruleNames, plan::SourceMap sources)
    : ruleNames_(std::move(ruleNames)), sources_(std::move(sources)) {}

const std::string& RecordWriter::location(Loc loc) {
  const uint64_t key = (uint64_t{loc.file} << 32) | loc.begin;
  auto it = locations_.find(key);
  if (it == locations_.end()) it = locations_.emplace(key, sources_.format(loc)).first;
  return it->second;
}

// formatTimestamp's text as a JSON string (it needs no escape), with the date of the last day
// printed kept: records come in time order, many on the same day. At most 64 bytes.
char* RecordWriter::writeTime(char* p, TimeMs t) {
  constexpr TimeMs kDay = 86'400'000;
  // Before 1970 and from year 10000 on: formatTimestamp's own (rare) business.
  constexpr TimeMs kYear10000 = 253'402'300'800'000;
  if (t < 0 || t >= kYear10000) return deliver::writeJsonString(p, formatTimestamp(t));
  const int64_t day = t / kDay;
  if (day != day_) {
    std::memcpy(dayText_, formatTimestamp(day * kDay).data(), sizeof dayText_);
    day_ = day;
  }
  const auto ms = static_cast<uint32_t>(t - day * kDay);
  const uint32_t h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  p[0] = '"';
  std::memcpy(p + 1, dayText_, sizeof dayText_);
  p[11] = 'T';
  p[12] = static_cast<char>('0' + h / 10);
  p[13] = static_cast<char>('0' + h % 10);
  p[14] = ':';
  p[15] = static_cast<char>('0' + m / 10);
  p[16] = static_cast<char>('0' + m % 10);
  p[17] = ':';
  p[18] = static_cast<char>('0' + s / 10);
  p[19] = static_cast<char>('0' + s % 10);
  p += 20;
  if (frac != 0) {
    p[0] = '.';
    p[1] = static_cast<char>('0' + frac / 100);
    p[2] = static_cast<char>('0' + frac / 10 % 10);
    p[3] = static_cast<char>('0' + frac % 10);
    p += 4;
  }
  p[0] = 'Z';
  p[1] = '"';
  return p + 2;
}

// Every string of the record at its worst (all escaped) and room for the rest.
size_t RecordWriter::bound(const Record& r, std::string_view rule, std::string_view loc) {
  const size_t strings = r.customer.size() + r.event.size() + r.source.size() + r.detail.size() +
                         rule.size() + r.templateName.size() + r.variant.size() + r.to.size() +
                         r.subject.size() + r.messageId.size() + loc.size();
  return kFixedBound + deliver::jsonStringBound(strings);
}

std::string_view RecordWriter::ruleOf(const Record& r) const {
  return r.decision == Decision::Dropped || r.rule >= ruleNames_.size()
             ? std::string_view{}
             : std::string_view(ruleNames_[r.rule]);
}

std::string_view RecordWriter::locationOf(const Record& r) {
  return r.decision == Decision::Suppressed || r.decision == Decision::Deferred
             ? std::string_view(location(r.loc))
             : std::string_view{};
}

void RecordWriter::append(std::string& out, const Record& r) {
  const std::string_view rule = ruleOf(r), loc = locationOf(r);
  const size_t start = out.size();
  out.resize(start + bound(r, rule, loc));
  char* end = write(out.data() + start, r, rule, loc);
  out.resize(static_cast<size_t>(end - out.data()));
}

void RecordWriter::appendLine(LineBuffer& out, const Record& r) {
  const std::string_view rule = ruleOf(r), loc = locationOf(r);
  char* p = write(out.reserve(bound(r, rule, loc) + 1), r, rule, loc);
  *p++ = '\n';
  out.commit(p);
}

char* RecordWriter::write(char* p, const Record& r, std::string_view rule, std::string_view loc) {
  Out o{p};
  switch (r.decision) {  // decisionName's words, which need no escape
    case Decision::Send: o.lit("{\"decision\":\"send\""); break;
    case Decision::Suppressed: o.lit("{\"decision\":\"suppressed\""); break;
    case Decision::Deferred: o.lit("{\"decision\":\"deferred\""); break;
    case Decision::Dropped: o.lit("{\"decision\":\"dropped\""); break;
  }
  o.lit(",\"time\":");
  o.p = writeTime(o.p, r.time);
  o.str(",\"customer\":", r.customer);
  if (r.decision == Decision::Dropped) {
    o.str(",\"event\":", r.event);
    o.str(",\"reason\":", reasonName(r.reason));
    o.str(",\"source\":", r.source);
    o.str(",\"detail\":", r.detail);
  } else {
    o.name(",\"rule\":", rule);
    o.lit(",\"step\":");
    o.decimal(r.step);
    o.strOrNull(",\"template\":", r.templateName);
    o.strOrNull(",\"variant\":", r.variant);
    switch (r.decision) {
      case Decision::Send:
        o.str(",\"to\":", r.to);
        o.strOrNull(",\"subject\":", r.subject);
        o.str(",\"message_id\":", r.messageId);
        break;
      case Decision::Suppressed:
        o.str(",\"reason\":", reasonName(r.reason));
        o.strOrNull(",\"message_id\":", r.messageId);
        o.str(",\"location\":", loc);
        o.str(",\"detail\":", r.detail);
        break;
      case Decision::Deferred:
        o.lit(",\"until\":");
        o.p = writeTime(o.p, r.until);
        o.strOrNull(",\"message_id\":", r.messageId);
        o.str(",\"location\":", loc);
        o.str(",\"detail\":", r.detail);
        break;
      case Decision::Dropped: break;
    }
  }
  *o.p++ = '}';
  return o.p;
}

char* LineBuffer::reserve(size_t n) {
  if (cap_ - size_ < n) {
    const size_t cap = std::max(size_ + n, 2 * cap_);
    auto grown = std::make_unique_for_overwrite<char[]>(cap);
    if (size_ != 0) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    cap_ = cap;
  }
  return data_.get() + size_;
}

std::string recordJson(const Record& r, RecordWriter& writer) {
  std::string out;
  out.reserve(256);
  writer.append(out, r);
  return out;
}

}  // namespace trig::engine
