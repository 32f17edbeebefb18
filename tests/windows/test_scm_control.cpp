// Unit tests of the SCM restart sequence (src/restart/windows/scm_control.h) and its adapter, on
// Linux, against a simulated service whose pending states move with a FakeClock: no sleeps. The
// same code runs against Wine's real SCM in scm_driver.cpp (run_wine_test.sh).
#define BOOST_TEST_MODULE pgvigil_windows_scm_tests
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "restart/windows/scm_control.h"
#include "restart/windows/scm_restarter.h"

using namespace pgvigil;
using namespace std::chrono_literals;
namespace w = pgvigil::win32;

namespace {

/// A service as the SCM shows it. Stop and start take stop_ms / start_ms of fake time in
/// STOP_PENDING / START_PENDING, the checkpoint rising every 100 ms (never, when stalled).
class SimService final : public ScmApi {
 public:
  explicit SimService(FakeClock& clock) : clock_(clock) {}

  // The script.
  std::uint32_t open_error = 0;
  std::uint32_t stop_error = 0;   ///< ControlService fails with this (232: the process died)
  std::uint32_t start_error = 0;  ///< StartServiceW fails with this
  std::uint32_t state = w::kServiceStopped;
  std::uint32_t wait_hint_ms = 2000;
  std::chrono::milliseconds stop_ms{0}, start_ms{0};
  bool stall = false;                ///< pending states never end, the checkpoint never moves
  std::uint32_t start_gives_up = 0;  ///< != 0: the start ends in STOPPED with this exit code
  std::uint32_t specific_exit = 0;
  std::uint32_t exit_code = 0;
  bool process_died = false;  ///< Wine: RUNNING shown, yet StartServiceW starts a new process

  // What happened.
  int opens = 0, closes = 0, stops = 0, starts = 0, queries = 0;
  bool opened_for_control = false;
  bool is_open = false;
  std::uint32_t pid = 100;

  std::uint32_t open(const std::string& service, bool control) override {
    ++opens;
    BOOST_TEST(service == "postgresql-x64-15");
    opened_for_control = control;
    if (open_error) return open_error;
    is_open = true;
    return 0;
  }
  std::uint32_t queryStatus(ScmStatus& out) override {
    BOOST_REQUIRE(is_open);
    ++queries;
    settle();
    out.state = state;
    out.win32_exit_code = exit_code;
    out.service_exit_code = specific_exit;
    out.wait_hint_ms = pending() ? wait_hint_ms : 0;
    out.check_point = pending() && !stall ? checkPoint() : 0;
    out.process_id = state == w::kServiceStopped ? 0 : pid;
    return 0;
  }
  std::uint32_t stop(ScmStatus& out) override {
    BOOST_REQUIRE(is_open);
    BOOST_REQUIRE(opened_for_control);
    ++stops;
    if (stop_error) return stop_error;
    settle();
    if (state == w::kServiceStopped) return w::kErrorServiceNotActive;
    begin(w::kServiceStopPending, stop_ms, w::kServiceStopped);
    return queryStatus(out);
  }
  std::uint32_t start() override {
    BOOST_REQUIRE(is_open);
    BOOST_REQUIRE(opened_for_control);
    ++starts;
    if (start_error) return start_error;
    settle();
    if (state != w::kServiceStopped && !process_died) return w::kErrorServiceAlreadyRunning;
    process_died = false;
    ++pid;
    exit_code = 0;
    specific_exit = 0;
    begin(w::kServiceStartPending, start_ms,
          start_gives_up ? w::kServiceStopped : w::kServiceRunning);
    if (start_gives_up) {
      exit_code = start_gives_up;
      specific_exit = start_gives_up == w::kErrorServiceSpecificError ? 42 : 0;
    }
    return 0;
  }
  void close() override {
    ++closes;
    is_open = false;
  }
  std::string message(std::uint32_t error) override {
    static const std::map<std::uint32_t, std::string> texts = {
        {5, "Access denied"},
        {1053, "The service did not respond to the start or control request in a timely fashion"},
        {1058, "The service cannot be started because it is disabled"},
        {1060, "The specified service does not exist as an installed service"},
    };
    auto it = texts.find(error);
    return it == texts.end() ? "" : it->second;
  }

  void beginPending(std::uint32_t pending_state, std::chrono::milliseconds d, std::uint32_t to) {
    begin(pending_state, d, to);
  }

 private:
  bool pending() const {
    return state == w::kServiceStartPending || state == w::kServiceStopPending;
  }
  std::uint32_t checkPoint() const {
    return 1 + static_cast<std::uint32_t>((clock_.now() - pending_since_) / 100ms);
  }
  void begin(std::uint32_t pending_state, std::chrono::milliseconds d, std::uint32_t to) {
    state = pending_state;
    pending_since_ = clock_.now();
    pending_until_ = clock_.now() + d;
    next_ = to;
  }
  void settle() {
    if (pending() && !stall && clock_.now() >= pending_until_) state = next_;
  }

  FakeClock& clock_;
  SteadyTime pending_since_{}, pending_until_{};
  std::uint32_t next_ = 0;
};

struct Fixture {
  FakeClock clock;
  SimService svc{clock};
  std::vector<std::chrono::milliseconds> sleeps;
  ScmControl control{svc, [this] { return clock.now(); },
                     [this](std::chrono::milliseconds d) {
                       sleeps.push_back(d);
                       clock.advance(d);
                     }};
  const std::string name = "postgresql-x64-15";

  ScmOutcome restart(std::chrono::milliseconds budget = 30s) {
    return control.restart(name, clock.now() + budget);
  }
};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(scm_control, Fixture)

BOOST_AUTO_TEST_CASE(running_service_is_stopped_then_started) {
  svc.state = w::kServiceRunning;
  svc.stop_ms = 300ms;
  svc.start_ms = 200ms;
  const std::uint32_t old_pid = svc.pid;
  ScmOutcome o = restart();
  BOOST_TEST(toString(o.code) == "succeeded");
  BOOST_TEST(o.stopped);
  BOOST_TEST(!o.started_directly);
  BOOST_TEST(svc.stops == 1);
  BOOST_TEST(svc.starts == 1);
  BOOST_TEST(svc.state == w::kServiceRunning);
  BOOST_TEST(svc.pid != old_pid);
  BOOST_TEST(contains(o.detail, "stopped and started"), o.detail);
  BOOST_TEST(contains(o.detail, "pid " + std::to_string(svc.pid)), o.detail);
  BOOST_TEST(svc.opened_for_control);
  BOOST_TEST(!svc.is_open);  // handles closed on return
}

BOOST_AUTO_TEST_CASE(stopped_service_is_started_without_a_stop) {
  svc.state = w::kServiceStopped;
  ScmOutcome o = restart();
  BOOST_TEST(toString(o.code) == "succeeded");
  BOOST_TEST(o.started_directly);
  BOOST_TEST(!o.stopped);
  BOOST_TEST(svc.stops == 0);
  BOOST_TEST(svc.starts == 1);
  BOOST_TEST(contains(o.detail, "it was stopped"), o.detail);
}

BOOST_AUTO_TEST_CASE(dead_process_that_wine_never_marked_stopped_is_started_directly) {
  for (std::uint32_t err : {w::kErrorNoData, w::kErrorServiceCannotAcceptCtrl}) {
    SimService s(clock);
    s.state = w::kServiceRunning;  // what the SCM still says
    s.process_died = true;         // Wine: the stop fails, StartServiceW works
    s.stop_error = err;
    ScmControl c(
        s, [this] { return clock.now(); }, [this](auto d) { clock.advance(d); });
    ScmOutcome o = c.restart(name, clock.now() + 10s);
    BOOST_TEST(toString(o.code) == "succeeded", o.detail);
    BOOST_TEST(o.started_directly);
    BOOST_TEST(!o.stopped);
    BOOST_TEST(s.stops == 1);
    BOOST_TEST(s.starts == 1);
    BOOST_TEST(contains(o.detail, "stop failed with " + std::to_string(err)), o.detail);
  }
}

BOOST_AUTO_TEST_CASE(running_service_that_refuses_stop_fails) {
  svc.state = w::kServiceRunning;
  svc.stop_error = w::kErrorServiceCannotAcceptCtrl;  // alive, and StartServiceW says 1056
  ScmOutcome o = restart();
  BOOST_TEST(toString(o.code) == "failed");
  BOOST_TEST(o.error == w::kErrorServiceCannotAcceptCtrl);
  BOOST_TEST(svc.starts == 1);
  BOOST_TEST(contains(o.detail, "does not accept STOP"), o.detail);
}

BOOST_AUTO_TEST_CASE(errors_opening_the_service_map_to_codes) {
  const std::pair<std::uint32_t, std::string_view> cases[] = {
      {1060, "not_found"},   {5, "permission_denied"}, {1063, "unreachable"},
      {1722, "unreachable"}, {1065, "unreachable"},    {87, "failed"},
  };
  for (auto [err, code] : cases) {
    SimService s(clock);
    s.open_error = err;
    ScmControl c(
        s, [this] { return clock.now(); }, [this](auto d) { clock.advance(d); });
    ScmOutcome o = c.restart(name, clock.now() + 5s);
    BOOST_TEST(toString(o.code) == code);
    BOOST_TEST(o.error == err);
    BOOST_TEST(contains(o.detail, std::to_string(err)), o.detail);
    BOOST_TEST(s.starts + s.stops == 0);
  }
  SimService s(clock);
  s.open_error = 5;
  ScmControl c(s);
  BOOST_TEST(contains(c.restart(name, clock.now() + 5s).detail, "5: Access denied"));
}

BOOST_AUTO_TEST_CASE(start_errors_fail_with_the_system_message) {
  for (std::uint32_t err :
       {w::kErrorServiceDisabled, w::kErrorServiceRequestTimeout, w::kErrorServiceDatabaseLocked}) {
    SimService s(clock);
    s.state = w::kServiceStopped;
    s.start_error = err;
    ScmControl c(
        s, [this] { return clock.now(); }, [this](auto d) { clock.advance(d); });
    ScmOutcome o = c.restart(name, clock.now() + 5s);
    BOOST_TEST(toString(o.code) == "failed");
    BOOST_TEST(o.error == err);
    BOOST_TEST(contains(o.detail, "start failed (" + std::to_string(err)), o.detail);
  }
  SimService s(clock);
  s.start_error = w::kErrorServiceDisabled;
  ScmControl c(s);  // the real steady clock: the start fails at once, nothing sleeps
  const std::string detail = c.restart(name, std::chrono::steady_clock::now() + 5s).detail;
  BOOST_TEST(contains(detail, "1058: The service cannot be started because it is disabled"),
             detail);
}

BOOST_AUTO_TEST_CASE(start_accepted_then_stopped_is_a_failure_with_its_exit_code) {
  svc.state = w::kServiceStopped;
  svc.start_ms = 500ms;
  svc.start_gives_up = w::kErrorServiceSpecificError;
  ScmOutcome o = restart();
  BOOST_TEST(toString(o.code) == "failed");
  BOOST_TEST(o.error == w::kErrorServiceSpecificError);
  BOOST_TEST(contains(o.detail, "stopped while starting"), o.detail);
  BOOST_TEST(contains(o.detail, "service-specific exit code 42"), o.detail);
}

BOOST_AUTO_TEST_CASE(pending_states_are_polled_at_a_tenth_of_the_wait_hint) {
  svc.state = w::kServiceRunning;
  svc.wait_hint_ms = 2000;
  svc.stop_ms = 3000ms;  // longer than the hint, but the checkpoint keeps moving
  svc.start_ms = 1000ms;
  const SteadyTime t0 = clock.now();
  ScmOutcome o = restart();
  BOOST_TEST(toString(o.code) == "succeeded", o.detail);
  BOOST_TEST(!sleeps.empty());
  for (auto d : sleeps) BOOST_TEST(d.count() == 200);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - t0);
  BOOST_TEST(took.count() >= 4000);
  BOOST_TEST(took.count() <= 4400);
}

BOOST_AUTO_TEST_CASE(poll_interval_is_clamped) {
  BOOST_TEST(ScmControl::pollInterval(0).count() == 100);
  BOOST_TEST(ScmControl::pollInterval(500).count() == 100);
  BOOST_TEST(ScmControl::pollInterval(2000).count() == 200);
  BOOST_TEST(ScmControl::pollInterval(60000).count() == 1000);
}

BOOST_AUTO_TEST_CASE(a_stop_whose_checkpoint_never_moves_stalls_after_the_wait_hint) {
  svc.state = w::kServiceRunning;
  svc.wait_hint_ms = 500;
  svc.stall = true;
  svc.stop_ms = 1h;
  const SteadyTime t0 = clock.now();
  ScmOutcome o = restart(30s);
  BOOST_TEST(toString(o.code) == "failed");
  BOOST_TEST(contains(o.detail, "made no progress within its wait hint (500 ms"), o.detail);
  BOOST_TEST(svc.starts == 0);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - t0);
  BOOST_TEST(took.count() > 500);
  BOOST_TEST(took.count() <= 700);
}

BOOST_AUTO_TEST_CASE(the_deadline_ends_a_slow_start_as_timed_out) {
  svc.state = w::kServiceStopped;
  svc.wait_hint_ms = 0;  // no hint: only the deadline ends the wait
  svc.start_ms = 10s;
  const SteadyTime t0 = clock.now();
  ScmOutcome o = restart(2s);
  BOOST_TEST(toString(o.code) == "timed_out");
  BOOST_TEST(contains(o.detail, "START_PENDING at the deadline"), o.detail);
  BOOST_TEST((clock.now() - t0 == 2s));  // the last sleep is cut to the deadline
}

BOOST_AUTO_TEST_CASE(a_start_pending_at_entry_is_waited_out_then_restarted) {
  svc.beginPending(w::kServiceStartPending, 700ms, w::kServiceRunning);
  svc.stop_ms = 100ms;
  ScmOutcome o = restart();
  BOOST_TEST(toString(o.code) == "succeeded", o.detail);
  BOOST_TEST(o.stopped);
  BOOST_TEST(svc.stops == 1);
}

BOOST_AUTO_TEST_CASE(a_stop_pending_at_entry_is_waited_out_then_started) {
  svc.beginPending(w::kServiceStopPending, 700ms, w::kServiceStopped);
  ScmOutcome o = restart();
  BOOST_TEST(toString(o.code) == "succeeded", o.detail);
  BOOST_TEST(o.started_directly);
  BOOST_TEST(svc.stops == 0);
}

BOOST_AUTO_TEST_CASE(already_running_after_our_stop_means_someone_else_started_it) {
  svc.state = w::kServiceStopped;
  svc.start_error = w::kErrorServiceAlreadyRunning;
  // The status read after the refused start: running.
  struct StartedMeanwhile : ScmApi {
    SimService& s;
    explicit StartedMeanwhile(SimService& i) : s(i) {}
    std::uint32_t open(const std::string& n, bool c) override { return s.open(n, c); }
    std::uint32_t queryStatus(ScmStatus& o) override { return s.queryStatus(o); }
    std::uint32_t stop(ScmStatus& o) override { return s.stop(o); }
    std::uint32_t start() override {
      s.state = w::kServiceRunning;
      return w::kErrorServiceAlreadyRunning;
    }
    void close() override { s.close(); }
    std::string message(std::uint32_t e) override { return s.message(e); }
  } api(svc);
  ScmControl c(
      api, [this] { return clock.now(); }, [this](auto d) { clock.advance(d); });
  ScmOutcome o = c.restart(name, clock.now() + 5s);
  BOOST_TEST(toString(o.code) == "succeeded", o.detail);
}

BOOST_AUTO_TEST_CASE(query_maps_states_and_opens_for_query_only) {
  svc.state = w::kServiceRunning;
  BOOST_TEST(toString(control.query(name)) == "running");
  BOOST_TEST(!svc.opened_for_control);
  BOOST_TEST(!svc.is_open);
  svc.state = w::kServiceStopped;
  BOOST_TEST(toString(control.query(name)) == "unknown");  // clean STOPPED: crash or operator
  svc.exit_code = 1067;                                    // process terminated unexpectedly
  BOOST_TEST(toString(control.query(name)) == "failed");
  svc.open_error = 1060;
  std::uint32_t err = 0;
  BOOST_TEST(toString(control.query(name, &err)) == "not_found");
  BOOST_TEST(err == 1060u);
  svc.open_error = 5;
  BOOST_TEST(toString(control.query(name, &err)) == "unknown");
  BOOST_TEST(err == 5u);
}

BOOST_AUTO_TEST_CASE(view_of_every_state) {
  auto view = [](std::uint32_t state, std::uint32_t exit = 0, std::uint32_t specific = 0) {
    ScmStatus s;
    s.state = state;
    s.win32_exit_code = exit;
    s.service_exit_code = specific;
    return std::string(toString(viewOf(s)));
  };
  BOOST_TEST(view(w::kServiceRunning) == "running");
  BOOST_TEST(view(w::kServiceStartPending) == "running");
  BOOST_TEST(view(w::kServicePaused) == "running");
  BOOST_TEST(view(w::kServiceStopPending) == "unknown");
  BOOST_TEST(view(w::kServiceStopped) == "unknown");
  BOOST_TEST(view(w::kServiceStopped, 1077) == "unknown");  // never started
  BOOST_TEST(view(w::kServiceStopped, 1067) == "failed");
  BOOST_TEST(view(w::kServiceStopped, 1066, 3) == "failed");
  BOOST_TEST(view(99) == "unknown");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scm_restarter)

BOOST_AUTO_TEST_CASE(adapts_outcomes_and_states) {
  FakeClock clock;
  auto owned = std::make_unique<SimService>(clock);
  SimService& svc = *owned;
  svc.state = w::kServiceRunning;
  svc.stop_ms = 400ms;
  svc.start_ms = 600ms;
  ScmRestarter r("postgresql-x64-15", clock, std::move(owned),
                 [&clock](std::chrono::milliseconds d) { clock.advance(d); });
  BOOST_TEST(r.method() == "windows-service");
  BOOST_TEST((r.query(Deadline(clock, 1s)) == ServiceState::kRunning));
  RestartOutcome o = r.restart(Deadline(clock, 10s));
  BOOST_TEST(toString(o.result) == "succeeded", o.detail);
  BOOST_TEST(o.took.count() >= 1000);
  BOOST_TEST(o.took.count() <= 1300);
  BOOST_TEST(contains(o.detail, "stopped and started"), o.detail);

  svc.state = w::kServiceStopped;
  BOOST_TEST((r.query(Deadline(clock, 1s)) == ServiceState::kUnknown));
  svc.exit_code = 1067;
  BOOST_TEST((r.query(Deadline(clock, 1s)) == ServiceState::kFailed));
  svc.open_error = 1060;
  BOOST_TEST((r.query(Deadline(clock, 1s)) == ServiceState::kNotFound));
  BOOST_TEST(toString(r.restart(Deadline(clock, 1s)).result) == "not_found");
  svc.open_error = 5;
  BOOST_TEST(toString(r.restart(Deadline(clock, 1s)).result) == "permission_denied");
  svc.open_error = 0;
  svc.stall = true;
  svc.wait_hint_ms = 0;
  svc.state = w::kServiceStopped;
  svc.start_ms = 1h;
  RestartOutcome slow = r.restart(Deadline(clock, 3s));
  BOOST_TEST(toString(slow.result) == "timed_out", slow.detail);
  BOOST_TEST(slow.took.count() == 3000);
}

BOOST_AUTO_TEST_CASE(without_an_scm_it_is_unreachable_not_undefined) {
#ifndef _WIN32
  FakeClock clock;
  ScmRestarter r("postgresql-x64-15", clock);
  RestartOutcome o = r.restart(Deadline(clock, 1s));
  BOOST_TEST(toString(o.result) == "unreachable");
  BOOST_TEST((r.query(Deadline(clock, 1s)) == ServiceState::kUnknown));
#endif
}

BOOST_AUTO_TEST_CASE(every_code_maps) {
  BOOST_TEST(toString(toRestartResult(ScmOutcome::Code::kSucceeded)) == "succeeded");
  BOOST_TEST(toString(toRestartResult(ScmOutcome::Code::kFailed)) == "failed");
  BOOST_TEST(toString(toRestartResult(ScmOutcome::Code::kTimedOut)) == "timed_out");
  BOOST_TEST(toString(toRestartResult(ScmOutcome::Code::kNotFound)) == "not_found");
  BOOST_TEST(toString(toRestartResult(ScmOutcome::Code::kUnreachable)) == "unreachable");
  BOOST_TEST(toString(toRestartResult(ScmOutcome::Code::kPermissionDenied)) == "permission_denied");
}

BOOST_AUTO_TEST_SUITE_END()
