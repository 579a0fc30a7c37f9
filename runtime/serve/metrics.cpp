// Counters, gauges and histograms in Prometheus's text exposition format (metrics.h).
#include "runtime/serve/metrics.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <span>

namespace trig::serve {
namespace {

constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,   0.25,   0.5,   1,    10,    60};
// Timer lateness is a few milliseconds when all is well and its target is p99 < 10 ms: buckets
// fine enough below 20 ms to tell 2 ms from 4 ms, and up to an hour for timers that fell due
// while the service was down.
constexpr std::array<double, 29> kTimerBuckets = {
    0.0005, 0.001,  0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.006, 0.008,
    0.01,   0.0125, 0.015,  0.02,  0.025,  0.03,  0.04,  0.05,  0.075, 0.1,
    0.25,   0.5,    1,      2.5,   5,      10,    60,    600,   3600};

// The bucket bounds of the histogram `name`.
std::span<const double> bucketsOf(const std::string& name) {
  if (name == "trig_timer_lateness_seconds") return kTimerBuckets;
  return kBuckets;
}

// `{a="x",b="y"}` with Prometheus's escapes, "" for no labels.
std::string labelText(const Metrics::Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first + "=\"";
    for (char c : labels[i].second) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// The shortest text that reads back as `v` (0.0025, not 0.0025000000000000001).
std::string number(double v) {
  // Counts as integers (1000000, not 1e+06).
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0)
    return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  // Fixed notation where it is short (a bucket bound of 0.0005, not 5e-04), else the shortest.
  const bool fixed = std::fabs(v) >= 1e-4 && std::fabs(v) < 1e15;
  auto [end, ec] = fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

}  // namespace

const char* Metrics::help(const std::string& name) {
  static const std::map<std::string, const char*> kHelp = {
      {"trig_events_accepted_total", "Events accepted into the log, by type."},
      {"trig_events_rejected_total", "Events rejected (sent to the dead letter), by type."},
      {"trig_events_deduplicated_total", "Events dropped as duplicates, by reason."},
      {"trig_decisions_total", "Decisions by rule, step, variant, decision and reason."},
      {"trig_deliveries_total", "Delivery attempts by result (sent, retry, failed)."},
      {"trig_http_requests_total", "HTTP requests by path and status."},
      {"trig_timers_pending", "Timers and decisions waiting in the engine."},
      {"trig_outbox_backlog", "Decided sends not yet handed to the transport."},
      {"trig_log_entries", "Entries in the accepted-event log."},
      {"trig_jit_compile_seconds", "Time the rule set took to compile at the last (re)load."},
      {"trig_decision_lateness_seconds",
       "From when a decision was due (its event's stamp, its timer's time) to when it was made "
       "and stored (wall clock only)."},
      {"trig_timer_lateness_seconds",
       "From when a timer was due (an idle wait, a flow step, a deferred send, an arbitration "
       "window's close) to when its decision record was made and stored (wall clock only)."},
      {"trig_http_connections", "HTTP connections open now."},
      {"trig_opens_total", "Opens recorded (verified open pixels), by rule and variant."},
      {"trig_clicks_total", "Clicks recorded (verified click redirects), by rule and variant."},
      {"trig_unsubscribes_total", "One-click unsubscribes recorded, by rule and variant."},
      {"trig_bounces_total",
       "Sends refused for good by the server (bounces), by rule and variant."},
      {"trig_conversions_total",
       "Goals reached after a send, by rule and variant (the engine's count over the whole "
       "log)."},
      {"trig_conversions_without_message_total",
       "Goals reached before any send of the flow, by rule (the engine's count over the whole "
       "log)."},
      {"trig_tracking_invalid_total",
       "Tracking requests whose token did not verify, by kind (open, click, unsubscribe)."},
  };
  auto it = kHelp.find(name);
  return it == kHelp.end() ? nullptr : it->second;
}

void Metrics::add(const std::string& name, const Labels& labels, uint64_t n) {
  std::lock_guard lock(mu_);
  counters_[name][labelText(labels)] += n;
}

void Metrics::setCounter(const std::string& name, const Labels& labels, uint64_t n) {
  std::lock_guard lock(mu_);
  counters_[name][labelText(labels)] = n;
}

void publishConversions(Metrics& metrics, const plan::Plan& plan, const engine::Stats& stats) {
  for (size_t i = 0; i < stats.rules.size() && i < plan.rules.size(); ++i) {
    const engine::Stats::PerRule& r = stats.rules[i];
    const std::string& rule = plan.rules[i].name;
    if (r.conversions == 0) continue;
    for (const auto& [variant, v] : r.variants)
      if (v.conversions > 0)
        metrics.setCounter("trig_conversions_total", {{"rule", rule}, {"variant", variant}},
                           v.conversions);
    if (r.conversionsWithoutMessage > 0)
      metrics.setCounter("trig_conversions_without_message_total", {{"rule", rule}},
                         r.conversionsWithoutMessage);
  }
}

void Metrics::set(const std::string& name, double value) {
  std::lock_guard lock(mu_);
  gauges_[name] = value;
}

void Metrics::observe(const std::string& name, double seconds) {
  std::lock_guard lock(mu_);
  Histogram& h = histograms_[name];
  const std::span<const double> bounds = bucketsOf(name);
  if (h.buckets.empty()) h.buckets.assign(bounds.size(), 0);
  for (size_t i = 0; i < bounds.size(); ++i)
    if (seconds <= bounds[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

uint64_t Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  if (it == counters_.end()) return 0;
  auto jt = it->second.find(labelText(labels));
  return jt == it->second.end() ? 0 : jt->second;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto header = [&](const std::string& name, const char* type) {
    if (const char* h = help(name)) out += "# HELP " + name + " " + h + "\n";
    out += "# TYPE " + name + " " + type + "\n";
  };
  for (const auto& [name, series] : counters_) {
    header(name, "counter");
    for (const auto& [labels, v] : series) out += name + labels + " " + std::to_string(v) + "\n";
  }
  for (const auto& [name, v] : gauges_) {
    header(name, "gauge");
    out += name + " " + number(v) + "\n";
  }
  for (const auto& [name, h] : histograms_) {
    header(name, "histogram");
    const std::span<const double> bounds = bucketsOf(name);
    for (size_t i = 0; i < bounds.size(); ++i)
      out +=
          name + "_bucket{le=\"" + number(bounds[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
    out += name + "_bucket{le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += name + "_sum " + number(h.sum) + "\n";
    out += name + "_count " + std::to_string(h.count) + "\n";
  }
  return out;
}

}  // namespace trig::serve
