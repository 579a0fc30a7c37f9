#pragma once
// The counters of `trig serve` and their Prometheus text (docs/serve.md, "Metrics"). Every
// counter is a labelled series; the service adds to them from any thread.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/engine/engine.h"

namespace trig::serve {

class Metrics {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // Adds `n` to the counter `name` with these labels (created at 0 on first use).
  void add(const std::string& name, const Labels& labels, uint64_t n = 1);
  // Sets the counter `name` with these labels to `n` (a count kept elsewhere, published here).
  void setCounter(const std::string& name, const Labels& labels, uint64_t n);
  // Sets the gauge `name` (no labels).
  void set(const std::string& name, double value);
  // Observes a value of the histogram `name` (seconds), over fixed buckets from 1 ms to 60 s
  // (trig_timer_lateness_seconds: from 0.5 ms to 1 h, finer below 20 ms).
  void observe(const std::string& name, double seconds);
  // The value of a counter (0 when never added to), for tests and the service's own checks.
  uint64_t value(const std::string& name, const Labels& labels) const;

  // Every series, sorted by name and labels, with # HELP and # TYPE lines.
  std::string render() const;

  // One sentence per metric name, for # HELP (unknown names get none).
  static const char* help(const std::string& name);

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, uint64_t>> counters_;  // name -> labels -> value
  std::map<std::string, double> gauges_;
  std::map<std::string, Histogram> histograms_;
};

// trig_conversions_total{rule,variant}: the engine's conversions (a goal reached after a send of
// that variant; variant "" outside a split) and trig_conversions_without_message_total{rule}
// (reached before any send), as counted over the whole log since the engine was built. Called on
// the core's thread, which owns the engine.
void publishConversions(Metrics& metrics, const plan::Plan& plan, const engine::Stats& stats);

}  // namespace trig::serve
