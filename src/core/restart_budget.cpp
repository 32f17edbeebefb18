#include "core/restart_budget.h"

#include <algorithm>

namespace pgvigil {

RestartBudget::RestartBudget(int max, Millis window) {
  setLimits(max, window);
}

void RestartBudget::setLimits(int max, Millis window) {
  max_ = std::max(0, max);
  window_ = std::max(Millis{0}, window);
  trim();
}

void RestartBudget::record(SteadyTime at) {
  // Keep the deque sorted even if a caller records out of order.
  times_.insert(std::upper_bound(times_.begin(), times_.end(), at), at);
  trim();
}

void RestartBudget::trim() {
  while (times_.size() > static_cast<std::size_t>(max_)) times_.pop_front();
}

int RestartBudget::used(SteadyTime now) const {
  // A restart at t is in the window while now - t < window.
  const SteadyTime horizon = now - window_;
  auto first = std::upper_bound(times_.begin(), times_.end(), horizon);
  auto last = std::upper_bound(times_.begin(), times_.end(), now);
  return static_cast<int>(std::distance(first, last));
}

SteadyTime RestartBudget::nextAllowed(SteadyTime now) const {
  if (allow(now)) return now;
  if (max_ == 0 || times_.empty()) return SteadyTime::max();  // a budget of 0 never allows
  // used(now) >= max_ and only max_ times are kept: all of them are in the window; the oldest
  // leaves it at oldest + window.
  return times_.front() + window_;
}

void RestartBudget::restore(std::vector<SteadyTime> times) {
  std::sort(times.begin(), times.end());
  times_.assign(times.begin(), times.end());
  trim();
}

}  // namespace pgvigil
