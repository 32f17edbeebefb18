// The restart policy of one target: the decisions. What each event says is supervisor_events.cpp.
#include "core/target_supervisor.h"

#include <algorithm>
#include <initializer_list>

#include "core/connection_holders.h"
#include "core/restart_output.h"
#include "core/restart_path.h"
#include "core/supervisor_events.h"

namespace pgvigil {
namespace {

using std::chrono::duration_cast;

using supervisor_events::durationText;
namespace ev = supervisor_events;

Millis ceilMillis(SteadyTime::duration d) {
  return std::chrono::ceil<Millis>(std::max(d, SteadyTime::duration::zero()));
}

/// When the round that confirms a hang must start so that its verdict — no answer within the
/// target's `timeout` — lands at the instant hang_after is reached.
std::optional<SteadyTime> hangProbeAt(std::optional<SteadyTime> hangAt, Millis timeout) {
  if (!hangAt) return std::nullopt;
  return *hangAt - timeout;
}

/// The earliest of `times` after `now`.
std::optional<SteadyTime> earliestAfter(SteadyTime now,
                                        std::initializer_list<std::optional<SteadyTime>> times) {
  std::optional<SteadyTime> best;
  for (const auto& t : times)
    if (t && *t > now && (!best || *t < *best)) best = t;
  return best;
}

}  // namespace

TargetSupervisor::TargetSupervisor(const TargetConfig& config, Random01 random, WallTime startedAt)
    : config_(config),
      random_(std::move(random)),
      health_(config.healthy_after, config.unhealthy_after),
      backoff_(config.restart.backoff),
      budget_(config.restart.budget.max, config.restart.budget.window),
      since_(startedAt) {}

void TargetSupervisor::reconfigure(const TargetConfig& config) {
  // Another place to read recovery from: the last reading says nothing about it (the total rule
  // until the next one); the progress already seen still counts.
  if (!(config.recovery == config_.recovery)) recoveryReading_.reset();
  config_ = config;
  health_.setThresholds(config.healthy_after, config.unhealthy_after);
  backoff_ = Backoff(config.restart.backoff);
  budget_.setLimits(config.restart.budget.max, config.restart.budget.window);
}

// ---------------------------------------------------------------------------------------------
// Displayed state and events

TargetState TargetSupervisor::computeDisplayed() const {
  if (paused_) return TargetState::kPaused;
  if (restartInFlight_) return TargetState::kRestarting;
  if (givenUp_) return TargetState::kGivenUp;
  if (graceUntil_) {
    // Waiting for it to come up after a restart; "starting up" says more when the server says so.
    return health_.state() == TargetState::kStartingUp ? TargetState::kStartingUp
                                                       : TargetState::kRestarting;
  }
  return health_.state();
}

WallTime TargetSupervisor::toWall(SteadyTime t, SteadyTime now, WallTime wallNow) const {
  return wallNow + duration_cast<WallTime::duration>(t - now);
}

supervisor_events::EventBase TargetSupervisor::eventBase(WallTime wallNow) const {
  // The cause belongs to a state that is not up; a healthy target's event carries none.
  return {wallNow, config_.name, stateIsUp(computeDisplayed()) ? Cause::kNone : health_.cause()};
}

void TargetSupervisor::emit(Action& a, AlertEvent event, WallTime wallNow) {
  const TargetState now = computeDisplayed();
  event.state = now;
  if (now != displayed_) {
    event.previous_state = displayed_;
    displayed_ = now;
    since_ = wallNow;
  }
  a.events.push_back(std::move(event));
}

void TargetSupervisor::settle(Action& a, WallTime wallNow, const RoundResult* round) {
  const TargetState now = computeDisplayed();
  if (now == displayed_) return;
  const TargetState before = displayed_;
  const std::string roundMsg = round && !round->message.empty() ? round->message : std::string();
  const auto base = eventBase(wallNow);
  switch (now) {
    case TargetState::kHealthy:
      emit(a, ev::targetHealthy(base, before), wallNow);
      return;
    case TargetState::kDegraded:
      emit(a, ev::targetDegraded(base, round ? round->degraded_reason : std::string()), wallNow);
      return;
    case TargetState::kUnhealthy:
      emit(a,
           ev::targetUnhealthy(base, roundMsg, health_.consecutiveFailures(),
                               round ? round->phase : Phase::kNone),
           wallNow);
      return;
    case TargetState::kStartingUp:
      emit(a, ev::targetStartingUp(base, roundMsg), wallNow);
      return;
    case TargetState::kGivenUp:
      emit(a, ev::restartGivenUpState(base), wallNow);
      return;
    case TargetState::kPaused:
      emit(a, ev::targetPausedState(base), wallNow);
      return;
    case TargetState::kRestarting:
      emit(a, ev::restartRequestedState(base), wallNow);
      return;
    case TargetState::kUnknown:
      displayed_ = now;  // never an alert for "nothing known yet"
      since_ = wallNow;
      return;
  }
}

void TargetSupervisor::connectionEvents(Action& a, const RoundResult& round, WallTime wallNow) {
  if (!round.connections) return;
  lastConnections_ = round.connections;
  if (lastConnections_->measured_at == WallTime{}) lastConnections_->measured_at = wallNow;
  // Never a silent 0: a role that cannot see the others' sessions is said once (again after
  // it could see them all), and so is a threshold that this server can never reach.
  if (!round.connections->sees_all && !visibilityWarned_) {
    visibilityWarned_ = true;
    emit(a, ev::connectionsVisibilityLimited(eventBase(wallNow), *round.connections), wallNow);
  } else if (round.connections->sees_all) {
    visibilityWarned_ = false;
  }
  if (round.connections->usable != unreachableWarned_) {
    if (auto why = unreachableThresholds(*round.connections, config_.connections)) {
      unreachableWarned_ = round.connections->usable;
      emit(a,
           ev::connectionsThresholdsUnreachable(eventBase(wallNow), *round.connections,
                                                config_.connections, std::move(*why)),
           wallNow);
    }
  }
  const ConnLevel level = round.connections_critical ? ConnLevel::kCritical
                          : round.connections_warn   ? ConnLevel::kWarn
                                                     : ConnLevel::kOk;
  if (level == connLevel_) return;
  connLevel_ = level;
  const ConnectionStats& c = *round.connections;
  const auto base = eventBase(wallNow);
  switch (level) {
    case ConnLevel::kCritical:
      emit(a, ev::connectionsCritical(base, c, config_.connections.critical), wallNow);
      return;
    case ConnLevel::kWarn:
      emit(a, ev::connectionsWarning(base, c, config_.connections.warn), wallNow);
      return;
    case ConnLevel::kOk:
      emit(a, ev::connectionsOk(base, c), wallNow);
      return;
  }
}

void TargetSupervisor::certificateEvents(Action& a, const RoundResult& round, WallTime wallNow) {
  if (!round.server_cert_not_after || config_.tls_expiry_warning <= Millis{0}) return;
  const WallTime notAfter = *round.server_cert_not_after;
  if (certWarned_ == notAfter || notAfter - wallNow > config_.tls_expiry_warning) return;
  certWarned_ = notAfter;
  emit(a, ev::certificateExpiring(eventBase(wallNow), notAfter, config_.tls_expiry_warning),
       wallNow);
}

// ---------------------------------------------------------------------------------------------
// Rounds and restart decisions

Action TargetSupervisor::onRound(const RoundResult& round, SteadyTime now, WallTime wallNow) {
  Action a;
  lastRound_ = round;
  if (round.ok()) {
    lastSuccess_ = round.checked_at == WallTime{} ? wallNow : round.checked_at;
  } else {
    ++failuresTotal_[round.cause == Cause::kNone ? Cause::kInternal : round.cause];
  }
  connectionEvents(a, round, wallNow);
  certificateEvents(a, round, wallNow);

  if (startGraceUntil_ && (round.ok() || now >= *startGraceUntil_)) startGraceUntil_.reset();
  const HealthTransition t = health_.onRound(round, now);
  a.confirmSoon = t.pending();
  if (graceUntil_ && round.ok()) graceUntil_.reset();  // the first good round ends the grace
  if (round.ok() && stateIsUp(health_.state())) backToUp(a);

  const std::size_t before = a.events.size();
  settle(a, wallNow, &round);
  if (outageSince_ && round.ok() && !restartInFlight_ && !graceUntil_) {
    // Up again after a restart: how long clients were without a server.
    const WallTime upAt = round.checked_at == WallTime{} ? wallNow : round.checked_at;
    const Millis outage =
        std::chrono::floor<Millis>(std::max(upAt - *outageSince_, WallTime::duration::zero()));
    outageSince_.reset();
    if (!history_.empty() && !history_.back().outage) history_.back().outage = outage;
    for (std::size_t i = before; i < a.events.size(); ++i)
      if (a.events[i].event == "target_healthy" || a.events[i].event == "target_degraded")
        ev::addOutage(a.events[i], outage);
  }
  considerRestart(a, now, wallNow);
  return a;
}

void TargetSupervisor::backToUp(Action& a) {
  givenUp_ = false;
  // An operator's stop is announced once until the service runs again, whatever the rounds say.
  if (!(operatorStopped_ && deferred_ == defer::kOperatorStopped)) deferred_.clear();
  if (restartInFlight_) return;  // the attempt in flight is counted when it finishes
  if (attempts_ != 0) a.persist = true;
  attempts_ = 0;
  lastAttemptUnreachable_ = false;
  currentBackoff_ = Millis{0};
}

std::optional<SteadyTime> TargetSupervisor::backoffEnd() const {
  if (attempts_ == 0 || !lastAttemptEnd_) return std::nullopt;
  return *lastAttemptEnd_ + currentBackoff_;
}

void TargetSupervisor::deferRestart(Action& a, std::string_view reason,
                                    const std::function<std::string()>& msg, WallTime wallNow,
                                    std::optional<SteadyTime> possibleAt, SteadyTime now) {
  // Once per reason (and, for causes that never restart, per cause), not once per round.
  std::string key(reason);
  if (reason == defer::kNotRestartable) key += "/" + std::string(toString(health_.cause()));
  if (deferred_ == key) return;
  deferred_ = key;
  std::optional<WallTime> at;
  if (possibleAt) at = toWall(*possibleAt, now, wallNow);
  AlertEvent e = ev::restartDeferred(eventBase(wallNow), reason, msg(), at);
  // Which rule recovery_grace follows: while progress is read, restart_possible_at is the
  // earliest instant (no progress from now on); each progress moves it (/status shows it).
  if (reason == defer::kStartingUp)
    e.fields.emplace_back("rule", progressRule() ? "no_progress" : "total");
  emit(a, std::move(e), wallNow);
}

void TargetSupervisor::considerRestart(Action& a, SteadyTime now, WallTime wallNow) {
  const RestartConfig& rc = config_.restart;
  if (rc.method == RestartMethod::kNone) return;  // alerts only
  if (paused_ || restartInFlight_ || graceUntil_ || givenUp_) return;
  if (startGraceUntil_ && now < *startGraceUntil_) return;
  const TargetState hs = health_.state();
  if (hs != TargetState::kUnhealthy && hs != TargetState::kStartingUp) return;
  if (health_.consecutiveFailures() < health_.unhealthyAfter()) return;
  const Cause cause = health_.cause();

  if (operatorStopped_) {
    deferRestart(a, defer::kOperatorStopped, ev::deferredOperatorStopped, wallNow, std::nullopt,
                 now);
    return;
  }
  std::string why;
  if (hs == TargetState::kStartingUp) {
    const SteadyTime stuckAt = *startingUpDeadline();
    if (now < stuckAt) {
      deferRestart(
          a, defer::kStartingUp,
          [&] { return ev::deferredStartingUp(cause, rc.recovery_grace, progressRule()); }, wallNow,
          stuckAt, now);
      return;
    }
    why = progressRule() ? ev::whyStalled(cause, rc.recovery_grace, progressSource_, progressValue_)
                         : ev::whyStuck(cause, rc.recovery_grace);
  } else if (cause == Cause::kTimeout) {
    const SteadyTime hangAt = *health_.timeoutSince() + rc.hang_after;
    if (now < hangAt) {
      deferRestart(
          a, defer::kHangAfter, [&] { return ev::deferredHangAfter(rc.hang_after); }, wallNow,
          hangAt, now);
      return;
    }
    why = ev::whyHung(ceilMillis(now - *health_.timeoutSince()));
  } else if (causeIsDownOrHung(cause)) {
    why = ev::whyDown(cause, health_.consecutiveFailures());
  } else if (cause == Cause::kDns && serviceFailed_) {
    why = ev::whyDown(cause, health_.consecutiveFailures()) +
          " (the service manager saw it die; a stopped container's name does not resolve)";
  } else {
    deferRestart(
        a, defer::kNotRestartable, [&] { return ev::deferredNotRestartable(cause); }, wallNow,
        std::nullopt, now);
    return;
  }

  if (auto end = backoffEnd(); end && now < *end) {
    deferRestart(a, defer::kBackoff, ev::deferredBackoff, wallNow, *end, now);
    return;
  }
  if (!budget_.allow(now)) {
    givenUp_ = true;
    // When the last attempt never reached the restarter, that is why the budget is spent: say
    // so, not the target's cause (refused) that no attempt could have cured.
    ev::EventBase base = eventBase(wallNow);
    if (lastAttemptUnreachable_) base.cause = Cause::kRestarterUnreachable;
    emit(a, ev::restartGivenUp(base, budget_.used(now), budget_.max(), budget_.window()), wallNow);
    return;
  }
  startRestart(a, "auto", why, now, wallNow);
}

void TargetSupervisor::startRestart(Action& a, std::string_view reason, std::string msg,
                                    SteadyTime now, WallTime wallNow) {
  restartInFlight_ = true;
  restartReason_ = std::string(reason);
  restartStarted_ = now;
  restartCause_ = health_.cause();
  ++attempts_;
  deferred_.clear();
  a.restart = true;
  a.reason = restartReason_;
  ev::RestartRequest r;
  r.reason = restartReason_;
  r.why = std::move(msg);
  r.method = config_.restart.method;
  r.attempt = attempts_;
  r.budget_used = budget_.used(now) + 1;
  r.budget_max = budget_.max();
  r.consecutive_failures = health_.consecutiveFailures();
  r.clients = lastConnections_ ? &*lastConnections_ : nullptr;
  if (lastConnections_) {
    restartSessions_ = lastConnections_->used;
    restartApplications_ = blastRadiusApplications(*lastConnections_);
  } else {
    restartSessions_.reset();
    restartApplications_.clear();
  }
  if (!outageSince_) outageSince_ = lastSuccess_ ? *lastSuccess_ : wallNow;
  emit(a, ev::restartRequested(eventBase(wallNow), r), wallNow);
}

Action TargetSupervisor::onRestartFinished(const RestartOutcome& outcome, ServiceState service,
                                           SteadyTime now, WallTime wallNow) {
  Action a;
  if (!restartInFlight_) {
    a.refused = "no restart in progress";
    return a;
  }
  restartInFlight_ = false;
  const Millis took = outcome.took.count() > 0 ? outcome.took : ceilMillis(now - restartStarted_);
  const WallTime startedWall = toWall(restartStarted_, now, wallNow);
  // The end of a failed attempt's output, for the history and restart_failed alike.
  const std::string outputTail =
      outcome.succeeded() ? std::string() : restartOutputTail(outcome.output);
  auto addHistory = [&](std::string result) {
    history_.push_back(RestartRecord{startedWall, restartReason_, std::move(result), outcome.detail,
                                     took, restartSessions_, restartApplications_, std::nullopt,
                                     outputTail});
    while (history_.size() > StateStore::kMaxHistory) history_.pop_front();
  };
  a.persist = true;

  if (outcome.result == RestartOutcome::Result::kOperatorStopped) {
    // Not attempted: an operator stopped the service on purpose. Not a restart, not a failure.
    attempts_ = std::max(0, attempts_ - 1);
    operatorStopped_ = true;
    addHistory(std::string(toString(outcome.result)));
    deferred_ = std::string(defer::kOperatorStopped);
    emit(a, ev::restartNotMadeOperatorStopped(eventBase(wallNow), outcome.detail), wallNow);
    return a;
  }
  if (service == ServiceState::kOperatorStopped)
    operatorStopped_ = true;
  else if (service == ServiceState::kRunning || service == ServiceState::kFailed)
    operatorStopped_ = false;

  budget_.record(restartStarted_);
  addHistory(std::string(toString(outcome.result)));
  lastAttemptEnd_ = now;
  currentBackoff_ =
      backoff_.get(static_cast<unsigned>(std::max(0, attempts_ - 1)), random_ ? random_() : 0.5);
  ev::RestartAttempt attempt;
  attempt.reason = restartReason_;
  attempt.attempt = attempts_;
  attempt.took = took;
  attempt.detail = outcome.detail;
  attempt.output = outputTail;
  attempt.budget_used = budget_.used(now);
  attempt.budget_max = budget_.max();
  ev::EventBase base = eventBase(wallNow);
  base.cause = restartCause_;
  // An attempt that never reached the restarter (no Docker socket, D-Bus refused, not allowed,
  // no such unit, command not startable) has its own cause: the target's would mislead.
  lastAttemptUnreachable_ = restartResultIsPathFailure(outcome.result);
  if (lastAttemptUnreachable_) base.cause = Cause::kRestarterUnreachable;

  if (outcome.succeeded()) {
    ++restartsSucceeded_;
    health_.restartDone();
    graceUntil_ = now + config_.restart.grace;
    a.probeNow = true;  // see whether it is up without waiting a whole interval
    emit(a, ev::restartSucceeded(base, attempt, config_.restart.grace), wallNow);
    return a;
  }

  ++restartsFailed_;
  deferred_ =
      std::string(defer::kBackoff);  // restart_failed already says when the next one may come
  // The next attempt is due when the backoff ends (considerRestart, from a round or the tick at
  // that instant). If the budget does not allow a restart at that moment, the engine would give
  // up then, not wait for the budget: say so now, and give up now, rather than announce a retry
  // that will never be made.
  const SteadyTime next = *backoffEnd();
  if (!budget_.allow(next)) {
    emit(a, ev::restartFailed(base, attempt, outcome.result, currentBackoff_, std::nullopt, true),
         wallNow);
    givenUp_ = true;
    ev::EventBase givenBase = eventBase(wallNow);
    if (lastAttemptUnreachable_) givenBase.cause = Cause::kRestarterUnreachable;
    emit(a, ev::restartGivenUp(givenBase, budget_.used(now), budget_.max(), budget_.window()),
         wallNow);
    return a;
  }
  emit(
      a,
      ev::restartFailed(base, attempt, outcome.result, currentBackoff_, toWall(next, now, wallNow)),
      wallNow);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Service manager, operator, time

Action TargetSupervisor::onServiceState(ServiceState service, SteadyTime now, WallTime wallNow) {
  Action a;
  switch (service) {
    case ServiceState::kOperatorStopped:
      // Our own restart stops the service for a moment: that is not an operator's stop.
      if (restartInFlight_ || operatorStopped_) break;
      operatorStopped_ = true;
      serviceFailed_ = false;
      a.probeNow = true;
      if (config_.restart.method != RestartMethod::kNone && !paused_)
        deferRestart(a, defer::kOperatorStopped, ev::deferredOperatorStoppedByService, wallNow,
                     std::nullopt, now);
      break;
    case ServiceState::kRunning:
      serviceFailed_ = false;
      if (operatorStopped_) {
        operatorStopped_ = false;
        if (deferred_ == defer::kOperatorStopped) deferred_.clear();
        // Started by an operator: seen with compose, the rounds of the stop plus one refused
        // round while the entrypoint ran made a restart at once, whose stop then waited for
        // Docker's SIGKILL. It gets restart.grace to come up, as after a restart of ours.
        health_.resetFailures();
        startGraceUntil_ = now + config_.restart.grace;
        a.probeNow = true;
      }
      break;
    case ServiceState::kFailed:
      // A crash seen by the service manager: confirm it with a probe before anything acts.
      operatorStopped_ = false;
      serviceFailed_ = true;
      startGraceUntil_.reset();
      if (deferred_ == defer::kOperatorStopped) deferred_.clear();
      a.probeNow = true;
      break;
    case ServiceState::kNotFound:
      serviceFailed_ = false;
      break;
    case ServiceState::kUnknown:
      break;
  }
  return a;
}

Action TargetSupervisor::pause(std::optional<Millis> duration, SteadyTime now, WallTime wallNow) {
  Action a;
  // The HTTP router and the CLI bound `for` already; this keeps now + duration from ever
  // overflowing steady_clock nanoseconds, whoever the caller is.
  if (duration && (*duration < Millis{0} || *duration > kMaxPause)) {
    a.refused = "a pause lasts from 0s to " +
                std::to_string(std::chrono::floor<std::chrono::days>(kMaxPause).count()) +
                "d, got " + durationText(*duration);
    return a;
  }
  paused_ = true;
  pausedUntil_.reset();
  std::optional<WallTime> until;
  if (duration) {
    pausedUntil_ = now + *duration;
    until = toWall(*pausedUntil_, now, wallNow);
  }
  a.persist = true;
  emit(a, ev::targetPaused(eventBase(wallNow), duration, until), wallNow);
  return a;
}

void TargetSupervisor::endPause(Action& a, std::string msg, WallTime wallNow) {
  paused_ = false;
  pausedUntil_.reset();
  a.persist = true;
  a.probeNow = true;
  emit(a, ev::targetResumed(eventBase(wallNow), std::move(msg)), wallNow);
}

Action TargetSupervisor::resume(SteadyTime now, WallTime wallNow) {
  (void)now;
  Action a;
  if (!paused_ && !givenUp_) {
    a.refused = "not paused and not given up";
    return a;
  }
  std::string msg = "resumed by an operator";
  if (givenUp_) {
    givenUp_ = false;
    budget_.clear();
    attempts_ = 0;
    currentBackoff_ = Millis{0};
    lastAttemptEnd_.reset();
    deferred_.clear();
    msg += "; the restart budget starts afresh";
  }
  endPause(a, std::move(msg), wallNow);
  return a;
}

Action TargetSupervisor::requestRestart(SteadyTime now, WallTime wallNow) {
  Action a;
  if (config_.restart.method == RestartMethod::kNone) {
    a.refused = "restart method is none";
    return a;
  }
  if (restartInFlight_) {
    a.refused = "a restart is already in progress";
    return a;
  }
  graceUntil_.reset();
  startRestart(a, "manual", "requested by an operator", now, wallNow);
  return a;
}

Action TargetSupervisor::onTick(SteadyTime now, WallTime wallNow) {
  Action a;
  if (paused_ && pausedUntil_ && now >= *pausedUntil_) endPause(a, "pause expired", wallNow);
  if (graceUntil_ && now >= *graceUntil_) {
    // It never came up: the failed rounds during grace do not count, the next restart needs
    // unhealthy_after new ones (and the backoff).
    graceUntil_.reset();
    health_.forceUnhealthy(now);
    if (computeDisplayed() == TargetState::kUnhealthy && displayed_ != TargetState::kUnhealthy) {
      emit(a, ev::targetUnhealthyAfterGrace(eventBase(wallNow), config_.restart.grace), wallNow);
    } else {
      settle(a, wallNow, nullptr);
    }
  }
  // A backoff, hang_after or recovery_grace that ends now: the confirming round starts at the
  // instant announced (restart_failed, restart_deferred, /status), not at the next scheduled
  // round up to an interval later. Never a restart on a timer: the round decides.
  // A hang is confirmed by a round that starts `timeout` before hang_after is reached: when the
  // server still does not answer, that round's verdict arrives at the announced instant itself
  // (and if it came a moment early, the tick at the instant asks for one more).
  if (lastTick_ && restartMayBeDue()) {
    for (auto at : {backoffEnd(), hangProbeAt(timeoutDeadline(), config_.timeout),
                    timeoutDeadline(), startingUpDeadline()}) {
      if (at && *lastTick_ < *at && *at <= now) {
        a.probeNow = true;
        break;
      }
    }
  }
  lastTick_ = now;
  return a;
}

bool TargetSupervisor::restartMayBeDue() const {
  return restartWaitsForTime() && !graceUntil_ && health_.consecutiveFailures() > 0;
}

std::optional<SteadyTime> TargetSupervisor::timeoutDeadline() const {
  if (auto since = health_.timeoutSince()) return *since + config_.restart.hang_after;
  return std::nullopt;
}

std::optional<SteadyTime> TargetSupervisor::startingUpDeadline() const {
  auto since = health_.startingUpSince();
  if (!since) return std::nullopt;
  SteadyTime from = *since;
  // The last progress seen counts even when the source is lost since (the total rule then
  // applies from there): a reading that fails once must not restart a recovery that moved.
  if (recoveryReadingsCurrent() && progressAt_) from = std::max(from, *progressAt_);
  return from + config_.restart.recovery_grace;
}

bool TargetSupervisor::recoveryReadingsCurrent() const {
  return recoveryRun_ && recoveryRun_ == health_.startingUpSince();
}

bool TargetSupervisor::progressRule() const {
  return recoveryReadingsCurrent() && recoveryReading_ && recoveryReading_->readable();
}

Action TargetSupervisor::onRecoveryProgress(const RecoveryReading& reading, SteadyTime now,
                                            WallTime wallNow) {
  (void)wallNow;
  Action a;
  const auto since = health_.startingUpSince();
  if (!since) return a;  // up again (or another cause) since the reading was asked for
  if (!recoveryReadingsCurrent()) {
    // A new starting-up run: what was read in an earlier one says nothing about this one.
    recoveryRun_ = since;
    progressAt_.reset();
    progressSource_.clear();
    progressValue_.clear();
  }
  recoveryReading_ = reading;
  recoveryReadAt_ = now;
  if (!reading.readable()) return a;
  if (!progressAt_) {
    // The first value is the baseline: the run counts as without progress from its start.
    progressAt_ = *since;
  } else if (reading.source != progressSource_ || reading.value != progressValue_) {
    progressAt_ = now;
  }
  progressSource_ = reading.source;
  progressValue_ = reading.value;
  return a;
}

// ---------------------------------------------------------------------------------------------
// Status and persistence

std::optional<SteadyTime> TargetSupervisor::nextRestartAllowed(SteadyTime now) const {
  if (config_.restart.method == RestartMethod::kNone || restartInFlight_ || givenUp_)
    return std::nullopt;
  if (paused_ && !pausedUntil_) return std::nullopt;
  SteadyTime t = now;
  if (auto end = backoffEnd()) t = std::max(t, *end);
  if (graceUntil_) t = std::max(t, *graceUntil_);
  if (paused_) t = std::max(t, *pausedUntil_);
  // The engine never waits for the budget: a restart due at t that the budget does not allow is
  // a give-up, so no restart time is announced then.
  if (!budget_.allow(t)) return std::nullopt;
  return t;
}

std::optional<SteadyTime> TargetSupervisor::nextDeadline(SteadyTime now) const {
  const auto shown = nextChangeShown(now);
  if (!restartWaitsForTime()) return shown;
  // The agent also wakes for the start of the round that confirms a hang.
  return earliestAfter(now, {shown, hangProbeAt(timeoutDeadline(), config_.timeout)});
}

bool TargetSupervisor::restartWaitsForTime() const {
  return !paused_ && !restartInFlight_ && !givenUp_ && !operatorStopped_ &&
         config_.restart.method != RestartMethod::kNone;
}

std::optional<SteadyTime> TargetSupervisor::nextChangeShown(SteadyTime now) const {
  const bool restartable = restartWaitsForTime();
  return earliestAfter(now, {paused_ ? pausedUntil_ : std::nullopt, graceUntil_,
                             restartable ? backoffEnd() : std::nullopt,
                             restartable ? timeoutDeadline() : std::nullopt,
                             restartable ? startingUpDeadline() : std::nullopt});
}

TargetStatus TargetSupervisor::status(SteadyTime now, WallTime wallNow) const {
  TargetStatus s;
  s.name = config_.name;
  s.state = displayed_;
  s.since = since_;
  s.cause = stateIsUp(displayed_) ? Cause::kNone : health_.cause();
  s.last_round = lastRound_;
  s.last_connections = lastConnections_;
  s.consecutive_failures = health_.consecutiveFailures();
  s.consecutive_successes = health_.consecutiveSuccesses();
  s.last_success = lastSuccess_;
  s.interval = config_.interval;
  s.restart_method = std::string(toString(config_.restart.method));
  s.restart_history.assign(history_.begin(), history_.end());
  if (auto next = nextRestartAllowed(now)) s.next_restart_allowed = toWall(*next, now, wallNow);
  s.budget_used = budget_.used(now);
  s.budget_max = budget_.max();
  if (paused_ && pausedUntil_) s.paused_until = toWall(*pausedUntil_, now, wallNow);
  if (graceUntil_) s.grace_until = toWall(*graceUntil_, now, wallNow);
  // What clients are told (Retry-After): the instants themselves, not the early start of the
  // round that confirms a hang.
  if (auto next = nextChangeShown(now)) s.next_change_at = toWall(*next, now, wallNow);
  if (health_.state() == TargetState::kStartingUp && health_.startingUpSince()) {
    RecoveryStatus r;
    r.rule = progressRule() ? "no_progress" : "total";
    if (recoveryReadingsCurrent()) {
      if (recoveryReading_) {
        r.source = recoveryReading_->source;
        r.server_status = recoveryReading_->server_status;
        r.problem = recoveryReading_->problem;
      }
      r.progress = progressValue_;
      if (recoveryReadAt_) r.read_at = toWall(*recoveryReadAt_, now, wallNow);
      if (progressAt_) r.progress_at = toWall(*progressAt_, now, wallNow);
    }
    if (auto at = startingUpDeadline()) r.stuck_at = toWall(*at, now, wallNow);
    s.recovery = std::move(r);
  }
  for (Cause c : kAllCauses) {
    auto it = failuresTotal_.find(c);
    s.failures_total.emplace_back(c, it == failuresTotal_.end() ? 0 : it->second);
  }
  s.restarts_succeeded = restartsSucceeded_;
  s.restarts_failed = restartsFailed_;
  return s;
}

PersistedTarget TargetSupervisor::persisted(SteadyTime now, WallTime wallNow) const {
  PersistedTarget p;
  p.history.assign(history_.begin(), history_.end());
  for (SteadyTime t : budget_.times()) p.budget.push_back(toWall(t, now, wallNow));
  p.attempts = attempts_;
  if (lastAttemptEnd_) p.last_attempt_end = toWall(*lastAttemptEnd_, now, wallNow);
  p.paused = paused_;
  if (paused_ && pausedUntil_) p.paused_until = toWall(*pausedUntil_, now, wallNow);
  return p;
}

Action TargetSupervisor::restore(const PersistedTarget& saved, SteadyTime now, WallTime wallNow) {
  // Wall time -> steady time by the offsets of now; a time "in the future" (the wall clock was
  // set back) is taken as now, so nothing waits longer than it was meant to.
  // Ages are capped at kMaxRestoredAge (far beyond any budget window or backoff), and computed in
  // seconds first, so that no subtraction of two far-apart times can overflow nanoseconds.
  auto ageOf = [&](WallTime w) -> SteadyTime::duration {
    if (w >= wallNow) return SteadyTime::duration::zero();
    const auto secs = std::chrono::floor<std::chrono::seconds>(wallNow).time_since_epoch() -
                      std::chrono::floor<std::chrono::seconds>(w).time_since_epoch();
    if (secs >= kMaxRestoredAge) return kMaxRestoredAge;
    return duration_cast<SteadyTime::duration>(wallNow - w);
  };
  auto toSteady = [&](WallTime w) { return now - ageOf(w); };
  Action a;
  history_.assign(saved.history.begin(), saved.history.end());
  while (history_.size() > StateStore::kMaxHistory) history_.pop_front();
  std::vector<SteadyTime> times;
  for (WallTime w : saved.budget) times.push_back(toSteady(w));
  budget_.restore(std::move(times));
  attempts_ = std::max(0, saved.attempts);
  lastAttemptEnd_.reset();
  currentBackoff_ = Millis{0};
  if (attempts_ > 0 && saved.last_attempt_end) {
    lastAttemptEnd_ = toSteady(*saved.last_attempt_end);
    currentBackoff_ = backoff_.get(static_cast<unsigned>(attempts_ - 1), random_ ? random_() : 0.5);
  }
  if (saved.paused) {
    std::optional<Millis> left;
    if (saved.paused_until) {
      // The state store bounds paused_until to kMaxPause from its load time; clamp again here
      // (seconds first, no overflow) so a pause restores whatever the caller's clock says.
      const auto secs = std::chrono::floor<std::chrono::seconds>(*saved.paused_until) -
                        std::chrono::floor<std::chrono::seconds>(wallNow);
      if (secs < std::chrono::seconds{0})
        left = Millis{0};  // over: the next tick ends it, with its event
      else if (secs >= kMaxPause)
        left = kMaxPause;
      else
        left = std::max(Millis{0}, duration_cast<Millis>(*saved.paused_until - wallNow));
    }
    Action p = pause(left, now, wallNow);
    if (!p.events.empty()) p.events.front().msg += " (restored from the state file)";
    a = std::move(p);
    a.persist = false;
  }
  return a;
}

}  // namespace pgvigil
