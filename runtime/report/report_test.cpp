// The report's collector and renderers, fed from an engine run built in memory.
#include "runtime/report/report.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "compiler/interp/interp.h"
#include "compiler/interp/test_fixture.h"

namespace trig::report {
namespace {

using testing::at;
using testing::CheckedProgram;

const char* kRules = R"(
template nudge { subject "N" body "." }
trigger checkout:
  when checkout_start
  goal purchased within 1d
  split delay {
    50% fast: after 1h send nudge
    50% slow: after 3h send nudge
  }
trigger promo:
  when cart_add
  goal purchased within 1d
  split ab {
    50% mail: send nudge
    50% control: holdout
  }
)";

struct Run {
  CheckedProgram p;
  plan::Program program = plan::buildProgram(p.model, p.sources);
  interp::Interpreter interp{p.model};
  engine::Coverage coverage;
  Collector collector{program};
  std::vector<engine::Record> sends;
  std::unique_ptr<engine::Engine> engine;
  uint64_t seq = 0;

  explicit Run(const char* rules = kRules) : p(rules) {
    engine::EngineOptions o;
    o.explain = true;
    o.coverage = &coverage;
    o.sink = [this](const engine::Record& r) {
      collector.add(r);
      if (r.decision == engine::Decision::Send) sends.push_back(r);
    };
    o.trace = [this](const engine::TraceEntry& t) { collector.trace(t); };
    engine = std::make_unique<engine::Engine>(program.plan, interp, o);
  }
  void email(const std::string& c, TimeMs t) {
    Event e;
    e.kind = Event::Kind::Identify;
    e.customer = c;
    e.time = t;
    e.seq = seq++;
    e.traits = {{"email", Value::str(c + "@example.com")}};
    engine->process(e);
  }
  void track(const std::string& c, const std::string& name, TimeMs t,
             std::initializer_list<std::pair<const char*, Value>> fields = {}) {
    engine->process(p.event(name, t, fields, seq++, c));
  }
};

const StepRow* row(const RuleReport& r, uint32_t step, const std::string& variant) {
  for (const auto& s : r.steps)
    if (s.step == step && s.variant == variant) return &s;
  return nullptr;
}

TEST_CASE("report: sends, unique opens and clicks, conversions by variant") {
  Run run;
  const TimeMs t0 = at("2026-03-01T08:00:00Z");
  for (int i = 0; i < 20; ++i) run.email("c" + std::to_string(i), t0);
  for (int i = 0; i < 20; ++i) run.track("c" + std::to_string(i), "checkout_start", t0 + 60'000);
  // c0..c5 buy after both delays: each converts its variant's send.
  for (int i = 0; i < 6; ++i)
    run.track("c" + std::to_string(i), "purchased", t0 + 5 * 3'600'000,
              {{"order_id", Value::str("o" + std::to_string(i))}});
  run.engine->finish();
  REQUIRE(run.sends.size() == 20);

  // Every message is opened twice (unique: once), the even customers' clicked; one open carries
  // an id no send has; c3 unsubscribes without a message id (its latest send takes it).
  std::map<std::string, uint64_t> sentBy, clickedBy;
  TimeMs t = t0 + 6 * 3'600'000;
  for (const auto& s : run.sends) {
    ++sentBy[s.variant];
    for (int k = 0; k < 2; ++k)
      run.collector.addEvent(
          run.p.event("email_open", t, {{"message_id", Value::str(s.messageId)}}, 0, s.customer));
    if ((s.customer.back() - '0') % 2 == 0) {
      ++clickedBy[s.variant];
      run.collector.addEvent(run.p.event(
          "email_click", t,
          {{"message_id", Value::str(s.messageId)}, {"url", Value::str("https://x.example/")}}, 0,
          s.customer));
    }
  }
  run.collector.addEvent(
      run.p.event("email_open", t, {{"message_id", Value::str("nope")}}, 0, "c1"));
  run.collector.addEvent(run.p.event("unsubscribe", t, {}, 0, "c3"));
  run.collector.addEvent(run.p.event("email_bounce", t,
                                     {{"message_id", Value::str(run.sends[0].messageId)}}, 0,
                                     run.sends[0].customer));

  Report rep = run.collector.build(run.engine->stats(), run.coverage);
  CHECK(rep.engagement.opens == 41);
  CHECK(rep.engagement.clicks == clickedBy["fast"] + clickedBy["slow"]);
  CHECK(rep.engagement.unmatched == 1);
  CHECK(rep.engagement.unsubscribes == 1);
  REQUIRE(rep.rules.size() == 2);
  const RuleReport& r = rep.rules[0];
  CHECK(r.name == "checkout");
  CHECK(r.fired == 20);
  CHECK(r.converted == 6);
  CHECK(r.goalEvent == "purchased");
  CHECK(r.funnel.sent == 20);
  CHECK(r.funnel.opened == 20);
  CHECK(r.funnel.clicked == 10);
  CHECK(r.funnel.unsubscribed == 1);
  CHECK(r.funnel.bounced == 1);
  // Rows: the split is step 1, the sends step 2, fast before slow (declaration order).
  REQUIRE(r.steps.size() == 2);
  CHECK(r.steps[0].variant == "fast");
  CHECK(r.steps[1].variant == "slow");
  const StepRow* fast = row(r, 2, "fast");
  REQUIRE(fast != nullptr);
  CHECK(fast->funnel.sent == sentBy["fast"]);
  CHECK(fast->funnel.clicked == clickedBy["fast"]);
  REQUIRE(r.splits.size() == 1);
  const SplitResult& sp = r.splits[0];
  CHECK(sp.name == "delay");
  REQUIRE(sp.variants.size() == 2);
  CHECK(sp.variants[0].entered + sp.variants[1].entered == 20);
  CHECK(sp.variants[0].entered == sentBy["fast"]);
  CHECK(sp.variants[0].converted + sp.variants[1].converted == 6);
  CHECK_FALSE(sp.variants[0].versus.has_value());
  REQUIRE(sp.variants[1].versus.has_value());
  REQUIRE(sp.verdicts.size() == 1);
  CHECK(sp.verdicts[0].find("no significant difference yet") == 0);

  // The holdout rule: nothing fired (no cart_add), its split listed with empty variants.
  const RuleReport& promo = rep.rules[1];
  CHECK(promo.fired == 0);
  REQUIRE(promo.splits.size() == 1);
  CHECK(promo.splits[0].variants[1].holdout);
  CHECK(promo.splits[0].verdicts[0] == "not enough data yet: no customers in either variant");
}

TEST_CASE("report: holdout variants are the control group") {
  Run run;
  const TimeMs t0 = at("2026-03-01T08:00:00Z");
  // Events in time order: every customer's email, cart_add, then purchase.
  for (int i = 0; i < 30; ++i) run.email("h" + std::to_string(i), t0);
  for (int i = 0; i < 30; ++i)
    run.track("h" + std::to_string(i), "cart_add", t0 + 60'000, {{"product_id", Value::str("p")}});
  for (int i = 0; i < 30; ++i)
    run.track("h" + std::to_string(i), "purchased", t0 + 3'600'000,
              {{"order_id", Value::str("o" + std::to_string(i))}});
  run.engine->finish();
  Report rep = run.collector.build(run.engine->stats(), run.coverage);
  const RuleReport& promo = rep.rules[1];
  CHECK(promo.fired == 30);
  const SplitResult& sp = promo.splits[0];
  const auto& mail = sp.variants[0];
  const auto& control = sp.variants[1];
  CHECK(mail.entered + control.entered == 30);
  CHECK(control.funnel.sent == 0);
  CHECK(control.funnel.suppressed.at("holdout") == control.entered);
  // Everyone bought: both convert fully, the holdout's conversions counted without a send.
  CHECK(mail.converted == mail.entered);
  CHECK(control.converted == control.entered);
  CHECK(promo.convertedAfterMessage == mail.converted);
}

TEST_CASE("report: a split of three variants compares each with the first, the holdout") {
  Run run(R"(
template a { subject "A" body "." }
template b { subject "B" body "." }
trigger three:
  when cart_add
  goal purchased within 1d
  split trial {
    40% control: holdout
    30% short: send a
    30% long: send b
  }
)");
  const TimeMs t0 = at("2026-03-01T08:00:00Z");
  for (int i = 0; i < 60; ++i) run.email("t" + std::to_string(i), t0);
  for (int i = 0; i < 60; ++i)
    run.track("t" + std::to_string(i), "cart_add", t0 + 60'000, {{"product_id", Value::str("p")}});
  run.engine->finish();
  Report rep = run.collector.build(run.engine->stats(), run.coverage);
  REQUIRE(rep.rules.size() == 1);
  const SplitResult& sp = rep.rules[0].splits[0];
  REQUIRE(sp.variants.size() == 3);
  CHECK(sp.variants[0].name == "control");
  CHECK(sp.variants[0].entered + sp.variants[1].entered + sp.variants[2].entered == 60);
  CHECK(sp.variants[0].funnel.sent == 0);
  CHECK(sp.variants[1].funnel.sent == sp.variants[1].entered);
  REQUIRE(sp.verdicts.size() == 2);
  // No conversions anywhere: the pooled rate is 0, no test, nothing significant.
  CHECK(sp.verdicts[0].find("short vs control: no significant difference") == 0);
  CHECK(sp.verdicts[1].find("long vs control: no significant difference") == 0);
  CHECK_FALSE(sp.variants[1].versus->conversion.valid);
  // The step rows: the holdout point at the split's step, the sends at step 2.
  const StepRow* control = row(rep.rules[0], 1, "control");
  REQUIRE(control != nullptr);
  CHECK(control->funnel.suppressed.at("holdout") == sp.variants[0].entered);
}

TEST_CASE("report: conversions go to the send they followed") {
  Run run(R"(
template first { subject "1" body "." }
template second { subject "2" body "." }
trigger drip:
  when cart_add
  goal purchased within 1d
  send first
  then after 2h send second
)");
  const TimeMs t0 = at("2026-03-01T08:00:00Z");
  const TimeMs hour = 3'600'000;
  for (int i = 0; i < 10; ++i) run.email("d" + std::to_string(i), t0);
  for (int i = 0; i < 10; ++i)
    run.track("d" + std::to_string(i), "cart_add", t0 + 60'000, {{"product_id", Value::str("p")}});
  // d0..d2 buy between the two sends (of `first`; `second` is suppressed), d3..d6 after both.
  for (int i = 0; i < 3; ++i)
    run.track("d" + std::to_string(i), "purchased", t0 + hour,
              {{"order_id", Value::str("a" + std::to_string(i))}});
  for (int i = 3; i < 7; ++i)
    run.track("d" + std::to_string(i), "purchased", t0 + 4 * hour,
              {{"order_id", Value::str("b" + std::to_string(i))}});
  run.engine->finish();
  Report rep = run.collector.build(run.engine->stats(), run.coverage);
  CHECK(rep.stepConversions);
  const RuleReport& r = rep.rules[0];
  CHECK(r.converted == 7);
  REQUIRE(r.steps.size() == 2);
  CHECK(r.steps[0].funnel.sent == 10);
  CHECK(r.steps[0].funnel.converted == 3);
  CHECK(r.steps[1].funnel.sent == 7);
  CHECK(r.steps[1].funnel.converted == 4);
  CHECK(r.steps[1].funnel.suppressed.at("converted") == 3);
  CHECK(r.funnel.converted == 7);
  CHECK(renderJson(rep).find("\"converted_messages\":3") != std::string::npos);
}

VariantResult variant(const char* name, uint64_t entered, uint64_t converted) {
  VariantResult v;
  v.name = name;
  v.entered = entered;
  v.converted = converted;
  return v;
}

TEST_CASE("report: verdicts in plain words") {
  // 84/1000 vs 121/1000: p = 0.0063764274 (stats_test.cpp)
  CHECK(verdict(variant("slow", 1000, 84), variant("fast", 1000, 121), 0.02) ==
        "fast converts better than slow: 12.1% vs 8.4%, p = 0.006");
  CHECK(verdict(variant("fast", 1000, 121), variant("slow", 1000, 84), 0.02) ==
        "fast converts better than slow: 12.1% vs 8.4%, p = 0.006");
  // 50/500 vs 52/500: p = 0.8345; 0.10 vs 0.12 needs 3841 per group, 3341 more.
  CHECK(verdict(variant("a", 500, 50), variant("b", 500, 52), 0.02) ==
        "no significant difference yet (p = 0.83); about 3341 more customers per variant are "
        "needed to detect a 2-point difference");
  // Enough customers already: 400/4000 vs 401/4000.
  CHECK(verdict(variant("a", 4000, 400), variant("b", 4000, 401), 0.02)
            .find("no significant difference (p = ") == 0);
  CHECK(verdict(variant("a", 0, 0), variant("b", 10, 1), 0.02) ==
        "not enough data yet: no customers in a");
}

TEST_CASE("report: renderers are deterministic and self-contained") {
  Run run;
  const TimeMs t0 = at("2026-03-01T08:00:00Z");
  for (int i = 0; i < 8; ++i) run.email("r<" + std::to_string(i) + ">", t0);
  for (int i = 0; i < 8; ++i)
    run.track("r<" + std::to_string(i) + ">", "checkout_start", t0 + 60'000);
  run.engine->finish();
  Report rep = run.collector.build(run.engine->stats(), run.coverage);
  std::string html = renderHtml(rep);
  CHECK(html == renderHtml(rep));
  CHECK(html.find("<!DOCTYPE html>") == 0);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);
  std::string json = renderJson(rep);
  CHECK(json.find("{\"events\":16,") == 0);
  CHECK(json.find("\"name\":\"delay\"") != std::string::npos);
  std::string text = renderText(rep);
  CHECK(text.find("rule checkout") != std::string::npos);
  CHECK(text.find("split delay") != std::string::npos);
}

// Runs the checkout flow for 10 customers, c0..c3 buying; `engage` then gets the engagement
// events (opens of every send, a click of the even ones, an unknown id, an unsubscribe without
// id) one by one, `now` telling whether they come during the replay (addEventNow) or after it.
std::string engagementReport(bool now, std::optional<TimeMs> since = std::nullopt) {
  Run run;
  if (since) run.collector.countFrom(*since);
  const TimeMs t0 = at("2026-03-01T08:00:00Z");
  for (int i = 0; i < 10; ++i) run.email("c" + std::to_string(i), t0);
  for (int i = 0; i < 10; ++i)
    run.track("c" + std::to_string(i), "checkout_start", t0 + (i < 5 ? 0 : 86'400'000));
  for (int i = 0; i < 4; ++i)
    run.track("c" + std::to_string(i), "purchased", t0 + 5 * 3'600'000 + (i % 2) * 86'400'000,
              {{"order_id", Value::str("o" + std::to_string(i))}});
  run.engine->finish();
  std::vector<Event> events;
  const TimeMs t = t0 + 2 * 86'400'000;
  for (const auto& s : run.sends) {
    events.push_back(
        run.p.event("email_open", t, {{"message_id", Value::str(s.messageId)}}, 0, s.customer));
    if ((s.customer.back() - '0') % 2 == 0)
      events.push_back(run.p.event(
          "email_click", t,
          {{"message_id", Value::str(s.messageId)}, {"url", Value::str("https://x.example/")}}, 0,
          s.customer));
  }
  events.push_back(run.p.event("email_open", t, {{"message_id", Value::str("nope")}}, 0, "c1"));
  events.push_back(run.p.event("unsubscribe", t, {}, 0, "c3"));
  for (const Event& e : events) {
    if (now)
      run.collector.addEventNow(e);
    else
      run.collector.addEvent(e);
  }
  if (now) run.collector.applyDeferred();
  return renderJson(run.collector.build(run.engine->stats(), run.coverage));
}

TEST_CASE("report: engagement matched during the replay counts as after it") {
  const std::string after = engagementReport(false), during = engagementReport(true);
  CHECK(after == during);
  CHECK(after.find("\"unmatched\":1") != std::string::npos);
  CHECK(after.find("\"unsubscribes\":1") != std::string::npos);
}

TEST_CASE("report: countFrom leaves out the sends before it and what became of them") {
  const TimeMs t0 = at("2026-03-01T08:00:00Z");
  const std::string all = engagementReport(false);
  const std::string window = engagementReport(false, t0 + 86'400'000);
  // Without a window: 10 sends; from the second day on: the 5 of c5..c9 only.
  CHECK(all.find("\"sent\":10") != std::string::npos);
  CHECK(window.find("\"sent\":10") == std::string::npos);
  CHECK(window.find("\"sent\":5,") != std::string::npos);
  CHECK(window.find("\"since\":\"2026-03-02T08:00:00Z\"") != std::string::npos);
  CHECK(all.find("\"since\"") == std::string::npos);
}

// A log as `trig serve` keeps it (stamp, JSON text) for logReport: the checkout flow of 40
// customers, some purchases, opens and clicks of the sends' ids (read from a first run), an
// unknown id, an unsubscribe without id, an undeclared event, a line these rules reject, and
// product views enough to fill several of the reader's batches.
struct Log {
  std::vector<std::pair<TimeMs, std::string>> entries;

  Log() {
    const TimeMs t0 = at("2026-03-01T08:00:00Z");
    Run first;
    auto add = [&](TimeMs t, const std::string& json) { entries.emplace_back(t, json); };
    auto ts = [](TimeMs t) { return formatTimestamp(t); };
    for (int i = 0; i < 40; ++i) {
      const std::string c = "c" + std::to_string(i);
      first.email(c, t0);
      add(t0, R"({"type":"identify","userId":")" + c + R"(","timestamp":")" + ts(t0) +
                  R"(","traits":{"email":")" + c + R"(@example.com"}})");
    }
    for (int i = 0; i < 40; ++i) {
      const std::string c = "c" + std::to_string(i);
      const TimeMs t = t0 + 60'000 + i * 1000;
      first.track(c, "checkout_start", t);
      add(t, R"({"type":"track","event":"checkout_start","userId":")" + c + R"(","timestamp":")" +
                 ts(t) + R"("})");
    }
    first.engine->finish();
    TimeMs t = t0 + 5 * 3'600'000;
    for (int i = 0; i < 40; i += 3)
      add(t, R"({"type":"track","event":"purchased","userId":"c)" + std::to_string(i) +
                 R"(","timestamp":")" + ts(t) + R"(","properties":{"order_id":"o)" +
                 std::to_string(i) + R"("}})");
    t += 60'000;
    const std::string stamp = R"(","timestamp":")" + ts(t) + '"';
    for (size_t i = 0; i < first.sends.size(); ++i) {
      const auto& s = first.sends[i];
      const std::string props = R"(,"properties":{"message_id":")" + s.messageId + R"("}})";
      if (i % 4 != 3)
        add(t, R"({"type":"track","event":"email_open","userId":")" + s.customer + stamp + props);
      if (i % 2 == 0)
        add(t, R"({"type":"track","event":"email_click","userId":")" + s.customer + stamp +
                   R"(,"properties":{"message_id":")" + s.messageId +
                   R"(","url":"https://shop.example.com/"}})");
    }
    add(t, R"({"type":"track","event":"email_open","userId":"c1)" + stamp +
               R"(,"properties":{"message_id":"nope"}})");
    add(t, R"({"type":"track","event":"unsubscribe","userId":"c5)" + stamp + "}");
    add(t, R"({"type":"track","event":"wishlist_add","userId":"c6)" + stamp + "}");
    add(t, R"({"type":"track","event":"purchased","userId":"c7)" + stamp + "}");  // no order_id
    for (int i = 0; i < 5000; ++i)
      add(t, R"({"type":"track","event":"product_view","userId":"c)" + std::to_string(i % 40) +
                 stamp + R"(,"properties":{"product_id":"p1","category":"shoes","price":9.99}})");
  }

  LogScan scan() const {
    return [this](const auto& f, std::string&) {
      for (size_t i = 0; i < entries.size(); ++i)
        if (!f(i + 1, entries[i].first, entries[i].second)) break;
      return true;
    };
  }
};

// logReport's JSON and diagnostics, the log read ahead on a second thread or not.
std::pair<std::string, std::string> logJson(const Log& log, bool readAhead,
                                            std::optional<TimeMs> since = std::nullopt) {
  CheckedProgram p(kRules);
  interp::Interpreter interp(p.model);
  std::ostringstream diagnostics;
  LogInput in;
  in.scan = log.scan();
  in.diagnostics = &diagnostics;
  in.readAhead = readAhead;
  ReportOptions options;
  options.since = since;
  std::string error;
  auto rep = logReport(plan::buildProgram(p.model, p.sources), interp, in, options, error);
  REQUIRE(rep);
  return {renderJson(*rep), diagnostics.str()};
}

TEST_CASE("report: a log read ahead on a second thread gives the same report") {
  Log log;
  auto [ahead, aheadDiag] = logJson(log, true);
  auto [inline_, inlineDiag] = logJson(log, false);
  CHECK(ahead == inline_);
  CHECK(aheadDiag == inlineDiag);
  // 40 identify + 40 checkout + 14 purchases + 30 opens + 20 clicks + 3 + 5000 views (the
  // rejected purchase is not counted).
  CHECK(ahead.find("\"events\":5147,") != std::string::npos);
  CHECK(ahead.find("\"opens\":31,\"clicks\":20,\"unsubscribes\":1,") != std::string::npos);
  CHECK(ahead.find("\"unmatched\":1") != std::string::npos);
  CHECK(aheadDiag.find("log entry ") != std::string::npos);
  CHECK(aheadDiag.find("log:") != std::string::npos);  // the undeclared event's warning
  // The same with a window.
  const TimeMs since = at("2026-03-01T08:00:30Z");
  CHECK(logJson(log, true, since).first == logJson(log, false, since).first);
  CHECK(logJson(log, true, since).first != ahead);

  // And the same as the replay of the log's lines as a file (replayReport).
  const auto path = std::filesystem::temp_directory_path() /
                    ("trig-report-test-" + std::to_string(::getpid()) + ".jsonl");
  {
    std::ofstream f(path);
    for (const auto& [t, json] : log.entries) f << json << "\n";
  }
  CheckedProgram p(kRules);
  interp::Interpreter interp(p.model);
  std::ostringstream diagnostics;
  ReplayInput in;
  in.paths = {path.string()};
  in.diagnostics = &diagnostics;
  std::string error;
  auto rep =
      replayReport(plan::buildProgram(p.model, p.sources), interp, in, ReportOptions{}, error);
  std::filesystem::remove(path);
  REQUIRE(rep);
  CHECK(renderJson(*rep) == ahead);
}

TEST_CASE("report: a log's read error ends the report with it, on either thread") {
  CheckedProgram p(kRules);
  Log log;
  for (bool readAhead : {true, false}) {
    interp::Interpreter interp(p.model);
    LogInput in;
    in.readAhead = readAhead;
    in.scan = [&](const auto& f, std::string& error) {
      for (size_t i = 0; i < 3000; ++i)
        if (!f(i + 1, log.entries[i].first, log.entries[i].second)) return true;
      error = "disk on fire";
      return false;
    };
    std::string error;
    CHECK_FALSE(
        logReport(plan::buildProgram(p.model, p.sources), interp, in, ReportOptions{}, error));
    CHECK(error == "disk on fire");
  }
}

}  // namespace
}  // namespace trig::report
