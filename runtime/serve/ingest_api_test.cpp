// The ingest API's bodies (ingest_api.h) and the metrics text (metrics.h).
#include <doctest/doctest.h>

#include "runtime/serve/ingest_api.h"
#include "runtime/serve/metrics.h"

using namespace trig;
using namespace trig::serve;

TEST_CASE("ingest api: a single call gets its type") {
  ParsedBody p = parseBody(Call::Identify, R"({"userId":"u1","traits":{}})");
  REQUIRE(p.status == 200);
  REQUIRE(p.items.size() == 1);
  CHECK(p.items[0] == R"({"type":"identify","userId":"u1","traits":{}})");
  p = parseBody(Call::Track, R"({ })");
  CHECK(p.items[0] == R"({"type":"track" })");
  p = parseBody(Call::Page, R"({"type":"page","userId":"u"})");
  CHECK(p.items[0] == R"({"type":"page","userId":"u"})");
  p = parseBody(Call::Track, R"({"type":"identify","userId":"u"})");
  CHECK(p.status == 400);
  CHECK(p.errors.at(0).reason == "'type' is \"identify\" in a call to /v1/track");
}

TEST_CASE("ingest api: malformed bodies name the column") {
  ParsedBody p = parseBody(Call::Track, R"({"userId":)");
  CHECK(p.status == 400);
  CHECK(p.errors.at(0).reason.starts_with("malformed JSON at column 11"));
  CHECK(p.errors.at(0).raw == R"({"userId":)");
  CHECK(parseBody(Call::Track, "[1]").errors.at(0).reason == "the body must be a JSON object");
  CHECK(parseBody(Call::Track, "{} x").status == 400);
  CHECK(parseBody(Call::Batch, R"({"items":[]})").errors.at(0).reason ==
        "the body must be {\"batch\":[...]}");
}

TEST_CASE("ingest api: a batch keeps the good items and rejects the rest by index") {
  std::string big = "{\"p\":\"" + std::string(kMaxEventBytes, 'x') + "\"}";
  ParsedBody p = parseBody(Call::Batch, "{\"batch\":[{\"a\":1}, 7, " + big + ", {\"b\":2}]}");
  CHECK(p.status == 200);
  REQUIRE(p.items.size() == 2);
  CHECK(p.items[0] == R"({"a":1})");
  CHECK(p.items[1] == R"({"b":2})");
  CHECK(p.indexes == std::vector<size_t>{0, 3});
  REQUIRE(p.errors.size() == 2);
  CHECK(p.errors[0].index == 1);
  CHECK(p.errors[0].reason == "a batch item must be a JSON object");
  CHECK(p.errors[1].index == 2);
  CHECK(p.errors[1].reason.find("more than the 32 KB") != std::string::npos);
  CHECK(parseBody(Call::Batch, R"({"batch":[]})").items.empty());
}

TEST_CASE("ingest api: size limits") {
  std::string event = "{\"p\":\"" + std::string(kMaxEventBytes, 'x') + "\"}";
  CHECK(parseBody(Call::Track, event).status == 413);
  CHECK(parseBody(Call::Batch, std::string(kMaxBatchBytes + 1, ' ')).status == 413);
}

TEST_CASE("ingest api: the stamp replaces the timestamp, the sent one is kept") {
  const TimeMs t = 1767261600000;  // 2026-01-01T10:00:00Z
  CHECK(
      withStamp(R"({"type":"track","timestamp":"2020-01-01T00:00:00Z","x":[1,{"y":2}]})", t) ==
      R"({"timestamp":"2026-01-01T10:00:00Z","type":"track","originalTimestamp":"2020-01-01T00:00:00Z","x":[1,{"y":2}]})");
  CHECK(withStamp(R"({"a":"\u00e9"})", t) ==
        R"({"timestamp":"2026-01-01T10:00:00Z","a":"\u00e9"})");
  CHECK(withStamp(R"({"timestamp":"x","originalTimestamp":"y"})", t) ==
        R"({"timestamp":"2026-01-01T10:00:00Z","originalTimestamp":"y"})");
}

TEST_CASE("ingest api: the pixel's query becomes a track") {
  std::string error;
  CHECK(
      pixelEvent("k=key&e=page_view&u=u%201&url=https%3A%2F%2Fx.example%2F&n=3", error) ==
      R"({"type":"track","event":"page_view","userId":"u 1","properties":{"url":"https://x.example/","n":"3"}})");
  CHECK(pixelEvent("e=x", error).empty());
  CHECK(error == "the pixel needs e=EVENT and u=USER");
  CHECK(pixelEvent("e=x&u=%zz", error).empty());
  CHECK(error == "malformed percent-escape in the query");
  std::string out;
  CHECK_FALSE(percentDecode("%4", out));
  CHECK(percentDecode("a+b%41", out));
  CHECK(out == "a bA");
}

TEST_CASE("ingest api: metrics in Prometheus's text format") {
  Metrics m;
  m.add("trig_events_accepted_total", {{"type", "track"}}, 2);
  m.add("trig_events_accepted_total", {{"type", "track"}});
  m.add("trig_decisions_total", {{"rule", "a\"b"}});
  m.set("trig_timers_pending", 4);
  m.observe("trig_decision_lateness_seconds", 0.003);
  CHECK(m.value("trig_events_accepted_total", {{"type", "track"}}) == 3);
  std::string text = m.render();
  CHECK(text.find("# TYPE trig_events_accepted_total counter\n"
                  "trig_events_accepted_total{type=\"track\"} 3\n") != std::string::npos);
  CHECK(text.find("trig_decisions_total{rule=\"a\\\"b\"} 1\n") != std::string::npos);
  CHECK(text.find("trig_timers_pending 4\n") != std::string::npos);
  CHECK(text.find("trig_decision_lateness_seconds_bucket{le=\"0.0025\"} 0\n") != std::string::npos);
  CHECK(text.find("trig_decision_lateness_seconds_bucket{le=\"0.005\"} 1\n") != std::string::npos);
  CHECK(text.find("trig_decision_lateness_seconds_count 1\n") != std::string::npos);
}
