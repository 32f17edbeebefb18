// The restart policy engine of one target (docs/reference.md §2 restart, §3, §6). Pure: it decides,
// the agent does the I/O. It owns the target's HealthState, Backoff, RestartBudget and pause, and
// produces the displayed state (restarting, given_up and paused overlay the health state) and
// the alert events, one per change, never one per round (each built by its named builder in
// supervisor_events.h).
//
// The agent's loop, per target:
//   Action a = sup.onRound(round, clock.now(), clock.wallNow());   // after every round
//   emit(a.events); scheduler.done(name, now, a.confirmSoon);
//   if (a.restart) { outcome = restarter.restart(deadline);         // on a worker
//                    a = sup.onRestartFinished(outcome, restarter.query(..), now, wallNow); }
//   if (a.probeNow) scheduler.runNow(name, now);
//   if (a.persist) stateStore.save(...persisted(now, wallNow) of every target...);
// and sup.onTick(now, wallNow) from the loop's tick (pause expiry, grace expiry),
// sup.onServiceState(...) from the ServiceWatcher, pause/resume/requestRestart from the HTTP
// endpoint. docs/health-model.md has every rule and every event.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/alert_event.h"
#include "core/backoff.h"
#include "core/config.h"
#include "core/health_state.h"
#include "core/recovery_progress.h"
#include "core/restart_budget.h"
#include "core/restart_outcome.h"
#include "core/round_result.h"
#include "core/state_store.h"
#include "core/status.h"
#include "core/supervisor_events.h"

namespace pgvigil {

/// What the agent should do after a call into the supervisor.
struct [[nodiscard]] Action {
  std::vector<AlertEvent> events;  ///< emit these, in order
  bool restart = false;            ///< run the restarter now, then call onRestartFinished()
  std::string reason;              ///< with restart: "auto" or "manual"
  bool probeNow = false;           ///< run a round at once (Scheduler::runNow): confirm a crash
  bool confirmSoon = false;        ///< a health change is pending: pass to Scheduler::done()
  bool persist = false;            ///< history, budget or pause changed: save the state file
  std::string refused;             ///< a manual request that was not carried out, and why

  bool accepted() const { return refused.empty(); }
};

/// Why a restart that would otherwise have been considered is held back (restart_deferred's
/// "reason" field).

class TargetSupervisor {
 public:
  /// `random` feeds the backoff jitter ([0,1)); without one the backoff is exact.
  /// `startedAt`: when the agent began watching (the `since` of the first state, unknown).
  explicit TargetSupervisor(const TargetConfig& config, Random01 random = {},
                            WallTime startedAt = WallTime{});

  /// A round finished (successful or not).
  Action onRound(const RoundResult& round, SteadyTime now, WallTime wallNow);
  /// The restart that the last Action asked for is over; `service` is what the service manager
  /// says now (kUnknown where it cannot tell).
  Action onRestartFinished(const RestartOutcome& outcome, ServiceState service, SteadyTime now,
                           WallTime wallNow);
  /// The service manager reports a change (ServiceWatcher): an operator stop holds restarts
  /// back until the service runs again; a failure asks for a confirming round at once.
  Action onServiceState(ServiceState service, SteadyTime now, WallTime wallNow);
  /// Maintenance: checks go on, no automatic restarts; `duration` empty = until resume().
  Action pause(std::optional<Millis> duration, SteadyTime now, WallTime wallNow);
  /// Ends a pause, or a given_up (then the budget starts afresh).
  Action resume(SteadyTime now, WallTime wallNow);
  /// An operator asks for a restart now: no backoff, no budget check (it is counted), no hold
  /// for pause or operator stop; refused with method none or while a restart runs.
  Action requestRestart(SteadyTime now, WallTime wallNow);
  /// Time passes: a pause expires, a restart's grace runs out; a backoff, hang_after or
  /// recovery_grace that ended since the previous tick asks for a confirming round at once
  /// (probeNow), whose result decides the restart. Call it from the loop's tick.
  Action onTick(SteadyTime now, WallTime wallNow);
  /// A reading of the recovery progress (taken off the loop while the target is starting up).
  /// While a source is readable, recovery_grace bounds the time without progress (a change of
  /// the value read), not the whole starting-up run. Ignored when the target is not starting up.
  Action onRecoveryProgress(const RecoveryReading& reading, SteadyTime now, WallTime wallNow);
  /// Config reload: thresholds, backoff, budget, grace and method change; state is kept.
  void reconfigure(const TargetConfig& config);

  TargetStatus status(SteadyTime now, WallTime wallNow) const;
  TargetState state() const { return displayed_; }
  const HealthState& health() const { return health_; }
  bool paused() const { return paused_; }
  bool givenUp() const { return givenUp_; }
  bool restarting() const { return restartInFlight_; }
  bool inGrace() const { return graceUntil_.has_value(); }
  bool operatorStopped() const { return operatorStopped_; }
  int attempts() const { return attempts_; }
  /// When the next automatic restart is allowed by backoff and budget (empty: no restart
  /// method, or one is running now).
  std::optional<SteadyTime> nextRestartAllowed(SteadyTime now) const;
  /// The next instant after `now` at which onTick() may change something by itself (pause end,
  /// grace end, backoff end, hang_after or recovery_grace reached, and `timeout` before
  /// hang_after: the start of the round that confirms a hang); empty when none is known.
  /// The agent wakes for it, so a restart comes at the time its events announced.
  std::optional<SteadyTime> nextDeadline(SteadyTime now) const;
  const TargetConfig& config() const { return config_; }

  /// What survives an agent restart (StateStore), in wall-clock time.
  PersistedTarget persisted(SteadyTime now, WallTime wallNow) const;
  /// Restores what persisted() saved; returns a target_paused event when it restored a pause.
  /// Times older than kMaxRestoredAge count as that old; a pause ends at most kMaxPause after
  /// `wallNow`. No input makes the wall-to-steady conversion overflow.
  Action restore(const PersistedTarget& saved, SteadyTime now, WallTime wallNow);
  /// Older than any budget window (<= 30d) or backoff (<= 7d) can reach back.
  static constexpr std::chrono::seconds kMaxRestoredAge = std::chrono::hours{24 * 366};

 private:
  enum class ConnLevel { kOk, kWarn, kCritical };

  TargetState computeDisplayed() const;
  /// The time, target and cause every event of this target carries now.
  supervisor_events::EventBase eventBase(WallTime wallNow) const;
  /// Emits `event` with state = the displayed state now and previous_state = the one before,
  /// when they differ; records the change.
  void emit(Action& a, AlertEvent event, WallTime wallNow);
  /// Emits the plain state event when the displayed state changed without a specific one.
  void settle(Action& a, WallTime wallNow, const RoundResult* round);
  void connectionEvents(Action& a, const RoundResult& round, WallTime wallNow);
  /// certificate_expiring once per certificate (told apart by its notAfter), not every round.
  void certificateEvents(Action& a, const RoundResult& round, WallTime wallNow);
  void considerRestart(Action& a, SteadyTime now, WallTime wallNow);
  /// restart_deferred once per reason; msg is only built when the event is emitted.
  void deferRestart(Action& a, std::string_view reason, const std::function<std::string()>& msg,
                    WallTime wallNow, std::optional<SteadyTime> possibleAt, SteadyTime now);
  void startRestart(Action& a, std::string_view reason, std::string msg, SteadyTime now,
                    WallTime wallNow);
  void endPause(Action& a, std::string msg, WallTime wallNow);
  void backToUp(Action& a);
  std::optional<SteadyTime> backoffEnd() const;
  /// When the current run of timeouts reaches hang_after / of starting_up reaches recovery_grace.
  std::optional<SteadyTime> timeoutDeadline() const;
  std::optional<SteadyTime> startingUpDeadline() const;
  /// The recovery readings belong to the current starting-up run.
  bool recoveryReadingsCurrent() const;
  /// "no_progress" while the last reading of this run found a source, else "total".
  bool progressRule() const;
  /// Failing, and nothing but time holds a restart back.
  bool restartMayBeDue() const;
  /// No pause, restart in flight, given_up or operator stop, and a restart method.
  bool restartWaitsForTime() const;
  /// The next instant something changes by itself, as /status and Retry-After show it.
  std::optional<SteadyTime> nextChangeShown(SteadyTime now) const;
  WallTime toWall(SteadyTime t, SteadyTime now, WallTime wallNow) const;

  TargetConfig config_;
  Random01 random_;
  HealthState health_;
  Backoff backoff_;
  RestartBudget budget_;

  TargetState displayed_ = TargetState::kUnknown;
  WallTime since_{};
  ConnLevel connLevel_ = ConnLevel::kOk;
  std::optional<WallTime> certWarned_;  ///< notAfter of the certificate already warned about
  /// The last connection figures any round read (kept through rounds that read none).
  std::optional<ConnectionStats> lastConnections_;
  bool visibilityWarned_ = false;  ///< connections_visibility_limited said, until it sees all
  int unreachableWarned_ = -1;     ///< usable slots of the last thresholds warning
  /// Start of the outage a restart causes: the last good round before it.
  std::optional<WallTime> outageSince_;

  bool paused_ = false;
  std::optional<SteadyTime> pausedUntil_;
  bool givenUp_ = false;
  bool operatorStopped_ = false;
  /// The service manager saw the service die (a crash) and has not seen it run since. On a
  /// Docker network a dead container's name leaves the network's DNS with it: a dns cause is
  /// then the crash itself, not a resolver fault, and restartable.
  bool serviceFailed_ = false;
  /// An operator started the service again after a stop: like after a restart of ours, it has
  /// restart.grace to come up (a container's entrypoint, recovery) before rounds may restart it,
  /// and the failures of the stop do not count. The first good round ends it.
  std::optional<SteadyTime> startGraceUntil_;
  bool restartInFlight_ = false;
  std::string restartReason_;  ///< "auto" | "manual" of the restart in flight
  SteadyTime restartStarted_{};
  Cause restartCause_ = Cause::kNone;
  std::optional<int> restartSessions_;  ///< client sessions when the restart in flight began
  std::string restartApplications_;
  std::optional<SteadyTime> graceUntil_;
  int attempts_ = 0;                     ///< restarts since the target was last up
  bool lastAttemptUnreachable_ = false;  ///< the last attempt never reached the restarter
  std::optional<SteadyTime> lastAttemptEnd_;
  Millis currentBackoff_{0};            ///< drawn (with jitter) when the last attempt ended
  std::string deferred_;                ///< the restart_deferred reason already announced
  std::optional<SteadyTime> lastTick_;  ///< the previous onTick(): deadlines crossed since

  // Recovery progress of the current starting-up run (recoveryRun_ = its startingUpSince).
  std::optional<SteadyTime> recoveryRun_;
  std::optional<RecoveryReading> recoveryReading_;  ///< the last one; reset by a reload
  std::optional<SteadyTime> recoveryReadAt_;
  std::optional<SteadyTime> progressAt_;  ///< the last change seen (first reading: run start)
  std::string progressSource_, progressValue_;

  std::optional<RoundResult> lastRound_;
  std::optional<WallTime> lastSuccess_;
  std::deque<RestartRecord> history_;
  std::map<Cause, std::uint64_t> failuresTotal_;
  std::uint64_t restartsSucceeded_ = 0;
  std::uint64_t restartsFailed_ = 0;
};

}  // namespace pgvigil
