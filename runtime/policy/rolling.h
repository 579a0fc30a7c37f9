#pragma once
// Rolling windows for `cap N per D` (sends per customer) and `limit N per D` (first sends per
// rule and customer): how many sends were recorded in (t - D, t]. Rolling, not calendar days.
// Memory is bounded: a window keeps only stamps still inside D of the latest one, and never more
// than the count that matters (N), because "fewer than N in the window" only needs the N most
// recent stamps.
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "compiler/support/time.h"

namespace trig::policy {

// One key's window; small enough to live in per-customer state.
class RollingWindow {
 public:
  // Stamps recorded in (t - window, t], exact up to the `keep` given to record() (beyond it the
  // older stamps are gone). Query times must not go back before the latest recorded stamp by
  // more than the window (the clock only moves forward).
  int64_t count(TimeMs t, DurationMs window) const;
  // Whether fewer than `limit` stamps are in (t - window, t].
  bool allows(TimeMs t, int64_t limit, DurationMs window) const { return count(t, window) < limit; }
  // Records a send at t, dropping stamps that can no longer count (older than t - window, or
  // beyond the `keep` most recent).
  void record(TimeMs t, DurationMs window, int64_t keep);
  bool empty() const { return stamps_.empty(); }
  // The stamps can all be forgotten at `now` (none is in (now - window, now]).
  bool expired(TimeMs now, DurationMs window) const;
  size_t size() const { return stamps_.size(); }

 private:
  std::deque<TimeMs> stamps_;  // ascending
};

// Windows by key (customer id, or rule + customer): `N per D` over many keys, with keys whose
// windows expired forgotten as time passes.
class RollingCounter {
 public:
  RollingCounter(int64_t limit, DurationMs window);

  int64_t count(const std::string& key, TimeMs t) const;
  bool allows(const std::string& key, TimeMs t) const;
  void record(const std::string& key, TimeMs t);
  // Forgets the keys with nothing in (now - window, now]. record() calls it now and then.
  void prune(TimeMs now);
  size_t keys() const { return windows_.size(); }
  int64_t limit() const { return limit_; }
  DurationMs window() const { return window_; }

 private:
  int64_t limit_;
  DurationMs window_;
  std::unordered_map<std::string, RollingWindow> windows_;
  uint64_t recordsSincePrune_ = 0;
  uint64_t pruneEvery_ = 1024;
  TimeMs latest_ = INT64_MIN;
};

}  // namespace trig::policy
