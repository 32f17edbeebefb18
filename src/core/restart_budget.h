// Restart intensity (pg_auto_failover's supervisor, Erlang's MaxR/MaxT): at most `max` restarts
// in any sliding window of `window`. The restart that would exceed it is not made.
#pragma once

#include <deque>
#include <vector>

#include "core/clock.h"
#include "core/types.h"

namespace pgvigil {

class RestartBudget {
 public:
  RestartBudget(int max, Millis window);

  /// True when one more restart at `now` stays within the budget. Pure.
  bool allow(SteadyTime now) const { return used(now) < max_; }
  /// A restart was made at `at`.
  void record(SteadyTime at);
  /// Restarts within (now - window, now].
  int used(SteadyTime now) const;
  /// When the next restart is allowed: `now` when allow(now), else when the oldest restart in
  /// the window leaves it.
  SteadyTime nextAllowed(SteadyTime now) const;
  /// Forget every restart (an operator resumed a given_up target).
  void clear() { times_.clear(); }

  /// New limits (config reload); the recorded restarts are kept.
  void setLimits(int max, Millis window);
  int max() const { return max_; }
  Millis window() const { return window_; }

  /// The recorded restart times, oldest first (at most `max`), for the state file.
  std::vector<SteadyTime> times() const { return {times_.begin(), times_.end()}; }
  /// Replaces the recorded times (state file), keeping the newest `max`.
  void restore(std::vector<SteadyTime> times);

 private:
  void trim();

  int max_;
  Millis window_;
  std::deque<SteadyTime> times_;  ///< ascending; only the newest max_ can ever matter
};

}  // namespace pgvigil
