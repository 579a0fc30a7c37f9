// The engine, driven with events built in memory: what the conformance cases cannot see
// (record order and fields, message ids, safety nets, stats, many timers).
#include "runtime/engine/engine.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <functional>
#include <tuple>

#include "compiler/interp/interp.h"
#include "compiler/interp/test_fixture.h"
#include "runtime/policy/split.h"

namespace trig::engine {
namespace {

using testing::at;
using testing::CheckedProgram;

struct Run {
  CheckedProgram p;
  interp::Interpreter interp{p.model};
  std::vector<Record> records;
  std::vector<std::string> warnings;
  std::unique_ptr<Engine> engine;
  uint64_t seq = 0;

  explicit Run(const std::string& rules, bool allowErrors = false,
               const std::function<void(EngineOptions&)>& configure = {})
      : p(rules, allowErrors) {
    EngineOptions o;
    o.explain = true;
    o.sink = [this](const Record& r) { records.push_back(r); };
    o.warn = [this](const std::string& w) { warnings.push_back(w); };
    if (configure) configure(o);
    engine = std::make_unique<Engine>(plan::buildPlan(p.model), interp, o);
  }
  void identify(const std::string& customer, TimeMs t,
                std::vector<std::pair<std::string, Value>> traits) {
    Event e;
    e.kind = Event::Kind::Identify;
    e.customer = customer;
    e.time = t;
    e.seq = seq++;
    e.traits = std::move(traits);
    engine->process(e);
  }
  void email(const std::string& customer, TimeMs t = 0) {
    identify(customer, t, {{"email", Value::str(customer + "@example.com")}});
  }
  void track(const std::string& customer, const std::string& name, TimeMs t,
             std::initializer_list<std::pair<const char*, Value>> fields = {}) {
    Event e = p.event(name, t, fields, seq++, customer);
    engine->process(e);
  }
  std::string summary() {
    engine->finish();
    std::string out;
    for (const auto& r : records) {
      if (r.decision == Decision::Dropped) continue;
      out += fmt::format("{} {} {} {} {}", formatTimestamp(r.time).substr(11, 5), r.customer,
                         p.model.rules[r.rule].name, r.step, r.templateName);
      if (!r.variant.empty()) out += "/" + r.variant;
      out += r.decision == Decision::Send       ? " sent"
             : r.decision == Decision::Deferred ? " deferred"
                                                : std::string(" ") + reasonName(r.reason);
      out += "\n";
    }
    return out;
  }
};

const TimeMs T0 = at("2026-03-02T10:00:00Z");

}  // namespace

TEST_CASE("records come out by time, customer id bytes, rule declaration order, step") {
  Run run(R"(
template a { subject "A" body "." }
template b { subject "B" body "." }
trigger second_declared_first_named: when page_view priority 1 send a then send b
trigger zz_first: when page_view send b
)");
  for (const char* c : {"b", "a", "B"}) run.email(c);
  for (const char* c : {"b", "a", "B"}) run.track(c, "page_view", T0, {{"url", Value::str("/")}});
  CHECK(run.summary() ==
        "10:00 B second_declared_first_named 1 a sent\n"
        "10:00 B second_declared_first_named 2 b sent\n"
        "10:00 B zz_first 1 b outranked\n"
        "10:00 a second_declared_first_named 1 a sent\n"
        "10:00 a second_declared_first_named 2 b sent\n"
        "10:00 a zz_first 1 b outranked\n"
        "10:00 b second_declared_first_named 1 a sent\n"
        "10:00 b second_declared_first_named 2 b sent\n"
        "10:00 b zz_first 1 b outranked\n");
}

TEST_CASE("message ids depend on rule, customer, step and firing time only") {
  CHECK(messageId("r", "c1", 1, 5) == messageId("r", "c1", 1, 5));
  CHECK(messageId("r", "c1", 1, 5) != messageId("r", "c1", 2, 5));
  CHECK(messageId("r", "c1", 1, 5) != messageId("r", "c2", 1, 5));
  CHECK(messageId("r", "c1", 1, 5) != messageId("r", "c1", 1, 6));
  CHECK(messageId("r", "c1", 1, 5) != messageId("q", "c1", 1, 5));
  // The id is "trig-" and the 16 hex digits of FNV-1a-64 over "rule␟customer␟step␟firedAt"
  // (ids printed by earlier versions stay valid), negative times and leading zero digits included.
  for (auto [rule, customer, step, firedAt] :
       {std::tuple{"cart_abandon", "c42", 2u, int64_t{1767225600000}},
        std::tuple{"r", "", 0u, int64_t{-86400000}},
        std::tuple{"x", "y", 4294967295u, INT64_MIN}}) {
    std::string key = std::string(rule) + "\x1f" + customer + "\x1f" + std::to_string(step) +
                      "\x1f" + std::to_string(firedAt);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(policy::fnv1a64(key)));
    CHECK(messageId(rule, customer, step, firedAt) == std::string("trig-") + hex);
  }
  // A replay prints the same ids, and a deferred send keeps its id.
  std::vector<std::string> ids[2];
  for (auto& out : ids) {
    Run run(R"(
settings { quiet_hours 22:00-08:00 }
template a { subject "A" body "." }
trigger late: when page_view send a then after 1h send a
)");
    run.email("c1");
    run.track("c1", "page_view", at("2026-03-02T21:30:00Z"), {{"url", Value::str("/")}});
    run.engine->finish();
    for (const auto& r : run.records) out.push_back(r.messageId);
  }
  CHECK(ids[0] == ids[1]);
  REQUIRE(ids[0].size() == 3);  // sent, deferred, sent after the deferral
  CHECK(ids[0][1] == ids[0][2]);
  CHECK(ids[0][0] != ids[0][1]);
}

TEST_CASE("a send's message id is messageId() of its firing, whatever digits the time shares") {
  // The engine rewrites only the last digits of a firing time that shares the rest with the one
  // before: times across those boundaries, and across a change in the number of digits.
  Run run(R"(
template a { subject "A" body "." }
trigger t: when page_view send a
)");
  const std::vector<TimeMs> times = {5,
                                     999'999,
                                     1'000'000,
                                     1'000'001,
                                     1'999'999,
                                     2'000'000,
                                     2'000'123,
                                     9'999'999'999,
                                     T0,
                                     T0 + 1,
                                     T0 + 999'999,
                                     T0 + 1'000'000,
                                     T0 + 1'000'000 + 777,
                                     T0 + 86'400'000,
                                     T0 + 86'400'001};
  for (size_t i = 0; i < times.size(); ++i) {
    const std::string customer = "c" + std::to_string(i % 3);
    run.email(customer, times[i]);
    run.track(customer, "page_view", times[i], {{"url", Value::str("/")}});
  }
  run.engine->finish();
  std::vector<std::pair<TimeMs, std::string>> got, want;
  for (const auto& r : run.records) {
    if (r.decision != Decision::Send) continue;
    got.emplace_back(r.time, r.messageId);
    want.emplace_back(r.time, messageId("t", r.customer, 1, r.time));
  }
  CHECK(got.size() == times.size());
  CHECK(got == want);
}

TEST_CASE("quiet hours: a deferral is a record with `until`, and the send goes out then") {
  Run run(R"(
settings { quiet_hours 22:00-08:00 }
template a { subject "A" body "." }
trigger hi: when page_view send a
)");
  run.identify(
      "c1", 0,
      {{"email", Value::str("x@example.com")}, {"timezone", Value::str("Nowhere/Special")}});
  run.identify(
      "c2", 0,
      {{"email", Value::str("y@example.com")}, {"timezone", Value::str("Nowhere/Special")}});
  run.track("c1", "page_view", at("2026-03-02T23:00:00Z"), {{"url", Value::str("/")}});
  run.track("c2", "page_view", at("2026-03-02T23:00:00Z"), {{"url", Value::str("/")}});
  run.engine->finish();
  REQUIRE(run.records.size() == 4);
  CHECK(run.records[0].decision == Decision::Deferred);
  CHECK(run.records[0].until == at("2026-03-03T08:00:00Z"));
  CHECK(run.records[2].decision == Decision::Send);
  CHECK(run.records[2].time == at("2026-03-03T08:00:00Z"));
  // An unknown zone is UTC, reported once per name.
  CHECK(run.warnings.size() == 1);
  CHECK(run.warnings[0].find("Nowhere/Special") != std::string::npos);
}

TEST_CASE(
    "a template variable without a value is suppressed as missing_data, never sent with a hole") {
  // `check` refuses this rule set; the runtime's suppression is the safety net.
  Run run(R"(
template a { subject "About {{ product_name }}" body "." }
trigger r: when cart_add send a
)",
          true);
  run.email("c1");
  run.track("c1", "cart_add", T0, {{"product_id", Value::str("p")}});
  run.track("c1", "cart_add", T0 + kHour,
            {{"product_id", Value::str("p")}, {"product_name", Value::str("Lamp")}});
  CHECK(run.summary() == "10:00 c1 r 1 a missing_data\n11:00 c1 r 1 a sent\n");
  CHECK(run.records[1].subject == "About Lamp");
  CHECK(run.records[0].detail.find("product_name") != std::string::npos);
}

TEST_CASE("without bodies, a body is checked but not rendered: its missing variable still counts") {
  const std::string rules = R"(
template a { subject "Hi {{ product_id }}" body "About {{ product_name }}." }
trigger r: when cart_add send a
)";
  for (const bool bodies : {true, false}) {
    CAPTURE(bodies);
    Run run(rules, true, [&](EngineOptions& o) { o.bodies = bodies; });
    run.email("c1");
    run.track("c1", "cart_add", T0, {{"product_id", Value::str("p")}});
    run.track("c1", "cart_add", T0 + kHour,
              {{"product_id", Value::str("q")}, {"product_name", Value::str("Lamp")}});
    CHECK(run.summary() == "10:00 c1 r 1 a missing_data\n11:00 c1 r 1 a sent\n");
    CHECK(run.records[0].detail.find("product_name") != std::string::npos);
    CHECK(run.records[1].subject == "Hi q");
    CHECK(run.records[1].body == (bodies ? "About Lamp." : ""));
  }
}

TEST_CASE("a record made in a reused slot carries nothing of the records before it") {
  // Without --explain the suppressions are not kept: their slots are reused by the next record.
  Run run(R"(
template a { subject "A {{ product_id }}" body "." }
template c { subject "C" body "." }
template longer_template_name { subject "B" body "." }
trigger first: when page_view priority 2 split s { 50% x: send longer_template_name  50% y: send longer_template_name }
trigger second: when page_view priority 1 send c
trigger third: when cart_add send a
)",
          false, [](EngineOptions& o) { o.explain = false; });
  run.email("c1");
  run.track("c1", "page_view", T0, {{"url", Value::str("/")}});
  run.track("c1", "cart_add", T0 + kHour, {{"product_id", Value::str("p")}});
  run.engine->finish();
  REQUIRE(run.records.size() == 2);  // second's send was outranked, and not kept
  const Record& big = run.records[0];
  CHECK(big.decision == Decision::Send);
  CHECK(big.templateName == "longer_template_name");
  CHECK(!big.variant.empty());
  const Record& r = run.records[1];
  CHECK(r.decision == Decision::Send);
  CHECK(r.time == T0 + kHour);
  CHECK(r.customer == "c1");
  CHECK(r.rule == 2);
  CHECK(r.step == 1);
  CHECK(r.templateName == "a");
  CHECK(r.variant.empty());
  CHECK(r.to == "c1@example.com");
  CHECK(r.subject == "A p");
  CHECK(r.body == ".");
  CHECK(r.messageId == messageId("third", "c1", 1, T0 + kHour));
  CHECK(r.reason == Reason::None);
  CHECK(r.until == 0);
  CHECK(r.detail == "sent a");
  CHECK(r.event.empty());
  CHECK(r.source.empty());
}

TEST_CASE("steps count every step reached, the split one of them, its variant continuing") {
  Run run(R"(
template a { subject "A" body "." }
template b { subject "B" body "." }
template c { subject "C" body "." }
trigger flow:
  when page_view
  send a
  then split s { 50% x: after 1h send b  50% y: after 2h send b }
  then after 1h unless purchased send c
)");
  run.email("c1");
  run.track("c1", "page_view", T0, {{"url", Value::str("/")}});
  std::string s = run.summary();
  // Either variant: the split is step 2, the variant's send step 3, the last one step 4.
  bool x = s == "10:00 c1 flow 1 a sent\n11:00 c1 flow 3 b/x sent\n12:00 c1 flow 4 c/x sent\n";
  bool y = s == "10:00 c1 flow 1 a sent\n12:00 c1 flow 3 b/y sent\n13:00 c1 flow 4 c/y sent\n";
  CHECK_MESSAGE((x || y), s);
}

TEST_CASE("a new firing restarts a flow whose send waits in an open arbitration window") {
  Run run(R"(
settings { arbitration 1h }
template a { subject "A" body "." }
trigger r: when page_view send a
)");
  run.email("c1");
  run.track("c1", "page_view", T0, {{"url", Value::str("/")}});
  run.track("c1", "page_view", T0 + 10 * kMinute, {{"url", Value::str("/")}});
  // The first send is withdrawn at the new firing; the second waits for the window opened at 10:00.
  CHECK(run.summary() == "10:10 c1 r 1 a restarted\n11:00 c1 r 1 a sent\n");
}

TEST_CASE("sends deferred by quiet hours become due again together and compete") {
  Run run(R"(
settings { quiet_hours 22:00-08:00 }
template low_t { subject "L" body "." }
template high_t { subject "H" body "." }
trigger low: when page_view priority 1 send low_t
trigger high: when cart_add priority 2 send high_t
)");
  run.email("c1");
  run.track("c1", "page_view", at("2026-03-02T23:00:00Z"), {{"url", Value::str("/")}});
  run.track("c1", "cart_add", at("2026-03-03T07:00:00Z"), {{"product_id", Value::str("p")}});
  CHECK(run.summary() ==
        "23:00 c1 low 1 low_t deferred\n07:00 c1 high 1 high_t deferred\n"
        "08:00 c1 low 1 low_t outranked\n08:00 c1 high 1 high_t sent\n");
}

TEST_CASE("preemption cancels a lower-priority send deferred by quiet hours") {
  Run run(R"(
settings { quiet_hours 22:00-08:00 }
template low_t { subject "L" body "." }
template high_t { subject "H" body "." }
trigger low: when page_view priority 1 send low_t
trigger high: when cart_add priority 2 send high_t
)");
  run.email("c1");
  run.track("c1", "page_view", at("2026-03-02T23:00:00Z"), {{"url", Value::str("/")}});
  // The customer moves to Tokyo, where 02:00Z is 11:00: the high-priority send goes out at once
  // and cancels the deferred one.
  run.identify("c1", at("2026-03-03T01:00:00Z"), {{"timezone", Value::str("Asia/Tokyo")}});
  run.track("c1", "cart_add", at("2026-03-03T02:00:00Z"), {{"product_id", Value::str("p")}});
  CHECK(run.summary() ==
        "23:00 c1 low 1 low_t deferred\n02:00 c1 low 1 low_t preempted\n02:00 c1 high 1 high_t "
        "sent\n");
}

TEST_CASE("goal conversions are attributed to the send and its variant") {
  Run run(R"(
template a { subject "A" body "." }
trigger r:
  when page_view
  goal purchased within 1d
  split s { 50% x: send a  50% y: send a }
)");
  for (const char* c : {"c1", "c2", "c3", "c4"}) {
    run.email(c);
    run.track(c, "page_view", T0, {{"url", Value::str("/")}});
  }
  run.track("c1", "purchased", T0 + kHour, {{"order_id", Value::str("o")}});
  run.track("c1", "purchased", T0 + 2 * kHour, {{"order_id", Value::str("o2")}});  // counted once
  run.track("c2", "purchased", T0 + 2 * kDay, {{"order_id", Value::str("o")}});    // too late
  run.engine->finish();
  const auto& st = run.engine->stats().rules.at(0);
  CHECK(st.sends == 4);
  CHECK(st.conversions == 1);
  uint64_t variantConversions = 0, variantSends = 0;
  for (const auto& [name, v] : st.variants) {
    CHECK((name == "x" || name == "y"));
    variantConversions += v.conversions;
    variantSends += v.sends;
  }
  CHECK(variantConversions == 1);
  CHECK(variantSends == 4);
}

TEST_CASE("the goal: within D after the most recent send, or after the firing before any send") {
  Run run(R"(
template a { subject "A" body "." }
template b { subject "B" body "." }
trigger r:
  when cart_add
  goal purchased within 1d
  after 1h send a
  then after 2d send b
)");
  for (const char* c : {"c1", "c2", "c3"}) {
    run.email(c);
    run.track(c, "cart_add", T0, {{"product_id", Value::str("p")}});
  }
  // c1: before any send, a conversion of no message; c2: exactly D after its send (the end is
  // inside); c3: a moment too late, the flow goes on and b goes out.
  run.track("c1", "purchased", T0 + 30 * kMinute, {{"order_id", Value::str("o")}});
  run.track("c2", "purchased", T0 + kHour + kDay, {{"order_id", Value::str("o")}});
  run.track("c3", "purchased", T0 + kHour + kDay + 1, {{"order_id", Value::str("o")}});
  CHECK(run.summary() ==
        "10:30 c1 r 1 a converted\n"
        "11:00 c2 r 1 a sent\n11:00 c3 r 1 a sent\n"
        "11:00 c2 r 2 b converted\n"
        "11:00 c3 r 2 b sent\n");
  const auto& st = run.engine->stats().rules.at(0);
  // The summary counts what the explain records say: every instance that reached its goal.
  CHECK(st.conversions == 2);
  CHECK(st.conversionsWithoutMessage == 1);
  CHECK(st.variants.at("").conversions == 1);
}

TEST_CASE("a holdout variant gets nothing from the split on, and converts as a variant") {
  Run run(R"(
template a { subject "A" body "." }
template b { subject "B" body "." }
trigger promo:
  when cart_add
  goal purchased within 1d
  split ab { 50% mail: send a  50% control: holdout }
  then after 1h send b
)");
  // Buckets of "ID/promo/ab": c1 97 (control), c3 47 (mail).
  REQUIRE(policy::splitBucket("c1", "promo", "ab") == 97);
  REQUIRE(policy::splitBucket("c3", "promo", "ab") == 47);
  for (const char* c : {"c1", "c3"}) {
    run.email(c);
    run.track(c, "cart_add", T0, {{"product_id", Value::str("p")}});
  }
  run.track("c1", "purchased", T0 + kDay, {{"order_id", Value::str("o")}});
  CHECK(run.summary() ==
        "10:00 c1 promo 1 /control holdout\n10:00 c3 promo 2 a/mail sent\n11:00 c3 promo 3 b/mail "
        "sent\n");
  const auto& st = run.engine->stats().rules.at(0);
  CHECK(st.conversions == 1);
  CHECK(st.conversionsWithoutMessage == 0);
  CHECK(st.variants.at("control").heldOut == 1);
  CHECK(st.variants.at("control").conversions == 1);
  CHECK(st.variants.at("mail").conversions == 0);
}

TEST_CASE("await_email: a send waiting for an address can be restarted, and never goes out twice") {
  Run run(R"(
settings { await_email 10m }
template a { subject "A" body "." }
trigger r: when page_view send a
)");
  run.track("c1", "page_view", T0, {{"url", Value::str("/")}});
  // A new firing while the first send waits: the waiting one is restarted, the new one waits.
  run.track("c1", "page_view", T0 + kMinute, {{"url", Value::str("/")}});
  run.email("c1", T0 + 2 * kMinute);
  CHECK(run.summary() == "10:01 c1 r 1 a restarted\n10:02 c1 r 1 a sent\n");
  CHECK(run.engine->pendingTimers() == 0);
}

// An anonymous visitor's event (no userId): the customer `anon:<id>`.
Event anonymous(Run& run, const std::string& name, TimeMs t,
                std::initializer_list<std::pair<const char*, Value>> fields,
                const std::string& id) {
  Event e = run.p.event(name, t, fields, run.seq++, "anon:" + id);
  e.anonymousId = id;
  e.identified = false;
  return e;
}

Event anonymousIdentify(Run& run, const std::string& customer, const std::string& id, TimeMs t,
                        std::vector<std::pair<std::string, Value>> traits) {
  Event e;
  e.kind = Event::Kind::Identify;
  e.customer = customer.empty() ? "anon:" + id : customer;
  e.identified = !customer.empty();
  e.anonymousId = id;
  e.time = t;
  e.seq = run.seq++;
  e.traits = std::move(traits);
  return e;
}

TEST_CASE("a merged visitor's pending evaluations and flows end without a record") {
  Run run(R"(
settings { await_email 1h }
template a { subject "A" body "." }
template b { subject "B" body "." }
trigger r: when page_view send a then after 1d send b
trigger idle_cart: when cart_add and idle 1h send b
)");
  // The visitor: a send waiting for an address, and an idle evaluation.
  run.engine->process(anonymous(run, "page_view", T0, {{"url", Value::str("/")}}, "v1"));
  run.engine->process(
      anonymous(run, "cart_add", T0 + kMinute, {{"product_id", Value::str("p")}}, "v1"));
  CHECK(run.engine->pendingTimers() == 2);
  // Logging in: the identify with both ids merges; nothing of the visitor is left pending, and
  // the address it brings is the user's, not the visitor's.
  run.engine->process(anonymousIdentify(run, "c1", "v1", T0 + 10 * kMinute,
                                        {{"email", Value::str("ann@example.com")}}));
  CHECK(run.engine->pendingTimers() == 0);
  CHECK(run.summary() == "");
}

TEST_CASE("a merged visitor's traits fill the user's unset ones; an opt-out carries over") {
  Run run(R"(
template a { subject "Hi {{ customer.first_name | default "you" }}" body "." }
trigger r: when page_view send a
)");
  run.engine->process(anonymousIdentify(run, "", "v1", T0, {{"first_name", Value::str("Ann")}}));
  run.engine->process(anonymousIdentify(run, "", "v2", T0, {{"first_name", Value::str("Bob")}}));
  run.engine->process(anonymous(run, "unsubscribe", T0, {}, "v3"));
  run.identify("c1", T0, {{"email", Value::str("c1@example.com")}});
  run.identify("c2", T0,
               {{"email", Value::str("c2@example.com")}, {"first_name", Value::str("Bo")}});
  run.email("c3", T0);
  // c1 takes the visitor's name; c2 keeps its own; c3 takes the visitor's opt-out.
  for (const char* c : {"c1", "c2", "c3"}) {
    Event login = run.p.event("page_view", T0 + kMinute, {{"url", Value::str("/")}}, run.seq++, c);
    login.anonymousId = std::string("v") + c[1];
    run.engine->process(login);
  }
  run.engine->finish();
  std::vector<std::string> got;
  for (const auto& r : run.records)
    if (r.decision == Decision::Send)
      got.push_back(r.customer + ": " + r.subject);
    else if (r.decision == Decision::Suppressed)
      got.push_back(r.customer + ": " + reasonName(r.reason));
  CHECK(got == std::vector<std::string>{"c1: Hi Ann", "c2: Hi Bo", "c3: opted_out"});
}

TEST_CASE("a merge happens once per anonymous id; later visitor events go to the first user") {
  Run run(R"(
template a { subject "A" body "." }
trigger third: when page_view and count(page_view) within 1d >= 3 send a
)");
  run.email("c1", T0);
  run.email("c2", T0);
  run.engine->process(anonymous(run, "page_view", T0, {{"url", Value::str("/")}}, "v1"));
  Event alias;
  alias.kind = Event::Kind::Alias;
  alias.name = "alias";
  alias.customer = "c1";
  alias.anonymousId = "v1";
  alias.time = T0 + kMinute;
  alias.seq = run.seq++;
  run.engine->process(alias);
  alias.customer = "c2";  // a second merge of v1: nothing happens
  alias.time = T0 + 2 * kMinute;
  alias.seq = run.seq++;
  run.engine->process(alias);
  run.track("c2", "page_view", T0 + 3 * kMinute, {{"url", Value::str("/")}});
  run.engine->process(
      anonymous(run, "page_view", T0 + 4 * kMinute, {{"url", Value::str("/")}}, "v1"));
  run.engine->process(
      anonymous(run, "page_view", T0 + 5 * kMinute, {{"url", Value::str("/")}}, "v1"));
  CHECK(run.summary() == "10:05 c1 third 1 a sent\n");
  CHECK(run.engine->stats().events == 8);
}

TEST_CASE("a merged visitor's later event is deduplicated as the user's") {
  Run run(R"(
settings { dedup 1m }
template a { subject "A" body "." }
trigger r: when page_view send a
)");
  run.engine->process(anonymous(run, "page_view", T0, {{"url", Value::str("/a")}}, "v1"));
  Event login = run.p.event("page_view", T0 + kMinute, {{"url", Value::str("/b")}}, run.seq++);
  login.anonymousId = "v1";
  run.engine->process(login);
  // The same page, 30 seconds later, from the visitor's cookie alone: a refresh of the user's.
  run.engine->process(
      anonymous(run, "page_view", T0 + kMinute + 30000, {{"url", Value::str("/b")}}, "v1"));
  CHECK(run.engine->stats().droppedByContent == 1);
}

TEST_CASE("a hundred thousand pending idle evaluations all fire, in time order") {
  Run run(R"(
template a { subject "A" body "." }
trigger r: when cart_add and idle 1h send a
)");
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    std::string c = "c" + std::to_string(i);
    run.email(c, T0);
    run.track(c, "cart_add", T0 + i * 10, {{"product_id", Value::str("p")}});
  }
  CHECK(run.engine->pendingTimers() == static_cast<size_t>(n));
  run.engine->finish();
  CHECK(run.engine->pendingTimers() == 0);
  REQUIRE(run.records.size() == static_cast<size_t>(n));
  bool ordered = true;
  for (size_t i = 1; i < run.records.size(); ++i)
    ordered = ordered && run.records[i - 1].time <= run.records[i].time;
  CHECK(ordered);
  CHECK(run.records.back().time == T0 + (n - 1) * 10 + kHour);
}

TEST_CASE("events that are not declared count as activity; identify and passive events do not") {
  Run run(R"(
template a { subject "A" body "." }
trigger r: when cart_add and idle 1h send a
)");
  for (const char* c : {"c1", "c2", "c3"}) {
    run.email(c);
    run.track(c, "cart_add", T0, {{"product_id", Value::str("p")}});
  }
  Event other;
  other.kind = Event::Kind::Undeclared;
  other.name = "video_play";
  other.customer = "c1";
  other.time = T0 + kMinute;
  other.seq = 1000;
  run.engine->process(other);
  run.identify("c2", T0 + kMinute, {{"first_name", Value::str("Bo")}});
  run.track("c3", "email_open", T0 + kMinute, {{"message_id", Value::str("m")}});
  CHECK(run.summary() == "11:00 c2 r 1 a sent\n11:00 c3 r 1 a sent\n");
  CHECK(run.engine->stats().undeclared == 1);
}

TEST_CASE("a hard bounce suppresses every later send until an identify sets another email") {
  Run run(R"(
template a { subject "A" body "." }
trigger r: when page_view send a
)");
  auto bounce = [&](const char* c, TimeMs t, std::optional<const char*> kind) {
    if (kind)
      run.track(c, "email_bounce", t,
                {{"message_id", Value::str("m")}, {"kind", Value::str(*kind)}});
    else
      run.track(c, "email_bounce", t, {{"message_id", Value::str("m")}});
  };
  auto view = [&](const char* c, TimeMs t) {
    run.track(c, "page_view", t, {{"url", Value::str("/")}});
  };
  for (const char* c : {"c1", "c2", "c3", "c4", "c5"}) run.email(c, T0);
  // c1: no kind is hard; the same address again keeps it; another address ends it.
  bounce("c1", T0 + kMinute, std::nullopt);
  view("c1", T0 + 2 * kMinute);
  run.email("c1", T0 + 3 * kMinute);
  view("c1", T0 + 4 * kMinute);
  run.identify("c1", T0 + 5 * kMinute, {{"email", Value::str("new@example.com")}});
  view("c1", T0 + 6 * kMinute);
  // c2: a soft bounce (or any kind but "hard") changes nothing. (Customers one after the
  // other: the engine takes events in time order.)
  const TimeMs t2 = T0 + 10 * kMinute;
  bounce("c2", t2, "soft");
  bounce("c2", t2, "Hard?");
  view("c2", t2 + kMinute);
  // c3: hard and unsubscribed is opted_out; c4: hard and then no address is no_email.
  const TimeMs t3 = T0 + 20 * kMinute;
  bounce("c3", t3, "hard");
  run.track("c3", "unsubscribe", t3);
  view("c3", t3 + kMinute);
  bounce("c4", t3, "hard");
  run.identify("c4", t3, {{"email", Value::absent()}});
  view("c4", t3 + kMinute);
  // c5: a bounce before any address is ended by the first one.
  const TimeMs t5 = T0 + 30 * kMinute;
  run.identify("c5", t5, {{"email", Value::absent()}});
  bounce("c5", t5, "hard");
  run.email("c5", t5 + kMinute);
  view("c5", t5 + 2 * kMinute);
  CHECK(run.summary() ==
        "10:02 c1 r 1 a bounced\n"
        "10:04 c1 r 1 a bounced\n"
        "10:06 c1 r 1 a sent\n"
        "10:11 c2 r 1 a sent\n"
        "10:21 c3 r 1 a opted_out\n"
        "10:21 c4 r 1 a no_email\n"
        "10:32 c5 r 1 a sent\n");
}

// Events of a type whose filters read nothing of the customer, in a rule set with no idle rule,
// goal or history of the type, look no customer up unless a rule anchors (customers that never
// arrived, or arrived without an entry): the records must be those of the path that makes every
// customer's entry at its first event (customersInArrivalOrder). A filter that reads a trait, a
// condition over the history and the unsubscribe event need the customer.
TEST_CASE("events that need no customer until a rule anchors give the records of the full path") {
  const std::string rules = R"(
template a { subject "A" body "Hello {{ customer.first_name | default "you" }}." }
template b { subject "B" body "." }
trigger pages: when page_view(url starts_with "/p") after 1h send a then after 1h send b
trigger carts: when cart_add(price > 10) priority 2 send a
trigger french: when product_view(customer.country == "FR") send b
trigger calm: when checkout_start unless purchased within 1h send b
)";
  auto scenario = [&](bool arrivalOrder, std::string& flows) {
    Run run(rules, false, [&](EngineOptions& o) { o.customersInArrivalOrder = arrivalOrder; });
    run.track("x", "page_view", T0, {{"url", Value::str("/home")}});  // no rule anchors
    run.email("y", T0);
    run.identify("y", T0, {{"first_name", Value::str("Yo")}, {"country", Value::str("FR")}});
    run.track("y", "page_view", T0 + 1000, {{"url", Value::str("/p1")}});
    run.track("x", "page_view", T0 + 2000, {{"url", Value::str("/p2")}});  // no email: suppressed
    run.track("z", "cart_add", T0 + 3000,
              {{"product_id", Value::str("p")}, {"price", Value::money(Decimal::whole(12))}});
    run.track("y", "product_view", T0 + 4000, {{"product_id", Value::str("p")}});
    run.track("x", "product_view", T0 + 5000, {{"product_id", Value::str("p")}});
    run.track("y", "purchased", T0 + 6000, {{"order_id", Value::str("o")}});
    run.track("y", "checkout_start", T0 + 7000);
    run.email("w", T0 + 8000);
    run.track("w", "checkout_start", T0 + 9000);
    run.track("w", "unsubscribe", T0 + 10000);
    run.track("w", "cart_add", T0 + 11000,
              {{"product_id", Value::str("p")}, {"price", Value::money(Decimal::whole(20))}});
    run.engine->forEachFlow([&](std::string_view c, uint32_t rule, uint32_t) {
      flows += fmt::format("{} {}\n", c, run.p.model.rules[rule].name);
    });
    std::string out = run.summary();
    for (const Record& r : run.records) out += r.messageId + " " + r.detail + " " + r.body + "\n";
    return out + fmt::format("events {}\n", run.engine->stats().events);
  };
  std::string lazyFlows, fullFlows;
  const std::string lazy = scenario(false, lazyFlows);
  CHECK(lazy == scenario(true, fullFlows));
  CHECK(
      lazy.starts_with("10:00 z carts 1 a no_email\n"
                       "10:00 y french 1 b sent\n"
                       "10:00 w calm 1 b sent\n"
                       "10:00 w carts 1 a opted_out\n"
                       "11:00 y pages 1 a sent\n"
                       "11:00 x pages 1 a no_email\n"
                       "12:00 y pages 2 b sent\n"
                       "12:00 x pages 2 b no_email\n"));
  CHECK(lazy.find("Hello Yo.") != std::string::npos);
  // x's first event made no entry on the lazy path: its state dates from its first anchor.
  CHECK(fullFlows == "x pages\ny pages\n");
  CHECK(lazyFlows == "y pages\nx pages\n");
}

}  // namespace trig::engine
