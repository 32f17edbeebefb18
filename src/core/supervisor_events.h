// The events of one target's supervision (docs/reference.md §6), one named builder per event: what
// each says (level, msg) and which fields it carries. TargetSupervisor decides *when* an event is
// due and calls its builder; the state and previous_state are its own to set when it emits. Pure:
// no clock, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/alert_event.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/restart_outcome.h"
#include "core/round_result.h"
#include "core/types.h"

namespace pgvigil {

/// Why a restart is held back (the `reason` field of restart_deferred).
namespace defer {
inline constexpr std::string_view kHangAfter = "hang_after";    ///< timeouts not long enough
inline constexpr std::string_view kStartingUp = "starting_up";  ///< within recovery_grace
inline constexpr std::string_view kNotRestartable = "not_restartable";  ///< cause never restarts
inline constexpr std::string_view kOperatorStopped = "operator_stopped";
inline constexpr std::string_view kBackoff = "backoff";
}  // namespace defer

namespace supervisor_events {

/// What every event of a target carries: when, which target, and the cause of its state
/// (Cause::kNone while the target is up).
struct EventBase {
  WallTime ts{};
  std::string target;
  Cause cause = Cause::kNone;
};

/// "250ms", "5s", "2m", "1h30m": formatDuration(d, DurationStyle::kClock), as the events write it.
std::string durationText(Millis d);

// --- state changes -------------------------------------------------------------------------

/// target_healthy (info): "healthy" the first time, "healthy again", or "up again" after a
/// restart (`before` restarting or starting up).
AlertEvent targetHealthy(const EventBase& base, TargetState before);
/// target_degraded (warning): the round's reason, else "degraded".
AlertEvent targetDegraded(const EventBase& base, std::string_view reason);
/// target_unhealthy: error when a restart can cure the cause (down, hung, starting up, shutting
/// down), critical otherwise (a person must act). msg: the round's message, else
/// "unhealthy: CAUSE". Fields: consecutive_failures, phase (when the round names one).
AlertEvent targetUnhealthy(const EventBase& base, std::string_view roundMessage,
                           int consecutiveFailures, Phase phase);
/// target_unhealthy (error) when PostgreSQL did not come up within `grace` after a restart.
/// Fields: consecutive_failures = 0 (the rounds during grace do not count).
AlertEvent targetUnhealthyAfterGrace(const EventBase& base, Millis grace);
/// target_starting_up (warning): the round's message, else a plain one.
AlertEvent targetStartingUp(const EventBase& base, std::string_view roundMessage);
/// target_paused (info) as a state change seen without a pause request ("paused").
AlertEvent targetPausedState(const EventBase& base);
/// restart_requested (warning) as a state change seen without a restart request ("restarting").
AlertEvent restartRequestedState(const EventBase& base);
/// restart_given_up (critical) as a state change ("restart budget spent").
AlertEvent restartGivenUpState(const EventBase& base);

// --- connections ---------------------------------------------------------------------------

/// connections_critical (error). Fields: used, usable, ratio. Cause: none.
AlertEvent connectionsCritical(const EventBase& base, const ConnectionStats& c, double critical);
/// connections_warning (warning). Fields: used, usable, ratio. Cause: none.
AlertEvent connectionsWarning(const EventBase& base, const ConnectionStats& c, double warn);
/// connections_ok (info), back below the warning level. Fields: used, usable, ratio. Cause: none.
AlertEvent connectionsOk(const EventBase& base, const ConnectionStats& c);

/// connections_visibility_limited (warning): the monitoring role cannot see other users'
/// sessions (visibilityWarning). Fields: role, hidden, remedy. Cause: none.
AlertEvent connectionsVisibilityLimited(const EventBase& base, const ConnectionStats& c);
/// connections_thresholds_unreachable (warning): a threshold can never fire on this server
/// (unreachableThresholds). Fields: usable, warn, critical. Cause: none.
AlertEvent connectionsThresholdsUnreachable(const EventBase& base, const ConnectionStats& c,
                                            const ConnectionsCheckConfig& config, std::string why);
/// Adds the outage to the event that says a target is up again after a restart: field
/// outage, and "; clients were without a server for 1m5s" in msg.
void addOutage(AlertEvent& e, Millis outage);

// --- TLS ---------------------------------------------------------------------------------

/// certificate_expiring (warning): the server's TLS certificate expires at `notAfter`, within
/// the target's `warning` (or has expired). Fields: not_after, expires_in (absent once expired).
/// Cause: none.
AlertEvent certificateExpiring(const EventBase& base, WallTime notAfter, Millis warning);

// --- restarts ------------------------------------------------------------------------------

/// One restart as it is asked for.
struct RestartRequest {
  std::string reason;  ///< "auto" or "manual"
  std::string why;     ///< what made it necessary ("down: ...", "requested by an operator")
  RestartMethod method = RestartMethod::kNone;
  int attempt = 0;
  int budget_used = 0;  ///< counting this one
  int budget_max = 0;
  int consecutive_failures = 0;
  /// The last connection figures: what the restart will cut (blast radius), when known.
  const ConnectionStats* clients = nullptr;
};
/// restart_requested (warning). Fields: reason, attempt, method, budget_used, budget_max,
/// consecutive_failures; with figures also sessions_cut, applications, figures_at, and the msg
/// ends "; cuts 14 client sessions (api 9, worker 5)".
AlertEvent restartRequested(const EventBase& base, const RestartRequest& r);

/// One finished restart attempt.
struct RestartAttempt {
  std::string reason;
  int attempt = 0;
  Millis took{0};
  std::string detail;  ///< the restarter's detail, may be empty
  int budget_used = 0;
  int budget_max = 0;
  std::string output = {};  ///< the end of the restart command's output, may be empty
};
/// restart_succeeded (info): now waiting up to `grace`. Fields: reason, attempt, took, detail
/// (when not empty), grace, budget_used, budget_max.
AlertEvent restartSucceeded(const EventBase& base, const RestartAttempt& r, Millis grace);
/// restart_failed (error). Fields: reason, attempt, result, detail (when not empty), output (the
/// command's last lines, when any), took, backoff, next_restart_at (when the budget allows one),
/// budget_used, budget_max. `budgetSpent`: the budget will not allow the next attempt, so none is
/// announced (no backoff, no next_restart_at; the message says so) and restart_given_up follows.
AlertEvent restartFailed(const EventBase& base, const RestartAttempt& r,
                         RestartOutcome::Result result, Millis backoff,
                         std::optional<WallTime> nextRestartAt, bool budgetSpent = false);

/// restart_given_up (critical) when the budget is spent. Fields: budget_used, budget_max,
/// budget_window.
AlertEvent restartGivenUp(const EventBase& base, int budgetUsed, int budgetMax, Millis window);

/// restart_deferred (warning). Fields: reason, restart_possible_at (when known).
AlertEvent restartDeferred(const EventBase& base, std::string_view reason, std::string msg,
                           std::optional<WallTime> possibleAt = std::nullopt);
/// The msg of restart_deferred for each reason.
/// `byProgress`: recovery_grace bounds the time without progress (a progress source is read).
std::string deferredStartingUp(Cause cause, Millis recoveryGrace, bool byProgress = false);
std::string deferredHangAfter(Millis hangAfter);
std::string deferredNotRestartable(Cause cause);
std::string deferredBackoff();
/// An operator's stop seen before a restart was due (the restart is not made).
std::string deferredOperatorStopped();
/// An operator's stop reported by the service manager (no restart until it runs again).
std::string deferredOperatorStoppedByService();
/// restart_deferred (warning) when the restarter found the service stopped by an operator and
/// left it so. Fields: reason = operator_stopped.
AlertEvent restartNotMadeOperatorStopped(const EventBase& base, std::string_view detail);

/// What made an automatic restart necessary, for restart_requested's msg.
std::string whyStuck(Cause cause, Millis recoveryGrace);
/// Recovery read from `source` showed no progress (its value stayed `value`) for recovery_grace.
std::string whyStalled(Cause cause, Millis recoveryGrace, std::string_view source,
                       std::string_view value);
std::string whyHung(Millis timeoutsFor);
std::string whyDown(Cause cause, int consecutiveFailures);

// --- operator ------------------------------------------------------------------------------

/// target_paused (info) for an operator's pause. Fields: until (when it has an end).
AlertEvent targetPaused(const EventBase& base, std::optional<Millis> duration,
                        std::optional<WallTime> until);
/// target_resumed (info) with its msg ("pause expired", "resumed by an operator", ...).
AlertEvent targetResumed(const EventBase& base, std::string msg);

}  // namespace supervisor_events
}  // namespace pgvigil
