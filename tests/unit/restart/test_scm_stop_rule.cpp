// The Windows service watcher's rule (restart/scm_stop_rule.h): an operator's stop against a
// crash, from the statuses the SCM announces. The sequences are pg_ctl's (pgwin32_ServiceMain and
// pgwin32_ServiceHandler, PostgreSQL 15) as svc_watch.exe recorded them under Wine's SCM; the
// watcher's Win32 side is tested against Wine's real SCM (tests/windows, wine_scm).
#include <boost/test/unit_test.hpp>
#include <vector>

#include "restart/scm_stop_rule.h"
#include "restart_printers.h"

using namespace pgvigil;

namespace {

ScmStatus status(std::uint32_t state, std::uint32_t hint = 0, std::uint32_t exit_code = 0,
                 std::uint32_t check_point = 0) {
  ScmStatus s;
  s.state = state;
  s.wait_hint_ms = hint;
  s.win32_exit_code = exit_code;
  s.check_point = check_point;
  return s;
}

const ScmStatus kStartPending = status(win32::kServiceStartPending, 60000, 0, 1);
const ScmStatus kRunning = status(win32::kServiceRunning, 66000);  // pg_ctl keeps the start's hint
const ScmStatus kStopped = status(win32::kServiceStopped);

std::vector<ServiceState> feed(ScmStopRule& rule, const std::vector<ScmStatus>& seq) {
  std::vector<ServiceState> out;
  for (const auto& s : seq) out.push_back(rule.onStatus(s));
  return out;
}

using V = std::vector<ServiceState>;
constexpr auto kRun = ServiceState::kRunning;
constexpr auto kOp = ServiceState::kOperatorStopped;
constexpr auto kFail = ServiceState::kFailed;
constexpr auto kUnk = ServiceState::kUnknown;

}  // namespace

BOOST_AUTO_TEST_SUITE(scm_stop_rule)

BOOST_AUTO_TEST_CASE(postmaster_crash_is_failed) {
  // taskkill /F of the postmaster: STOP_PENDING with the start's hint, STOPPED exit 0 at once.
  ScmStopRule rule;
  V got = feed(rule, {kRunning, status(win32::kServiceStopPending, 66000, 0, 0), kStopped});
  BOOST_TEST(got == (V{kRun, kRun, kFail}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(crash_after_a_reload_is_failed) {
  // pg_ctl reloads through the PAUSE control and leaves the hint at 5000.
  ScmStopRule rule;
  V got = feed(rule, {kRunning, status(win32::kServiceStopPending, 5000), kStopped});
  BOOST_TEST(got == (V{kRun, kRun, kFail}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(net_stop_is_operator_stopped_from_its_first_stop_pending) {
  // The handler reports STOP_PENDING with hint 10000 before it asks the postmaster to stop, then
  // the checkpoint rises every 5 s until the postmaster is gone; STOPPED exit 0 (Wine keeps the
  // last hint there, Windows zeroes it: the rule does not read it).
  ScmStopRule rule;
  V got = feed(rule, {kRunning, status(win32::kServiceStopPending, 10000, 0, 1),
                      status(win32::kServiceStopPending, 10000, 0, 2),
                      status(win32::kServiceStopped, 10000), status(win32::kServiceStopped)});
  BOOST_TEST(got == (V{kRun, kOp, kOp, kOp, kOp}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(operator_start_after_the_stop_is_running_and_forgets_it) {
  ScmStopRule rule;
  feed(rule, {kRunning, status(win32::kServiceStopPending, 10000, 0, 1), kStopped});
  BOOST_TEST(rule.onStatus(kStartPending) == kRun);
  BOOST_TEST(rule.onStatus(kRunning) == kRun);
  // A crash after that start is a crash again.
  rule.onStatus(status(win32::kServiceStopPending, 66000));
  BOOST_TEST(rule.onStatus(kStopped) == kFail);
}

BOOST_AUTO_TEST_CASE(pgvigils_own_restart_reads_as_stop_then_running) {
  // ScmRestarter's ControlService(STOP) goes through the same handler: the rule reports
  // operator_stopped, which the core ignores while its own restart is in flight
  // (TargetSupervisor::onServiceState), then running once StartServiceW has started it.
  ScmStopRule rule;
  V got = feed(rule, {kRunning, status(win32::kServiceStopPending, 10000, 0, 1), kStopped,
                      kStartPending, status(win32::kServiceStartPending, 66000, 0, 2), kRunning});
  BOOST_TEST(got == (V{kRun, kOp, kOp, kRun, kRun, kRun}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(hung_stop_stays_operator_stopped_until_stopped) {
  // sc stop of a postmaster frozen with SIGSTOP under Wine: STOP_PENDING, the checkpoint rising
  // up to pg_ctl's 12, then (after SIGCONT) STOPPED exit 0.
  ScmStopRule rule;
  rule.onStatus(kRunning);
  for (std::uint32_t cp = 1; cp <= 12; ++cp)
    BOOST_TEST(rule.onStatus(status(win32::kServiceStopPending, 10000, 0, cp)) == kOp);
  BOOST_TEST(rule.onStatus(kStopped) == kOp);
}

BOOST_AUTO_TEST_CASE(a_stop_that_ends_in_an_error_is_failed) {
  ScmStopRule rule;
  feed(rule, {kRunning, status(win32::kServiceStopPending, 10000, 0, 1)});
  BOOST_TEST(rule.onStatus(status(win32::kServiceStopped, 0, win32::kErrorServiceSpecificError)) ==
             kFail);
}

BOOST_AUTO_TEST_CASE(never_started_exit_code_counts_as_clean) {
  ScmStopRule rule;
  feed(rule, {kRunning, status(win32::kServiceStopPending, 10000)});
  BOOST_TEST(rule.onStatus(status(win32::kServiceStopped, 0, win32::kErrorServiceNeverStarted)) ==
             kOp);
  ScmStopRule crash;
  crash.onStatus(kRunning);
  BOOST_TEST(crash.onStatus(status(win32::kServiceStopped, 0, win32::kErrorServiceNeverStarted)) ==
             kFail);
}

BOOST_AUTO_TEST_CASE(agent_started_while_the_service_is_stopped_is_unknown) {
  // Nothing seen before STOPPED: an operator's stop and a crash look the same; the probes decide.
  ScmStopRule rule;
  BOOST_TEST(rule.onStatus(kStopped) == kUnk);
  BOOST_TEST(rule.onStatus(status(win32::kServiceStopped, 10000)) == kUnk);
  BOOST_TEST(rule.onStatus(kStartPending) == kRun);
  // ...but a non-zero exit code says failed even then.
  ScmStopRule failed;
  BOOST_TEST(failed.onStatus(status(win32::kServiceStopped, 0, 1067)) == kFail);
}

BOOST_AUTO_TEST_CASE(a_stopped_repeated_by_a_reopen_changes_nothing) {
  ScmStopRule op;
  feed(op, {kRunning, status(win32::kServiceStopPending, 10000), kStopped});
  BOOST_TEST(op.onStatus(kStopped) == kOp);
  ScmStopRule crash;
  feed(crash, {kRunning, kStopped});
  BOOST_TEST(crash.onStatus(kStopped) == kFail);
}

BOOST_AUTO_TEST_CASE(pause_states_are_running) {
  ScmStopRule rule;
  V got = feed(rule, {status(win32::kServicePausePending), status(win32::kServicePaused),
                      status(win32::kServiceContinuePending)});
  BOOST_TEST(got == (V{kRun, kRun, kRun}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gone_is_not_found_and_forgets_what_was_seen) {
  ScmStopRule rule;
  feed(rule, {kRunning, status(win32::kServiceStopPending, 10000)});
  BOOST_TEST(rule.onGone() == ServiceState::kNotFound);
  BOOST_TEST(rule.current() == ServiceState::kNotFound);
  // Recreated and found stopped: nothing seen, so unknown, not the old operator's stop.
  BOOST_TEST(rule.onStatus(kStopped) == kUnk);
}

BOOST_AUTO_TEST_CASE(a_status_that_is_not_a_state_is_ignored) {
  ScmStopRule rule;
  rule.onStatus(kRunning);
  BOOST_TEST(rule.onStatus(status(0)) == kRun);
  BOOST_TEST(rule.onStatus(status(99)) == kRun);
  BOOST_TEST(rule.onStatus(kStopped) == kFail);  // still after RUNNING
}

BOOST_AUTO_TEST_CASE(the_stop_hint_can_be_another_wrappers) {
  ScmStopRule rule(30000);
  feed(rule, {kRunning, status(win32::kServiceStopPending, 10000)});
  BOOST_TEST(rule.onStatus(kStopped) == kFail);
  ScmStopRule other(30000);
  feed(other, {kRunning, status(win32::kServiceStopPending, 30000)});
  BOOST_TEST(other.onStatus(kStopped) == kOp);
}

BOOST_AUTO_TEST_SUITE_END()
