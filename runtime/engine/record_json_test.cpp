// The record writer keeps formatted locations and the last day between records: its lines must
// be byte for byte those of the plain writer it replaced (kept here as the reference), whatever
// order the times come in and whatever bytes the strings hold.
#include "runtime/engine/record_json.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "compiler/interp/test_fixture.h"
#include "runtime/deliver/render.h"

namespace trig::engine {
namespace {

std::string referenceJson(const Record& r, const sema::Model& model, const SourceManager& sources) {
  std::string out = "{";
  auto key = [&](const char* k) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += k;
    out += "\":";
  };
  auto str = [&](const char* k, std::string_view v) {
    key(k);
    deliver::appendJsonString(out, v);
  };
  auto strOrNull = [&](const char* k, std::string_view v) {
    key(k);
    if (v.empty())
      out += "null";
    else
      deliver::appendJsonString(out, v);
  };
  str("decision", decisionName(r.decision));
  str("time", formatTimestamp(r.time));
  str("customer", r.customer);
  if (r.decision == Decision::Dropped) {
    str("event", r.event);
    str("reason", reasonName(r.reason));
    str("source", r.source);
    str("detail", r.detail);
    return out + "}";
  }
  str("rule", r.rule < model.rules.size() ? model.rules[r.rule].name : "");
  key("step");
  out += std::to_string(r.step);
  strOrNull("template", r.templateName);
  strOrNull("variant", r.variant);
  switch (r.decision) {
    case Decision::Send:
      str("to", r.to);
      strOrNull("subject", r.subject);
      str("message_id", r.messageId);
      break;
    case Decision::Suppressed:
      str("reason", reasonName(r.reason));
      strOrNull("message_id", r.messageId);
      str("location", plan::formatLoc(r.loc, sources));
      str("detail", r.detail);
      break;
    case Decision::Deferred:
      str("until", formatTimestamp(r.until));
      strOrNull("message_id", r.messageId);
      str("location", plan::formatLoc(r.loc, sources));
      str("detail", r.detail);
      break;
    case Decision::Dropped: break;
  }
  return out + "}";
}

TEST_CASE("record writer: the reference writer's bytes, on random records") {
  testing::CheckedProgram p(R"(
trigger cart: when cart_add send t
trigger view: when product_view send t
template t { subject "s" body "b" }
)");
  std::mt19937_64 rng(5);
  auto pick = [&](uint64_t n) { return rng() % n; };
  auto text = [&] {
    static const char* kTexts[] = {"",
                                   "c1",
                                   "ann@example.com",
                                   "caf\xc3\xa9 \"quoted\"\n",
                                   "\xff\x01",
                                   "a long detail sentence that spans more than sixteen bytes"};
    return std::string(kTexts[pick(std::size(kTexts))]);
  };
  auto time = [&]() -> TimeMs {
    switch (pick(6)) {
      case 0: return static_cast<TimeMs>(pick(1000)) - 500;  // around 1970, both sides
      case 1: return 253'402'300'800'000 - 1 + static_cast<TimeMs>(pick(3));      // year 10000
      case 2: return -static_cast<TimeMs>(pick(100'000'000'000'000));             // far before 1970
      case 3: return 1'767'225'600'000 + static_cast<TimeMs>(pick(1000)) * 1000;  // whole seconds
      default: return 1'767'225'600'000 + static_cast<TimeMs>(pick(400'000'000'000));
    }
  };
  RecordWriter writer(plan::ruleNames(p.model), plan::SourceMap::of(p.sources));
  RecordWriter other(plan::ruleNames(p.model), plan::SourceMap::of(p.sources));
  RecordWriter lines(plan::ruleNames(p.model), plan::SourceMap::of(p.sources));
  std::string out;
  // Every record as a line, one after another (the buffer grows from nothing without zeroing).
  LineBuffer lineBuffer;
  std::string wantLines;
  for (int round = 0; round < 5000; ++round) {
    Record r;
    r.decision = static_cast<Decision>(pick(4));
    r.time = time();
    r.until = time();
    r.customer = text();
    r.rule = pick(4) == 0 ? sema::kNone : static_cast<uint32_t>(pick(p.model.rules.size()));
    r.step = static_cast<uint32_t>(pick(20));
    r.templateName = text();
    r.variant = text();
    r.to = text();
    r.subject = text();
    r.messageId = text();
    r.reason = static_cast<Reason>(pick(static_cast<uint64_t>(Reason::Condition) + 1));
    r.loc = pick(5) == 0 || r.rule == sema::kNone ? Loc{} : p.model.rules[r.rule].rule->loc;
    r.detail = text();
    r.event = text();
    r.source = text();
    const std::string want = referenceJson(r, p.model, p.sources);
    CAPTURE(want);
    out.clear();
    writer.append(out, r);
    REQUIRE(out == want);
    CHECK(recordJson(r, other) == want);
    const size_t before = lineBuffer.size();
    lines.appendLine(lineBuffer, r);
    REQUIRE(lineBuffer.view().substr(before) == want + '\n');
    wantLines += want;
    wantLines += '\n';
  }
  CHECK(lineBuffer.view() == wantLines);  // what was appended before stayed as it was
  lineBuffer.clear();
  CHECK(lineBuffer.size() == 0);
  // What is not invalid UTF-8 parses as JSON, with the keys in order.
  Record send;
  send.time = 1'767'225'600'123;
  send.customer = "c1";
  send.rule = 0;
  send.step = 1;
  send.templateName = "t";
  send.to = "ann@example.com";
  send.messageId = "trig-1";
  out.clear();
  writer.append(out, send);
  CHECK(
      out ==
      R"({"decision":"send","time":"2026-01-01T00:00:00.123Z","customer":"c1","rule":")" +
          p.model.rules[0].name +
          R"(","step":1,"template":"t","variant":null,"to":"ann@example.com","subject":null,"message_id":"trig-1"})");
  CHECK(nlohmann::json::parse(out).size() == 10);
}

}  // namespace

TEST_CASE("record locations: the plan's source map prints what the sources say, at every offset") {
  testing::CheckedProgram p(
      "\xef\xbb\xbftrigger cart: when cart_add send t\r\n\n"
      "template t { subject \"s\" body \"b\" }");
  const plan::SourceMap map = plan::SourceMap::of(p.sources);
  REQUIRE(map.paths.size() == p.sources.size());
  size_t checked = 0;
  for (FileId f = 0; f < p.sources.size(); ++f) {
    const auto size = static_cast<uint32_t>(p.sources.file(f).text().size());
    for (uint32_t offset = 0; offset <= size + 2; ++offset) {
      const Loc loc{f, offset, offset};
      REQUIRE(map.format(loc) == plan::formatLoc(loc, p.sources));
      ++checked;
    }
  }
  CHECK(checked > 100);
  CHECK(map.format(Loc{}).empty());
  CHECK(map.format(Loc{static_cast<FileId>(p.sources.size()), 0, 0}).empty());
  const FileId unit = p.sources.find("unit.trig");
  REQUIRE(unit != kNoFile);
  CHECK(map.format(Loc{unit, 0, 1}) == "unit.trig:1:1");
  CHECK(map.format(Loc{unit, 35, 36}) == "unit.trig:1:36");
  CHECK(map.format(Loc{unit, 36, 37}) == "unit.trig:2:1");
  CHECK(map.format(Loc{unit, 46, 47}) == "unit.trig:3:10");
}

}  // namespace trig::engine
