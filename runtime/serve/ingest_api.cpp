// Request bodies of the ingest API to event objects (ingest_api.h).
#include "runtime/serve/ingest_api.h"

#include <optional>

#include "runtime/deliver/render.h"
#include "runtime/ingest/json_scan.h"

namespace trig::serve {
namespace {

using ingest::json::Scanner;

// One top-level member of an object: its decoded key and the raw text of its value.
struct Member {
  std::string key;
  std::string_view value;
};

// The members of the object that is the whole of `text`; nullopt with `error` (and the byte
// offset) when it is not exactly one JSON object.
std::optional<std::vector<Member>> members(std::string_view text, std::string& error) {
  Scanner sc(text);
  std::vector<Member> out;
  auto failed = [&]() -> std::optional<std::vector<Member>> {
    error = "malformed JSON at column " + std::to_string(sc.errorPos() + 1) + ": " + sc.error();
    return std::nullopt;
  };
  ingest::json::Kind k = ingest::json::Kind::Null;
  if (!sc.peekKind(k)) return failed();
  if (k != ingest::json::Kind::Object) {
    error = "the body must be a JSON object";
    return std::nullopt;
  }
  sc.expect('{', "'{'");
  if (!sc.take('}')) {
    do {
      std::string_view raw;
      bool escaped = false;
      if (!sc.string(raw, escaped)) return failed();
      Member m;
      Scanner::decode(raw, escaped, m.key);
      if (!sc.expect(':', "':'")) return failed();
      sc.ws();
      size_t start = sc.pos();
      if (!sc.skipValue()) return failed();
      m.value = text.substr(start, sc.pos() - start);
      out.push_back(std::move(m));
    } while (sc.take(','));
    if (!sc.expect('}', "',' or '}'")) return failed();
  }
  if (!sc.atEnd()) {
    sc.fail("text after the object");
    return failed();
  }
  return out;
}

const char* callType(Call c) {
  switch (c) {
    case Call::Track: return "track";
    case Call::Identify: return "identify";
    case Call::Page: return "page";
    case Call::Batch: return nullptr;
  }
  return nullptr;
}

// The object with `"type":"<call>"` first when it has no type; an error when its type differs.
bool typed(std::string_view obj, const std::vector<Member>& ms, Call call, std::string& out,
           std::string& error) {
  const char* want = callType(call);
  for (const Member& m : ms) {
    if (m.key != "type") continue;
    if (m.value != std::string("\"") + want + "\"") {
      error = "'type' is " + std::string(m.value) + " in a call to /v1/" + want;
      return false;
    }
    out.assign(obj);
    return true;
  }
  size_t brace = obj.find('{');
  out.assign(obj.substr(0, brace + 1));
  out += "\"type\":\"";
  out += want;
  out += '"';
  std::string_view rest = obj.substr(brace + 1);
  size_t first = rest.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && rest[first] != '}') out += ',';
  out += rest;
  return true;
}

std::string tooLarge(size_t bytes) {
  return "the event has " + std::to_string(bytes) + " bytes, more than the 32 KB an event may have";
}

ParsedBody single(Call call, std::string_view body) {
  ParsedBody p;
  if (body.size() > kMaxEventBytes) {
    p.status = 413;
    p.errors.push_back({0, tooLarge(body.size()), ""});
    return p;
  }
  std::string error, item;
  auto ms = members(body, error);
  if (!ms || !typed(body, *ms, call, item, error)) {
    p.status = 400;
    p.errors.push_back({0, error, std::string(body)});
    return p;
  }
  p.items.push_back(std::move(item));
  p.indexes.push_back(0);
  return p;
}

ParsedBody batch(std::string_view body) {
  ParsedBody p;
  if (body.size() > kMaxBatchBytes) {
    p.status = 413;
    p.errors.push_back({0,
                        "the batch has " + std::to_string(body.size()) +
                            " bytes, more than the 500 KB a batch may have",
                        ""});
    return p;
  }
  std::string error;
  auto ms = members(body, error);
  const Member* list = nullptr;
  if (ms)
    for (const Member& m : *ms)
      if (m.key == "batch") list = &m;
  if (!ms || !list || list->value.empty() || list->value.front() != '[') {
    p.status = 400;
    p.errors.push_back({0, ms ? "the body must be {\"batch\":[...]}" : error, std::string(body)});
    return p;
  }
  Scanner sc(list->value);
  sc.expect('[', "'['");
  if (sc.take(']')) return p;
  size_t index = 0;
  do {
    sc.ws();
    size_t start = sc.pos();
    sc.skipValue();  // validated by members() above
    std::string_view item = list->value.substr(start, sc.pos() - start);
    if (item.size() > kMaxEventBytes) {
      p.errors.push_back({index, tooLarge(item.size()), std::string(item)});
    } else if (item.front() != '{') {
      p.errors.push_back({index, "a batch item must be a JSON object", std::string(item)});
    } else {
      p.items.emplace_back(item);
      p.indexes.push_back(index);
    }
    ++index;
  } while (sc.take(','));
  return p;
}

}  // namespace

ParsedBody parseBody(Call call, std::string_view body) {
  return call == Call::Batch ? batch(body) : single(call, body);
}

std::string withStamp(std::string_view json, TimeMs stamp) {
  std::string error;
  auto ms = members(json, error);
  std::string out = "{\"timestamp\":\"" + formatTimestamp(stamp) + "\"";
  if (!ms) return out + "}";
  bool hasOriginal = false;
  for (const Member& m : *ms) hasOriginal |= m.key == "originalTimestamp";
  for (const Member& m : *ms) {
    if (m.key == "timestamp") {
      if (hasOriginal) continue;
      out += ",\"originalTimestamp\":";
    } else {
      out += ',';
      deliver::appendJsonString(out, m.key);
      out += ':';
    }
    out += m.value;
  }
  out += '}';
  return out;
}

bool percentDecode(std::string_view in, std::string& out) {
  out.clear();
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      int h = hex(in[i + 1]), l = hex(in[i + 2]);
      if (h < 0 || l < 0) return false;
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return true;
}

std::string pixelEvent(std::string_view query, std::string& error) {
  std::string event, user, props;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key, value;
    if (!percentDecode(pair.substr(0, eq), key) ||
        !percentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), value)) {
      error = "malformed percent-escape in the query";
      return "";
    }
    if (key == "e") {
      event = value;
    } else if (key == "u") {
      user = value;
    } else if (key != "k" && key != "writeKey") {  // the write key, not a property
      if (!props.empty()) props += ',';
      deliver::appendJsonString(props, key);
      props += ':';
      deliver::appendJsonString(props, value);
    }
  }
  if (event.empty() || user.empty()) {
    error = "the pixel needs e=EVENT and u=USER";
    return "";
  }
  std::string out = "{\"type\":\"track\",\"event\":";
  deliver::appendJsonString(out, event);
  out += ",\"userId\":";
  deliver::appendJsonString(out, user);
  out += ",\"properties\":{" + props + "}}";
  return out;
}

}  // namespace trig::serve
