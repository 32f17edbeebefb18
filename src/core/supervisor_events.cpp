// The events of one target's supervision: one builder per event. See supervisor_events.h.
#include "core/supervisor_events.h"

#include <cstdio>

#include "core/connection_holders.h"
#include "core/state_store.h"
#include "core/units.h"
#include "core/wall_time.h"

namespace pgvigil::supervisor_events {
namespace {

std::string ratioText(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ratio);
  return buf;
}

AlertEvent make(const EventBase& base, std::string_view name, EventLevel level, std::string msg) {
  AlertEvent e;
  e.ts = base.ts;
  e.level = level;
  e.event = std::string(name);
  e.target = base.target;
  e.cause = base.cause;
  e.msg = std::move(msg);
  return e;
}

std::string usageText(const ConnectionStats& c) {
  return std::to_string(c.used) + " of " + std::to_string(c.usable) +
         " usable connection slots in use (" + formatWholePercent(c.ratio()) + ")";
}

AlertEvent connections(const EventBase& base, std::string_view name, EventLevel level,
                       std::string msg, const ConnectionStats& c) {
  AlertEvent e = make(base, name, level, std::move(msg));
  e.cause = Cause::kNone;
  e.addNumber("used", c.used);
  e.addNumber("usable", c.usable);
  e.addNumber("ratio", ratioText(c.ratio()));
  if (!c.holders.empty()) e.fields.emplace_back("top_holder", holderName(c.holders.front()));
  if (!c.sees_all) e.addNumber("hidden", c.hidden);
  return e;
}

/// "; api (appuser@10.0.0.5) holds 21 of 97 usable; 18 idle, oldest idle 41m", "" without
/// holders.
std::string whoText(const ConnectionStats& c) {
  return c.holders.empty() ? std::string() : "; " + topHolderText(c);
}

std::string startingOrShutting(Cause cause) {
  return cause == Cause::kShuttingDown ? "shutting down" : "starting up";
}

}  // namespace

std::string durationText(Millis d) {
  return formatDuration(d, DurationStyle::kClock);
}

// --- state changes -------------------------------------------------------------------------

AlertEvent targetHealthy(const EventBase& base, TargetState before) {
  std::string msg = before == TargetState::kUnknown ? "healthy" : "healthy again";
  if (before == TargetState::kRestarting || before == TargetState::kStartingUp) msg = "up again";
  return make(base, "target_healthy", EventLevel::kInfo, std::move(msg));
}

AlertEvent targetDegraded(const EventBase& base, std::string_view reason) {
  return make(base, "target_degraded", EventLevel::kWarning,
              reason.empty() ? std::string("degraded") : std::string(reason));
}

AlertEvent targetUnhealthy(const EventBase& base, std::string_view roundMessage,
                           int consecutiveFailures, Phase phase) {
  std::string msg = roundMessage.empty() ? "unhealthy: " + std::string(toString(base.cause))
                                         : std::string(roundMessage);
  // A cause no restart can cure (wrong password, missing database, saturation, TLS, DNS,
  // a failing query) needs a person: critical. Down or hung is error: the engine acts.
  const Cause cause = base.cause;
  const bool restartCanHelp =
      causeIsDownOrHung(cause) || cause == Cause::kStartingUp || cause == Cause::kShuttingDown;
  AlertEvent e = make(base, "target_unhealthy",
                      restartCanHelp ? EventLevel::kError : EventLevel::kCritical, std::move(msg));
  e.addNumber("consecutive_failures", consecutiveFailures);
  if (phase != Phase::kNone) e.fields.emplace_back("phase", std::string(toString(phase)));
  return e;
}

AlertEvent targetUnhealthyAfterGrace(const EventBase& base, Millis grace) {
  AlertEvent e =
      make(base, "target_unhealthy", EventLevel::kError,
           "PostgreSQL did not come up within grace " + durationText(grace) + " after the restart");
  e.fields.emplace_back("consecutive_failures", "0");
  return e;
}

AlertEvent targetStartingUp(const EventBase& base, std::string_view roundMessage) {
  return make(base, "target_starting_up", EventLevel::kWarning,
              roundMessage.empty() ? std::string("PostgreSQL is starting up or shutting down")
                                   : std::string(roundMessage));
}

AlertEvent targetPausedState(const EventBase& base) {
  return make(base, "target_paused", EventLevel::kInfo, "paused");
}

AlertEvent restartRequestedState(const EventBase& base) {
  return make(base, "restart_requested", EventLevel::kWarning, "restarting");
}

AlertEvent restartGivenUpState(const EventBase& base) {
  return make(base, "restart_given_up", EventLevel::kCritical, "restart budget spent");
}

// --- connections ---------------------------------------------------------------------------

AlertEvent connectionsCritical(const EventBase& base, const ConnectionStats& c, double critical) {
  return connections(base, "connections_critical", EventLevel::kError,
                     usageText(c) + ", critical at " + formatWholePercent(critical) + whoText(c),
                     c);
}

AlertEvent connectionsWarning(const EventBase& base, const ConnectionStats& c, double warn) {
  return connections(base, "connections_warning", EventLevel::kWarning,
                     usageText(c) + ", warning at " + formatWholePercent(warn) + whoText(c), c);
}

AlertEvent connectionsOk(const EventBase& base, const ConnectionStats& c) {
  return connections(base, "connections_ok", EventLevel::kInfo,
                     usageText(c) + ", back below the warning level", c);
}

AlertEvent connectionsVisibilityLimited(const EventBase& base, const ConnectionStats& c) {
  AlertEvent e =
      make(base, "connections_visibility_limited", EventLevel::kWarning, visibilityWarning(c));
  e.cause = Cause::kNone;
  e.fields.emplace_back("role", c.role);
  e.addNumber("hidden", c.hidden);
  e.fields.emplace_back("remedy", grantRemedy(c.role));
  return e;
}

AlertEvent connectionsThresholdsUnreachable(const EventBase& base, const ConnectionStats& c,
                                            const ConnectionsCheckConfig& config, std::string why) {
  AlertEvent e =
      make(base, "connections_thresholds_unreachable", EventLevel::kWarning, std::move(why));
  e.cause = Cause::kNone;
  e.addNumber("usable", c.usable);
  e.fields.emplace_back("warn", formatWholePercent(config.warn));
  e.fields.emplace_back("critical", formatWholePercent(config.critical));
  return e;
}

void addOutage(AlertEvent& e, Millis outage) {
  e.msg += "; clients were without a server for " + durationText(outage);
  e.fields.emplace_back("outage", durationText(outage));
}

// --- TLS ---------------------------------------------------------------------------------

namespace {
/// Days first, for the long spans of certificates: "14d", "2d23h59m55s", "5h".
std::string daysText(Millis d) {
  const auto days = d / std::chrono::hours{24};
  if (days <= 0) return durationText(d);
  const Millis rest = d - std::chrono::hours{24} * days;
  return std::to_string(days) + "d" + (rest == Millis{0} ? "" : durationText(rest));
}
}  // namespace

AlertEvent certificateExpiring(const EventBase& base, WallTime notAfter, Millis warning) {
  EventBase b = base;
  b.cause = Cause::kNone;
  const std::string at = formatWallTime(notAfter);
  if (notAfter <= base.ts) {
    AlertEvent e = make(b, "certificate_expiring", EventLevel::kWarning,
                        "the server's TLS certificate expired at " + at);
    e.fields.emplace_back("not_after", at);
    return e;
  }
  const Millis left = std::chrono::duration_cast<Millis>(notAfter - base.ts);
  AlertEvent e = make(b, "certificate_expiring", EventLevel::kWarning,
                      "the server's TLS certificate expires in " + daysText(left) + " (at " + at +
                          "; warning " + daysText(warning) + " before)");
  e.fields.emplace_back("not_after", at);
  e.fields.emplace_back("expires_in", daysText(left));
  return e;
}

// --- restarts ------------------------------------------------------------------------------

AlertEvent restartRequested(const EventBase& base, const RestartRequest& r) {
  const std::string method(toString(r.method));
  AlertEvent e = make(base, "restart_requested", EventLevel::kWarning,
                      "restarting (" + method + "): " + r.why);
  e.fields.emplace_back("reason", r.reason);
  e.addNumber("attempt", r.attempt);
  e.fields.emplace_back("method", method);
  e.addNumber("budget_used", r.budget_used);
  e.addNumber("budget_max", r.budget_max);
  e.addNumber("consecutive_failures", r.consecutive_failures);
  if (r.clients) {
    // The blast radius, from the last figures: who loses their session now.
    e.msg += "; cuts " + blastRadiusText(*r.clients);
    e.addNumber("sessions_cut", r.clients->used);
    e.fields.emplace_back("applications", blastRadiusApplications(*r.clients));
    e.fields.emplace_back("figures_at", formatWallTime(r.clients->measured_at));
  }
  return e;
}

AlertEvent restartSucceeded(const EventBase& base, const RestartAttempt& r, Millis grace) {
  AlertEvent e = make(base, "restart_succeeded", EventLevel::kInfo,
                      "restart done in " + durationText(r.took) + "; waiting up to grace " +
                          durationText(grace) + " for PostgreSQL to come up");
  e.fields.emplace_back("reason", r.reason);
  e.addNumber("attempt", r.attempt);
  e.fields.emplace_back("took", durationText(r.took));
  if (!r.detail.empty()) e.fields.emplace_back("detail", r.detail);
  e.fields.emplace_back("grace", durationText(grace));
  e.addNumber("budget_used", r.budget_used);
  e.addNumber("budget_max", r.budget_max);
  return e;
}

AlertEvent restartFailed(const EventBase& base, const RestartAttempt& r,
                         RestartOutcome::Result result, Millis backoff,
                         std::optional<WallTime> nextRestartAt, bool budgetSpent) {
  const std::string resultText(toString(result));
  const std::string next =
      budgetSpent ? "; no further attempt: the restart budget is spent (" +
                        std::to_string(r.budget_used) + " of " + std::to_string(r.budget_max) + ")"
                  : "; next attempt after a backoff of " + durationText(backoff);
  AlertEvent e = make(base, "restart_failed", EventLevel::kError,
                      "restart failed (" + resultText + ")" +
                          (r.detail.empty() ? std::string() : ": " + r.detail) + next);
  e.fields.emplace_back("reason", r.reason);
  e.addNumber("attempt", r.attempt);
  e.fields.emplace_back("result", resultText);
  if (!r.detail.empty()) e.fields.emplace_back("detail", r.detail);
  if (!r.output.empty()) e.fields.emplace_back("output", r.output);
  e.fields.emplace_back("took", durationText(r.took));
  if (!budgetSpent) e.fields.emplace_back("backoff", durationText(backoff));
  if (nextRestartAt) e.fields.emplace_back("next_restart_at", formatWallTime(*nextRestartAt));
  e.addNumber("budget_used", r.budget_used);
  e.addNumber("budget_max", r.budget_max);
  return e;
}

AlertEvent restartGivenUp(const EventBase& base, int budgetUsed, int budgetMax, Millis window) {
  AlertEvent e = make(
      base, "restart_given_up", EventLevel::kCritical,
      "restart budget spent (" + std::to_string(budgetUsed) + " restarts within " +
          durationText(window) +
          "): not restarting; alerts only until it is healthy again or an operator resumes it");
  e.addNumber("budget_used", budgetUsed);
  e.addNumber("budget_max", budgetMax);
  e.fields.emplace_back("budget_window", durationText(window));
  return e;
}

AlertEvent restartDeferred(const EventBase& base, std::string_view reason, std::string msg,
                           std::optional<WallTime> possibleAt) {
  AlertEvent e = make(base, "restart_deferred", EventLevel::kWarning, std::move(msg));
  e.fields.emplace_back("reason", std::string(reason));
  if (possibleAt) e.fields.emplace_back("restart_possible_at", formatWallTime(*possibleAt));
  return e;
}

std::string deferredStartingUp(Cause cause, Millis recoveryGrace, bool byProgress) {
  if (byProgress)
    return "PostgreSQL says it is " + startingOrShutting(cause) +
           "; waiting while it makes progress, up to recovery_grace " +
           durationText(recoveryGrace) + " without any";
  return "PostgreSQL says it is " + startingOrShutting(cause) + "; waiting up to recovery_grace " +
         durationText(recoveryGrace);
}

std::string deferredHangAfter(Millis hangAfter) {
  return "timeouts (port open, no answer) must last hang_after " + durationText(hangAfter) +
         " before a restart: restarting a loaded server makes things worse";
}

std::string deferredNotRestartable(Cause cause) {
  return "a restart cannot cure '" + std::string(toString(cause)) +
         "' and would kill every session; alerting only";
}

std::string deferredBackoff() {
  return "waiting for the backoff after the last restart attempt";
}

std::string deferredOperatorStopped() {
  return "the service was stopped by an operator; pgvigil does not start it against their will";
}

std::string deferredOperatorStoppedByService() {
  return "the service was stopped by an operator; pgvigil will not restart it until it runs again";
}

AlertEvent restartNotMadeOperatorStopped(const EventBase& base, std::string_view detail) {
  return restartDeferred(base, defer::kOperatorStopped,
                         "not restarted: the service was stopped by an operator" +
                             (detail.empty() ? std::string() : " (" + std::string(detail) + ")"));
}

std::string whyStuck(Cause cause, Millis recoveryGrace) {
  return "stuck " + startingOrShutting(cause) + " for longer than recovery_grace " +
         durationText(recoveryGrace);
}

std::string whyStalled(Cause cause, Millis recoveryGrace, std::string_view source,
                       std::string_view value) {
  return "stuck " + startingOrShutting(cause) + ": no progress for longer than recovery_grace " +
         durationText(recoveryGrace) + " (" + std::string(source) +
         (value.empty() ? std::string() : ": " + std::string(value)) + ")";
}

std::string whyHung(Millis timeoutsFor) {
  return "hung: timeouts for " + durationText(timeoutsFor);
}

std::string whyDown(Cause cause, int consecutiveFailures) {
  return "down: " + std::string(toString(cause)) + " in " + std::to_string(consecutiveFailures) +
         " consecutive rounds";
}

// --- operator ------------------------------------------------------------------------------

AlertEvent targetPaused(const EventBase& base, std::optional<Millis> duration,
                        std::optional<WallTime> until) {
  std::string msg = "paused for maintenance: checks go on, no restarts";
  if (duration) msg += " for " + durationText(*duration);
  AlertEvent e = make(base, "target_paused", EventLevel::kInfo, std::move(msg));
  if (until) e.fields.emplace_back("until", formatWallTime(*until));
  return e;
}

AlertEvent targetResumed(const EventBase& base, std::string msg) {
  return make(base, "target_resumed", EventLevel::kInfo, std::move(msg));
}

}  // namespace pgvigil::supervisor_events
