// The service's counters: conversions published from the engine's Stats, by rule and variant.
#include "runtime/serve/metrics.h"

#include <doctest/doctest.h>

#include "compiler/interp/test_fixture.h"

namespace trig::serve {
namespace {

TEST_CASE("metrics: conversions by rule and variant come from the engine's stats") {
  testing::CheckedProgram p(R"(
template nudge { subject "N" body "." }
trigger checkout:
  when checkout_start
  goal purchased within 1d
  split delay {
    50% fast: after 1h send nudge
    50% slow: after 3h send nudge
  }
trigger plain:
  when cart_add
  goal purchased within 1d
  send nudge
trigger never:
  when cart_add
  send nudge
)");
  engine::Stats stats;
  stats.rules.resize(3);
  stats.rules[0].conversions = 7;
  stats.rules[0].conversionsWithoutMessage = 2;
  stats.rules[0].variants["fast"].conversions = 4;
  stats.rules[0].variants["slow"].conversions = 1;
  stats.rules[1].conversions = 3;
  stats.rules[1].variants[""].conversions = 3;
  stats.rules[1].variants[""].sends = 9;

  Metrics m;
  publishConversions(m, plan::buildPlan(p.model), stats);
  CHECK(m.value("trig_conversions_total", {{"rule", "checkout"}, {"variant", "fast"}}) == 4);
  CHECK(m.value("trig_conversions_total", {{"rule", "checkout"}, {"variant", "slow"}}) == 1);
  CHECK(m.value("trig_conversions_total", {{"rule", "plain"}, {"variant", ""}}) == 3);
  CHECK(m.value("trig_conversions_without_message_total", {{"rule", "checkout"}}) == 2);
  CHECK(m.value("trig_conversions_without_message_total", {{"rule", "plain"}}) == 0);

  // Published again with more: the counter is the engine's count, not a sum of publications.
  stats.rules[0].variants["fast"].conversions = 5;
  stats.rules[0].conversions = 8;
  publishConversions(m, plan::buildPlan(p.model), stats);
  publishConversions(m, plan::buildPlan(p.model), stats);
  CHECK(m.value("trig_conversions_total", {{"rule", "checkout"}, {"variant", "fast"}}) == 5);

  std::string text = m.render();
  CHECK(text.find("# TYPE trig_conversions_total counter\n") != std::string::npos);
  CHECK(text.find("trig_conversions_total{rule=\"checkout\",variant=\"fast\"} 5\n") !=
        std::string::npos);
  CHECK(text.find("rule=\"never\"") == std::string::npos);
}

TEST_CASE("metrics: timer lateness has buckets fine below 20 ms, others the common ones") {
  Metrics m;
  m.observe("trig_timer_lateness_seconds", 0.0012);
  m.observe("trig_timer_lateness_seconds", 0.0035);
  m.observe("trig_timer_lateness_seconds", 7200);  // fell due while the service was down
  m.observe("trig_decision_lateness_seconds", 0.0012);
  std::string text = m.render();
  CHECK(text.find("# HELP trig_timer_lateness_seconds From when a timer was due") !=
        std::string::npos);
  CHECK(text.find("# TYPE trig_timer_lateness_seconds histogram\n"
                  "trig_timer_lateness_seconds_bucket{le=\"0.0005\"} 0\n"
                  "trig_timer_lateness_seconds_bucket{le=\"0.001\"} 0\n"
                  "trig_timer_lateness_seconds_bucket{le=\"0.0015\"} 1\n") != std::string::npos);
  CHECK(text.find("trig_timer_lateness_seconds_bucket{le=\"0.003\"} 1\n"
                  "trig_timer_lateness_seconds_bucket{le=\"0.004\"} 2\n") != std::string::npos);
  CHECK(text.find("trig_timer_lateness_seconds_bucket{le=\"3600\"} 2\n"
                  "trig_timer_lateness_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("trig_timer_lateness_seconds_count 3\n") != std::string::npos);
  // The other histograms keep their buckets: 1 ms, then 2.5 ms.
  CHECK(text.find("trig_decision_lateness_seconds_bucket{le=\"0.001\"} 0\n"
                  "trig_decision_lateness_seconds_bucket{le=\"0.0025\"} 1\n") != std::string::npos);
  CHECK(text.find("trig_decision_lateness_seconds_bucket{le=\"0.0015\"}") == std::string::npos);
}

TEST_CASE("metrics: setCounter replaces, add adds") {
  Metrics m;
  m.add("x_total", {{"a", "1"}}, 2);
  m.setCounter("x_total", {{"a", "1"}}, 10);
  m.add("x_total", {{"a", "1"}});
  CHECK(m.value("x_total", {{"a", "1"}}) == 11);
}

}  // namespace
}  // namespace trig::serve
