#include "runtime/ingest/dedup.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace trig::ingest {

namespace {

void putBytes(std::string& out, const void* p, size_t n) {
  out.append(static_cast<const char*>(p), n);
}
void putU64(std::string& out, uint64_t v) {
  putBytes(out, &v, sizeof v);
}
// Length-prefixed, so ("ab","c") and ("a","bc") differ.
void putString(std::string& out, std::string_view s) {
  putU64(out, s.size());
  out.append(s);
}

void putValue(std::string& out, const Value& v) {
  out.push_back(static_cast<char>(v.kind));
  switch (v.kind) {
    case Value::Kind::Absent: return;
    case Value::Kind::String: putString(out, v.s); return;
    case Value::Kind::Int:
    case Value::Kind::Time:
    case Value::Kind::Duration: putU64(out, static_cast<uint64_t>(v.i)); return;
    case Value::Kind::Float: putU64(out, std::bit_cast<uint64_t>(v.f)); return;
    case Value::Kind::Money: putU64(out, static_cast<uint64_t>(v.m.units)); return;
    case Value::Kind::Bool: out.push_back(v.b ? 1 : 0); return;
    case Value::Kind::List:
      putU64(out, v.list.size());
      for (const auto& item : v.list) putValue(out, item);
      return;
  }
}

// The content that makes two events duplicates: kind, type, customer and decoded fields (or the
// trait changes of an identify, or the name of an undeclared event, or the id an alias merges).
void contentKey(const Event& e, std::string& out) {
  out.clear();
  out.push_back(static_cast<char>(e.kind));
  putU64(out, e.type);
  putString(out, e.customer);
  switch (e.kind) {
    case Event::Kind::Track:
      for (const auto& v : e.fields) putValue(out, v);
      break;
    case Event::Kind::Identify:
      putU64(out, e.traits.size());
      for (const auto& [name, v] : e.traits) {
        putString(out, name);
        putValue(out, v);
      }
      break;
    case Event::Kind::Undeclared: putString(out, e.name); break;
    case Event::Kind::Alias: putString(out, e.anonymousId); break;
  }
}

}  // namespace

const char* verdictName(Deduplicator::Verdict v) {
  switch (v) {
    case Deduplicator::Verdict::Accept: return "accept";
    case Deduplicator::Verdict::DuplicateId: return "duplicate_message_id";
    case Deduplicator::Verdict::DuplicateContent: return "duplicate_content";
  }
  return "?";
}

Deduplicator::Deduplicator(DurationMs contentWindow, DurationMs idMemory)
    : contentWindow_(contentWindow), idMemory_(idMemory) {}

void Deduplicator::forget(TimeMs now) {
  while (!idQueue_.empty() && idQueue_.front().first < now - idMemory_) {
    auto it = ids_.find(idQueue_.front().second->first);
    if (it != ids_.end()) ids_.erase(it);
    idQueue_.pop_front();
  }
  while (!contentQueue_.empty() && contentQueue_.front().first < now - contentWindow_) {
    const TimeMs stamp = contentQueue_.front().first;
    auto& [key, stamps] = *contentQueue_.front().second;
    // Usually the oldest stamp; out-of-order admissions may have put it elsewhere.
    auto pos = std::lower_bound(stamps.begin(), stamps.end(), stamp);
    if (pos != stamps.end() && *pos == stamp) stamps.erase(pos);
    if (stamps.empty()) {
      auto it = contents_.find(key);
      if (it != contents_.end()) contents_.erase(it);
    }
    contentQueue_.pop_front();
  }
}

Deduplicator::Verdict Deduplicator::admit(const Event& e) {
  if (e.time > latest_) {
    latest_ = e.time;
    forget(latest_);
  }
  if (!e.messageId.empty() && ids_.find(e.messageId) != ids_.end()) {
    ++droppedById_;
    return Verdict::DuplicateId;
  }
  ContentMap::iterator content = contents_.end();
  if (contentWindow_ > 0) {
    contentKey(e, scratch_);
    content = contents_.find(scratch_);
    if (content != contents_.end()) {
      const auto& stamps = content->second;
      // An accepted stamp in [t - D, t].
      auto pos = std::lower_bound(stamps.begin(), stamps.end(), e.time - contentWindow_);
      if (pos != stamps.end() && *pos <= e.time) {
        ++droppedByContent_;
        return Verdict::DuplicateContent;
      }
    }
  }
  if (!e.messageId.empty()) {
    auto [it, inserted] = ids_.emplace(e.messageId, e.time);
    idQueue_.emplace_back(e.time, &*it);
  }
  if (contentWindow_ > 0) {
    if (content == contents_.end())
      content = contents_.emplace(scratch_, std::vector<TimeMs>{}).first;
    auto& stamps = content->second;
    stamps.insert(std::upper_bound(stamps.begin(), stamps.end(), e.time), e.time);
    contentQueue_.emplace_back(e.time, &*content);
  }
  return Verdict::Accept;
}

}  // namespace trig::ingest
