#include "runtime/engine/record_json.h"

#include "runtime/deliver/render.h"

namespace trig::engine {

std::string formatLoc(Loc loc, const SourceManager& sources) {
  if (!loc.valid() || loc.file >= sources.size()) return "";
  const SourceFile& f = sources.file(loc.file);
  LineCol lc = f.lineCol(loc.begin);
  return f.path() + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column);
}

namespace {

void key(std::string& out, const char* k) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += k;
  out += "\":";
}

void str(std::string& out, const char* k, std::string_view v) {
  key(out, k);
  deliver::appendJsonString(out, v);
}

void strOrNull(std::string& out, const char* k, std::string_view v) {
  key(out, k);
  if (v.empty())
    out += "null";
  else
    deliver::appendJsonString(out, v);
}

}  // namespace

std::string recordJson(const Record& r, const sema::Model& model, const SourceManager& sources) {
  std::string out;
  out.reserve(256);
  out += '{';
  str(out, "decision", decisionName(r.decision));
  str(out, "time", formatTimestamp(r.time));
  str(out, "customer", r.customer);
  if (r.decision == Decision::Dropped) {
    str(out, "event", r.event);
    str(out, "reason", reasonName(r.reason));
    str(out, "source", r.source);
    str(out, "detail", r.detail);
    out += '}';
    return out;
  }
  str(out, "rule", r.rule < model.rules.size() ? model.rules[r.rule].name : "");
  key(out, "step");
  out += std::to_string(r.step);
  strOrNull(out, "template", r.templateName);
  strOrNull(out, "variant", r.variant);
  switch (r.decision) {
    case Decision::Send:
      str(out, "to", r.to);
      strOrNull(out, "subject", r.subject);
      str(out, "message_id", r.messageId);
      break;
    case Decision::Suppressed:
      str(out, "reason", reasonName(r.reason));
      strOrNull(out, "message_id", r.messageId);
      str(out, "location", formatLoc(r.loc, sources));
      str(out, "detail", r.detail);
      break;
    case Decision::Deferred:
      str(out, "until", formatTimestamp(r.until));
      strOrNull(out, "message_id", r.messageId);
      str(out, "location", formatLoc(r.loc, sources));
      str(out, "detail", r.detail);
      break;
    case Decision::Dropped: break;
  }
  out += '}';
  return out;
}

}  // namespace trig::engine
