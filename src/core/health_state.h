// The health state machine of one target (docs/reference.md §3): rise/fall hysteresis over rounds.
// Pure: fed a RoundResult and the time, it returns a transition (Envoy's HealthTransition,
// dnsdist's submitHealthCheckResult). No I/O, no clock, no logging: the caller alerts on kChanged
// and may shorten the next interval on kPending. docs/health-model.md describes every rule.
#pragma once

#include <optional>
#include <string_view>

#include "core/clock.h"
#include "core/round_result.h"
#include "core/types.h"

namespace pgvigil {

enum class Transition {
  kUnchanged,  ///< the round agrees with the current state
  kChanged,    ///< the state changed: alert
  kPending,    ///< the round disagrees, but the threshold is not reached yet
};
std::string_view toString(Transition t);  ///< "unchanged", "changed", "pending"

struct HealthTransition {
  Transition kind = Transition::kUnchanged;
  TargetState previous = TargetState::kUnknown;
  TargetState current = TargetState::kUnknown;
  bool changed() const { return kind == Transition::kChanged; }
  bool pending() const { return kind == Transition::kPending; }
};

/// The health of one target as seen by its rounds. Its state is one of unknown, healthy,
/// degraded, unhealthy and starting_up; restarting, given_up and paused are the restart engine's
/// overlays (TargetSupervisor).
///
/// Rules:
///  - unknown until the first round. From unknown (and after restartDone()) the first good round
///    is believed at once; failed rounds from unknown need unhealthy_after rounds as usual, the
///    state stays unknown meanwhile (kPending).
///  - healthy <-> degraded follow each good round at once: both are "up", the round says which.
///  - up -> unhealthy after unhealthy_after consecutive failed rounds.
///  - unhealthy / starting_up -> up after healthy_after consecutive good rounds.
///  - a failed round with cause starting_up or shutting_down -> starting_up at once, from any
///    state: the server answered, it is not a flap.
///  - starting_up -> unhealthy when another cause follows and the failure count (which counts
///    the starting_up rounds too) has reached unhealthy_after.
class HealthState {
 public:
  HealthState(int healthyAfter, int unhealthyAfter);

  HealthTransition onRound(const RoundResult& round, SteadyTime now);

  /// New thresholds (config reload); the counters and the state are kept.
  void setThresholds(int healthyAfter, int unhealthyAfter);
  /// A restart was reported done: counters and the timeout run start again from zero, and the
  /// next good round is believed at once (it ends the restart's grace).
  void restartDone();
  /// The failed rounds so far no longer count (restart grace ran out): counters and the timeout
  /// run start again; the starting_up run is kept (recovery goes on).
  void resetFailures();
  /// Grace ran out and the server never came up: unhealthy now (unless it answers starting_up).
  HealthTransition forceUnhealthy(SteadyTime now);

  TargetState state() const { return state_; }
  /// When the current state began; empty while unknown.
  std::optional<SteadyTime> since() const { return since_; }
  /// The cause of the latest failed round, kept until the target is up again.
  Cause cause() const { return cause_; }
  int consecutiveFailures() const { return failures_; }
  int consecutiveSuccesses() const { return successes_; }
  /// When the current unbroken run of timed-out rounds started (hang_after counts from here).
  std::optional<SteadyTime> timeoutSince() const { return timeoutSince_; }
  /// When the current unbroken run of starting_up/shutting_down answers started.
  std::optional<SteadyTime> startingUpSince() const { return startingUpSince_; }
  int healthyAfter() const { return healthyAfter_; }
  int unhealthyAfter() const { return unhealthyAfter_; }

 private:
  HealthTransition moveTo(TargetState next, SteadyTime now);

  int healthyAfter_;
  int unhealthyAfter_;
  TargetState state_ = TargetState::kUnknown;
  std::optional<SteadyTime> since_;
  Cause cause_ = Cause::kNone;
  int failures_ = 0;
  int successes_ = 0;
  bool riseAtOnce_ = true;
  std::optional<SteadyTime> timeoutSince_;
  std::optional<SteadyTime> startingUpSince_;
};

}  // namespace pgvigil
