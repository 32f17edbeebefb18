// The supervisor's event builders (docs/reference.md §6): one test per builder pins its name,
// level, msg, cause and every field in order, so that the log and /events keep their contract.
#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

#include "core/state_store.h"
#include "core/supervisor_events.h"

using namespace pgvigil;
using namespace std::chrono_literals;
namespace ev = pgvigil::supervisor_events;

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

const WallTime kTs = WallTime{} + std::chrono::hours{24 * 365 * 56};

ev::EventBase base(Cause cause = Cause::kNone) {
  return {kTs, "main", cause};
}

void common(const AlertEvent& e, const std::string& name, EventLevel level, Cause cause) {
  BOOST_TEST(e.event == name);
  BOOST_TEST((e.level == level));
  BOOST_TEST((e.cause == cause));
  BOOST_TEST(e.target == "main");
  BOOST_TEST((e.ts == kTs));
  BOOST_TEST(!e.state.has_value());  // the supervisor sets the states when it emits
  BOOST_TEST(!e.previous_state.has_value());
}

ConnectionStats stats(int used, int usable) {
  ConnectionStats c;
  c.used = used;
  c.usable = usable;
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(supervisor_event_builders)

BOOST_AUTO_TEST_CASE(duration_text_is_the_spec_spelling) {
  BOOST_TEST(ev::durationText(250ms) == "250ms");
  BOOST_TEST(ev::durationText(0ms) == "0s");
  BOOST_TEST(ev::durationText(5s) == "5s");
  BOOST_TEST(ev::durationText(90min) == "1h30m");
  BOOST_TEST(ev::durationText(-2s) == "-2s");
}

BOOST_AUTO_TEST_CASE(target_healthy) {
  auto first = ev::targetHealthy(base(), TargetState::kUnknown);
  common(first, "target_healthy", EventLevel::kInfo, Cause::kNone);
  BOOST_TEST(first.msg == "healthy");
  BOOST_TEST(first.fields.empty());
  BOOST_TEST(ev::targetHealthy(base(), TargetState::kUnhealthy).msg == "healthy again");
  BOOST_TEST(ev::targetHealthy(base(), TargetState::kRestarting).msg == "up again");
  BOOST_TEST(ev::targetHealthy(base(), TargetState::kStartingUp).msg == "up again");
}

BOOST_AUTO_TEST_CASE(target_degraded) {
  auto e = ev::targetDegraded(base(), "replication lag");
  common(e, "target_degraded", EventLevel::kWarning, Cause::kNone);
  BOOST_TEST(e.msg == "replication lag");
  BOOST_TEST(e.fields.empty());
  BOOST_TEST(ev::targetDegraded(base(), "").msg == "degraded");
}

BOOST_AUTO_TEST_CASE(target_unhealthy) {
  auto down = ev::targetUnhealthy(base(Cause::kRefused), "", 3, Phase::kNone);
  common(down, "target_unhealthy", EventLevel::kError, Cause::kRefused);
  BOOST_TEST(down.msg == "unhealthy: " + std::string(toString(Cause::kRefused)));
  BOOST_TEST((down.fields == Fields{{"consecutive_failures", "3"}}));

  auto hung = ev::targetUnhealthy(base(Cause::kTimeout), "no answer", 2, Phase::kStartup);
  BOOST_TEST((hung.level == EventLevel::kError));
  BOOST_TEST(hung.msg == "no answer");
  BOOST_TEST((hung.fields == Fields{{"consecutive_failures", "2"},
                                    {"phase", std::string(toString(Phase::kStartup))}}));

  // A cause no restart can cure needs a person.
  auto auth = ev::targetUnhealthy(base(Cause::kAuthFailed), "bad password", 1, Phase::kNone);
  BOOST_TEST((auth.level == EventLevel::kCritical));
  BOOST_TEST((ev::targetUnhealthy(base(Cause::kStartingUp), "", 1, Phase::kNone).level ==
              EventLevel::kError));
}

BOOST_AUTO_TEST_CASE(target_unhealthy_after_grace) {
  auto e = ev::targetUnhealthyAfterGrace(base(Cause::kRefused), 30s);
  common(e, "target_unhealthy", EventLevel::kError, Cause::kRefused);
  BOOST_TEST(e.msg == "PostgreSQL did not come up within grace 30s after the restart");
  BOOST_TEST((e.fields == Fields{{"consecutive_failures", "0"}}));
}

BOOST_AUTO_TEST_CASE(target_starting_up) {
  auto e = ev::targetStartingUp(base(Cause::kStartingUp), "");
  common(e, "target_starting_up", EventLevel::kWarning, Cause::kStartingUp);
  BOOST_TEST(e.msg == "PostgreSQL is starting up or shutting down");
  BOOST_TEST(e.fields.empty());
  BOOST_TEST(ev::targetStartingUp(base(), "the database system is starting up").msg ==
             "the database system is starting up");
}

BOOST_AUTO_TEST_CASE(plain_state_events) {
  auto p = ev::targetPausedState(base());
  common(p, "target_paused", EventLevel::kInfo, Cause::kNone);
  BOOST_TEST(p.msg == "paused");
  auto r = ev::restartRequestedState(base(Cause::kRefused));
  common(r, "restart_requested", EventLevel::kWarning, Cause::kRefused);
  BOOST_TEST(r.msg == "restarting");
  auto g = ev::restartGivenUpState(base(Cause::kRefused));
  common(g, "restart_given_up", EventLevel::kCritical, Cause::kRefused);
  BOOST_TEST(g.msg == "restart budget spent");
  BOOST_TEST((p.fields.empty() && r.fields.empty() && g.fields.empty()));
}

BOOST_AUTO_TEST_CASE(connections_events) {
  // Connection events carry no cause, whatever the target's state.
  auto c = ev::connectionsCritical(base(Cause::kRefused), stats(96, 100), 0.95);
  common(c, "connections_critical", EventLevel::kError, Cause::kNone);
  BOOST_TEST(c.msg == "96 of 100 usable connection slots in use (96%), critical at 95%");
  BOOST_TEST((c.fields == Fields{{"used", "96"}, {"usable", "100"}, {"ratio", "0.960"}}));

  auto w = ev::connectionsWarning(base(), stats(81, 100), 0.80);
  common(w, "connections_warning", EventLevel::kWarning, Cause::kNone);
  BOOST_TEST(w.msg == "81 of 100 usable connection slots in use (81%), warning at 80%");
  BOOST_TEST((w.fields == Fields{{"used", "81"}, {"usable", "100"}, {"ratio", "0.810"}}));

  auto o = ev::connectionsOk(base(), stats(10, 100));
  common(o, "connections_ok", EventLevel::kInfo, Cause::kNone);
  BOOST_TEST(o.msg ==
             "10 of 100 usable connection slots in use (10%), back below the warning level");
  BOOST_TEST((o.fields == Fields{{"used", "10"}, {"usable", "100"}, {"ratio", "0.100"}}));
}

BOOST_AUTO_TEST_CASE(restart_requested) {
  ev::RestartRequest r;
  r.reason = "auto";
  r.why = ev::whyDown(Cause::kRefused, 3);
  r.method = RestartMethod::kSystemd;
  r.attempt = 2;
  r.budget_used = 2;
  r.budget_max = 5;
  r.consecutive_failures = 3;
  auto e = ev::restartRequested(base(Cause::kRefused), r);
  common(e, "restart_requested", EventLevel::kWarning, Cause::kRefused);
  BOOST_TEST(e.msg == "restarting (systemd): down: " + std::string(toString(Cause::kRefused)) +
                          " in 3 consecutive rounds");
  BOOST_TEST((e.fields == Fields{{"reason", "auto"},
                                 {"attempt", "2"},
                                 {"method", "systemd"},
                                 {"budget_used", "2"},
                                 {"budget_max", "5"},
                                 {"consecutive_failures", "3"}}));
}

BOOST_AUTO_TEST_CASE(restart_succeeded) {
  ev::RestartAttempt r{"manual", 1, 2500ms, "job done", 1, 5};
  auto e = ev::restartSucceeded(base(Cause::kRefused), r, 30s);
  common(e, "restart_succeeded", EventLevel::kInfo, Cause::kRefused);
  BOOST_TEST(e.msg == "restart done in 2500ms; waiting up to grace 30s for PostgreSQL to come up");
  BOOST_TEST((e.fields == Fields{{"reason", "manual"},
                                 {"attempt", "1"},
                                 {"took", "2500ms"},
                                 {"detail", "job done"},
                                 {"grace", "30s"},
                                 {"budget_used", "1"},
                                 {"budget_max", "5"}}));
  r.detail.clear();
  auto quiet = ev::restartSucceeded(base(), r, 30s);
  BOOST_TEST(quiet.fields.size() == 6u);  // no empty detail
}

BOOST_AUTO_TEST_CASE(restart_failed) {
  ev::RestartAttempt r{"auto",
                       3,
                       2s,
                       "exited 1",
                       3,
                       5,
                       "pg-restart: starting (25s)\nFATAL:  lock file \"postmaster.pid\" already "
                       "exists\npg-restart: start failed"};
  const WallTime next = kTs + 20s;
  auto e = ev::restartFailed(base(Cause::kRefused), r, RestartOutcome::Result::kFailed, 20s, next);
  common(e, "restart_failed", EventLevel::kError, Cause::kRefused);
  BOOST_TEST(e.msg == "restart failed (failed): exited 1; next attempt after a backoff of 20s");
  BOOST_TEST((e.fields == Fields{{"reason", "auto"},
                                 {"attempt", "3"},
                                 {"result", "failed"},
                                 {"detail", "exited 1"},
                                 {"output", r.output},
                                 {"took", "2s"},
                                 {"backoff", "20s"},
                                 {"next_restart_at", formatWallTime(next)},
                                 {"budget_used", "3"},
                                 {"budget_max", "5"}}));
  BOOST_TEST((e.number_fields == std::vector<std::string>{"attempt", "budget_used", "budget_max"}));
  r.detail.clear();
  r.output.clear();
  auto spent = ev::restartFailed(base(), r, RestartOutcome::Result::kTimedOut, 1min, std::nullopt);
  BOOST_TEST(spent.msg == "restart failed (" +
                              std::string(toString(RestartOutcome::Result::kTimedOut)) +
                              "); next attempt after a backoff of 1m");
  BOOST_TEST(spent.fields.size() == 7u);  // neither detail nor next_restart_at
  // The budget will not allow the next attempt: none is announced, and the message says why.
  auto last = ev::restartFailed(base(), r, RestartOutcome::Result::kFailed, 1min, std::nullopt,
                                /*budgetSpent=*/true);
  BOOST_TEST(last.msg ==
             "restart failed (failed); no further attempt: the restart budget is spent (3 of 5)");
  BOOST_TEST((last.fields == Fields{{"reason", "auto"},
                                    {"attempt", "3"},
                                    {"result", "failed"},
                                    {"took", "2s"},
                                    {"budget_used", "3"},
                                    {"budget_max", "5"}}));
}

BOOST_AUTO_TEST_CASE(restart_given_up) {
  auto e = ev::restartGivenUp(base(Cause::kRefused), 3, 3, 1h);
  common(e, "restart_given_up", EventLevel::kCritical, Cause::kRefused);
  BOOST_TEST(e.msg ==
             "restart budget spent (3 restarts within 1h): not restarting; alerts only until it "
             "is healthy again or an operator resumes it");
  BOOST_TEST(
      (e.fields == Fields{{"budget_used", "3"}, {"budget_max", "3"}, {"budget_window", "1h"}}));
}

BOOST_AUTO_TEST_CASE(restart_deferred) {
  const WallTime at = kTs + 40s;
  auto e = ev::restartDeferred(base(Cause::kTimeout), defer::kHangAfter,
                               ev::deferredHangAfter(1min), at);
  common(e, "restart_deferred", EventLevel::kWarning, Cause::kTimeout);
  BOOST_TEST(e.msg ==
             "timeouts (port open, no answer) must last hang_after 1m before a restart: "
             "restarting a loaded server makes things worse");
  BOOST_TEST(
      (e.fields == Fields{{"reason", "hang_after"}, {"restart_possible_at", formatWallTime(at)}}));
  auto b = ev::restartDeferred(base(), defer::kBackoff, ev::deferredBackoff());
  BOOST_TEST((b.fields == Fields{{"reason", "backoff"}}));
  BOOST_TEST(b.msg == "waiting for the backoff after the last restart attempt");
  BOOST_TEST(ev::deferredStartingUp(Cause::kShuttingDown, 2min) ==
             "PostgreSQL says it is shutting down; waiting up to recovery_grace 2m");
  BOOST_TEST(ev::deferredNotRestartable(Cause::kAuthFailed) ==
             "a restart cannot cure '" + std::string(toString(Cause::kAuthFailed)) +
                 "' and would kill every session; alerting only");
  BOOST_TEST(ev::deferredOperatorStopped().find("does not start it") != std::string::npos);
  BOOST_TEST(ev::deferredOperatorStoppedByService().find("until it runs again") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(restart_not_made_operator_stopped) {
  auto e = ev::restartNotMadeOperatorStopped(base(Cause::kRefused), "inactive");
  common(e, "restart_deferred", EventLevel::kWarning, Cause::kRefused);
  BOOST_TEST(e.msg == "not restarted: the service was stopped by an operator (inactive)");
  BOOST_TEST((e.fields == Fields{{"reason", "operator_stopped"}}));
  BOOST_TEST(ev::restartNotMadeOperatorStopped(base(), "").msg ==
             "not restarted: the service was stopped by an operator");
}

BOOST_AUTO_TEST_CASE(why_a_restart) {
  BOOST_TEST(ev::whyStuck(Cause::kStartingUp, 5min) ==
             "stuck starting up for longer than recovery_grace 5m");
  BOOST_TEST(ev::whyHung(90s) == "hung: timeouts for 1m30s");
}

BOOST_AUTO_TEST_CASE(target_paused_and_resumed) {
  const WallTime until = kTs + 1h;
  auto e = ev::targetPaused(base(), 1h, until);
  common(e, "target_paused", EventLevel::kInfo, Cause::kNone);
  BOOST_TEST(e.msg == "paused for maintenance: checks go on, no restarts for 1h");
  BOOST_TEST((e.fields == Fields{{"until", formatWallTime(until)}}));
  auto open = ev::targetPaused(base(), std::nullopt, std::nullopt);
  BOOST_TEST(open.msg == "paused for maintenance: checks go on, no restarts");
  BOOST_TEST(open.fields.empty());

  auto r = ev::targetResumed(base(), "pause expired");
  common(r, "target_resumed", EventLevel::kInfo, Cause::kNone);
  BOOST_TEST(r.msg == "pause expired");
  BOOST_TEST(r.fields.empty());
}

BOOST_AUTO_TEST_SUITE_END()
