#include "runtime/policy/rolling.h"

#include <algorithm>

namespace trig::policy {

int64_t RollingWindow::count(TimeMs t, DurationMs window) const {
  // (t - window, t]: first stamp > t - window, first stamp > t.
  auto lo = std::upper_bound(stamps_.begin(), stamps_.end(), t - window);
  auto hi = std::upper_bound(lo, stamps_.end(), t);
  return static_cast<int64_t>(hi - lo);
}

void RollingWindow::record(TimeMs t, DurationMs window, int64_t keep) {
  // Sends are decided in clock order, so t is normally the largest stamp; insert in order anyway.
  stamps_.insert(std::upper_bound(stamps_.begin(), stamps_.end(), t), t);
  const TimeMs newest = stamps_.back();
  while (!stamps_.empty() && stamps_.front() <= newest - window) stamps_.pop_front();
  // Only the `keep` most recent stamps can decide "fewer than keep": an older one is in a
  // window only if all the newer ones are too.
  if (keep > 0)
    while (static_cast<int64_t>(stamps_.size()) > keep) stamps_.pop_front();
}

bool RollingWindow::expired(TimeMs now, DurationMs window) const {
  return stamps_.empty() || stamps_.back() <= now - window;
}

RollingCounter::RollingCounter(int64_t limit, DurationMs window) : limit_(limit), window_(window) {}

int64_t RollingCounter::count(const std::string& key, TimeMs t) const {
  auto it = windows_.find(key);
  return it == windows_.end() ? 0 : it->second.count(t, window_);
}

bool RollingCounter::allows(const std::string& key, TimeMs t) const {
  return count(key, t) < limit_;
}

void RollingCounter::record(const std::string& key, TimeMs t) {
  windows_[key].record(t, window_, limit_);
  latest_ = std::max(latest_, t);
  // Amortised pruning: a sweep costs O(keys), so run it after as many records as there were
  // keys left by the previous sweep (at least 1024): memory stays within twice the live keys.
  if (++recordsSincePrune_ >= pruneEvery_) prune(latest_);
}

void RollingCounter::prune(TimeMs now) {
  recordsSincePrune_ = 0;
  std::erase_if(windows_, [&](const auto& kv) { return kv.second.expired(now, window_); });
  pruneEvery_ = std::max<uint64_t>(1024, windows_.size());
}

}  // namespace trig::policy
