#include "core/health_state.h"

#include <algorithm>

namespace pgvigil {
namespace {

/// When the round began: its own start time when the prober set one, else the time it was fed.
SteadyTime roundStart(const RoundResult& round, SteadyTime now) {
  if (round.started == SteadyTime{} || round.started > now) return now;
  return round.started;
}

bool isStartupCause(Cause c) {
  return c == Cause::kStartingUp || c == Cause::kShuttingDown;
}

}  // namespace

std::string_view toString(Transition t) {
  switch (t) {
    case Transition::kUnchanged:
      return "unchanged";
    case Transition::kChanged:
      return "changed";
    case Transition::kPending:
      return "pending";
  }
  return "unchanged";
}

HealthState::HealthState(int healthyAfter, int unhealthyAfter) {
  setThresholds(healthyAfter, unhealthyAfter);
}

void HealthState::setThresholds(int healthyAfter, int unhealthyAfter) {
  healthyAfter_ = std::max(1, healthyAfter);
  unhealthyAfter_ = std::max(1, unhealthyAfter);
}

HealthTransition HealthState::moveTo(TargetState next, SteadyTime now) {
  HealthTransition t{Transition::kChanged, state_, next};
  state_ = next;
  since_ = now;
  return t;
}

HealthTransition HealthState::onRound(const RoundResult& round, SteadyTime now) {
  const HealthTransition unchanged{Transition::kUnchanged, state_, state_};
  const HealthTransition pending{Transition::kPending, state_, state_};

  if (round.ok()) {
    ++successes_;
    failures_ = 0;
    timeoutSince_.reset();
    startingUpSince_.reset();
    const TargetState up =
        round.verdict == Verdict::kDegraded ? TargetState::kDegraded : TargetState::kHealthy;
    if (stateIsUp(state_)) {
      cause_ = Cause::kNone;
      return up == state_ ? unchanged : moveTo(up, now);
    }
    if (riseAtOnce_ || successes_ >= healthyAfter_) {
      riseAtOnce_ = false;
      cause_ = Cause::kNone;
      return moveTo(up, now);
    }
    return pending;
  }

  ++failures_;
  successes_ = 0;
  // A failed round always has a cause; one without is the prober's bug, reported as internal.
  cause_ = round.cause == Cause::kNone ? Cause::kInternal : round.cause;

  if (isStartupCause(cause_)) {
    timeoutSince_.reset();
    if (!startingUpSince_) startingUpSince_ = roundStart(round, now);
    return state_ == TargetState::kStartingUp ? unchanged : moveTo(TargetState::kStartingUp, now);
  }

  startingUpSince_.reset();
  if (cause_ == Cause::kTimeout) {
    if (!timeoutSince_) timeoutSince_ = roundStart(round, now);
  } else {
    timeoutSince_.reset();
  }
  if (state_ == TargetState::kUnhealthy) return unchanged;
  if (failures_ < unhealthyAfter_) return pending;
  // Seen failing from the start: from now on a recovery needs healthy_after good rounds.
  if (state_ == TargetState::kUnknown) riseAtOnce_ = false;
  return moveTo(TargetState::kUnhealthy, now);
}

void HealthState::restartDone() {
  failures_ = 0;
  successes_ = 0;
  timeoutSince_.reset();
  riseAtOnce_ = true;
}

void HealthState::resetFailures() {
  failures_ = 0;
  successes_ = 0;
  timeoutSince_.reset();
  riseAtOnce_ = false;
}

HealthTransition HealthState::forceUnhealthy(SteadyTime now) {
  resetFailures();
  if (state_ == TargetState::kUnhealthy || state_ == TargetState::kStartingUp)
    return HealthTransition{Transition::kUnchanged, state_, state_};
  return moveTo(TargetState::kUnhealthy, now);
}

}  // namespace pgvigil
