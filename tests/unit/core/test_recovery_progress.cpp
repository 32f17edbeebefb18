// Recovery that is waited out only while it moves (issue 10): the parsers of what the agent
// reads (postmaster.pid, a startup process's title, the server log) and TargetSupervisor's rule
// with readings on a FakeClock: progress postpones the restart, recovery_grace without progress
// restarts, no source keeps the total-time rule, a source lost midway, a reload in the middle.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/recovery_progress.h"
#include "core/target_supervisor.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

RoundResult startingUp() {
  RoundResult r;
  r.verdict = Verdict::kFailed;
  r.cause = Cause::kStartingUp;
  r.message = "the database system is starting up";
  return r;
}

RoundResult good() {
  RoundResult r;
  r.verdict = Verdict::kOk;
  return r;
}

TargetConfig config() {
  TargetConfig c;
  c.name = "main";
  c.interval = 1s;
  c.timeout = 500ms;
  c.unhealthy_after = 3;
  c.healthy_after = 2;
  c.restart.method = RestartMethod::kCommand;
  c.restart.command = {"/bin/true"};
  c.restart.recovery_grace = 10s;
  c.recovery.data_dir = "/var/lib/postgresql/15/main";
  return c;
}

RecoveryReading reading(std::string value) {
  return {std::string(kProgressStartupProcess), std::move(value), "standby", ""};
}
RecoveryReading unreadable() {
  return {"", "", "", "cannot read /var/lib/postgresql/15/main/postmaster.pid"};
}

std::string field(const AlertEvent& e, const std::string& key) {
  for (const auto& [k, v] : e.fields)
    if (k == key) return v;
  return "<none>";
}

struct Harness {
  FakeClock clock;
  TargetConfig cfg = config();
  std::unique_ptr<TargetSupervisor> sup;
  std::vector<AlertEvent> events;
  int restarts = 0;
  SteadyTime began{};

  Harness() {
    sup = std::make_unique<TargetSupervisor>(
        cfg, [] { return 0.5; }, clock.wallNow());
    round(good());
  }
  void take(Action a) {
    events.insert(events.end(), a.events.begin(), a.events.end());
    if (a.restart) ++restarts;
  }
  /// One interval later, a round that started and ended now.
  void round(RoundResult r) {
    clock.advance(cfg.interval);
    r.started = clock.now();
    r.checked_at = clock.wallNow();
    take(sup->onRound(r, clock.now(), clock.wallNow()));
    take(sup->onTick(clock.now(), clock.wallNow()));
  }
  void read(const RecoveryReading& r) {
    take(sup->onRecoveryProgress(r, clock.now(), clock.wallNow()));
  }
  /// Starts a starting-up run (3 rounds: unhealthy_after) and remembers its start; `first` is
  /// read after its first round, as the agent does.
  void startRecovery(std::optional<RecoveryReading> first = std::nullopt) {
    round(startingUp());
    began = clock.now();
    if (first) read(*first);
    round(startingUp());
    round(startingUp());
  }
  /// Starting-up rounds for `d`, with a reading after each round (`value` gives it).
  template <class F>
  void recoverFor(Millis d, F value) {
    const SteadyTime end = clock.now() + d;
    while (clock.now() < end) {
      round(startingUp());
      if (restarts) return;
      read(value());
    }
  }
  const AlertEvent* last(const std::string& name) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
      if (it->event == name) return &*it;
    return nullptr;
  }
  std::optional<RecoveryStatus> recovery() const {
    return sup->status(clock.now(), clock.wallNow()).recovery;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(recovery_progress)

BOOST_AUTO_TEST_CASE(postmaster_pid_first_and_status_lines) {
  const auto pm = parsePostmasterPid(
      "4242\n/var/lib/postgresql/15/main\n1733570000\n5432\n/var/run/postgresql\n*\n"
      "  5432001     32769\nstandby   \n");
  BOOST_TEST_REQUIRE(pm.has_value());
  BOOST_TEST(pm->pid == 4242);
  BOOST_TEST(pm->status == "standby");
  const auto early = parsePostmasterPid("4242\n/data\n");
  BOOST_TEST_REQUIRE(early.has_value());
  BOOST_TEST(early->status.empty());
  BOOST_TEST(!parsePostmasterPid("").has_value());
  BOOST_TEST(!parsePostmasterPid("-1\n").has_value());
  BOOST_TEST(!parsePostmasterPid("abc\n").has_value());
}

BOOST_AUTO_TEST_CASE(startup_titles_with_and_without_cluster_name) {
  using namespace std::string_literals;
  BOOST_TEST(*startupActivity("postgres: startup recovering 000000010000000000000023\0\0\0"s) ==
             "recovering 000000010000000000000023");
  BOOST_TEST(
      *startupActivity("postgres: 15/main: startup waiting for 0000000100000000000000A1  "s) ==
      "waiting for 0000000100000000000000A1");
  BOOST_TEST(*startupActivity("postgres: startup "s) == "");
  BOOST_TEST(!startupActivity("postgres: walreceiver streaming 0/3000148"s).has_value());
  BOOST_TEST(!startupActivity("/usr/lib/postgresql/15/bin/postgres\0-D\0/data\0"s).has_value());
  BOOST_TEST(!startupActivity("postgres: startupx"s).has_value());
  BOOST_TEST(!startupActivity("bash"s).has_value());
}

BOOST_AUTO_TEST_CASE(the_last_redo_line_of_the_log) {
  const std::string log =
      "2026-12-07 11:00:00 UTC LOG:  redo starts at 0/1000028\n"
      "2026-12-07 11:00:10 UTC LOG:  redo in progress, elapsed time: 10.01 s, current LSN: "
      "0/2A000110\n"
      "2026-12-07 11:00:20 UTC LOG:  redo in progress, elapsed time: 20.02 s, current LSN: "
      "0/3B0001F8\n"
      "2026-12-07 11:00:21 UTC LOG:  some other line\n";
  BOOST_TEST(*lastRedoProgress(log) == "0/3B0001F8");
  BOOST_TEST(!lastRedoProgress("LOG:  database system is ready\n").has_value());
  BOOST_TEST(!lastRedoProgress("redo in progress, elapsed time: 1 s\n").has_value());
}

BOOST_AUTO_TEST_CASE(progress_keeps_postponing_the_restart) {
  Harness h;
  h.startRecovery(reading("recovering 000000010000000000000009"));
  int n = 0;
  // Three times recovery_grace, a new WAL file every second: never stuck.
  h.recoverFor(
      30s, [&] { return reading("recovering 0000000100000000000000" + std::to_string(10 + n++)); });
  BOOST_TEST(h.restarts == 0);
  const auto r = h.recovery();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->rule == "no_progress");
  BOOST_TEST(r->source == "startup_process");
  BOOST_TEST(r->server_status == "standby");
  BOOST_TEST(r->progress.rfind("recovering ", 0) == 0u);
  BOOST_TEST_REQUIRE(r->stuck_at.has_value());
  BOOST_TEST_REQUIRE(r->progress_at.has_value());
  BOOST_TEST((*r->stuck_at == *r->progress_at + 10s));
  const AlertEvent* deferred = h.last("restart_deferred");
  BOOST_TEST_REQUIRE(deferred != nullptr);
  BOOST_TEST(field(*deferred, "reason") == "starting_up");
  BOOST_TEST(field(*deferred, "rule") == "no_progress");
  BOOST_TEST(deferred->msg.find("while it makes progress") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_progress_for_recovery_grace_restarts) {
  Harness h;
  h.startRecovery();
  int n = 0;
  h.recoverFor(20s, [&] {
    return reading("recovering 00000001000000000000002" + std::to_string(n++ % 10));
  });
  BOOST_TEST(h.restarts == 0);
  const SteadyTime lastProgress = h.clock.now();
  // The value stops moving: restarted once recovery_grace has passed since its last change.
  h.recoverFor(30s, [] { return reading("recovering 000000010000000000000029"); });
  BOOST_TEST(h.restarts == 1);
  const auto waited = h.clock.now() - lastProgress;
  BOOST_TEST((waited >= 10s && waited <= 11s), "restarted "
                                                   << std::chrono::duration<double>(waited).count()
                                                   << " s after the last progress");
  const AlertEvent* requested = h.last("restart_requested");
  BOOST_TEST_REQUIRE(requested != nullptr);
  BOOST_TEST(
      requested->msg.find("no progress for longer than recovery_grace 10s") != std::string::npos,
      requested->msg);
  BOOST_TEST(requested->msg.find("startup_process: recovering 000000010000000000000029") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_recovery_that_never_moves_is_restarted_after_recovery_grace) {
  Harness h;
  h.startRecovery();
  // The first value is the baseline: no progress counts from the run's start.
  h.recoverFor(30s, [] { return reading("waiting for 000000010000000000000002"); });
  BOOST_TEST(h.restarts == 1);
  BOOST_TEST((h.clock.now() - h.began <= 11s));
}

BOOST_AUTO_TEST_CASE(without_a_source_the_total_rule_applies) {
  Harness h;
  h.startRecovery(unreadable());
  h.recoverFor(30s, [] { return unreadable(); });
  BOOST_TEST(h.restarts == 1);
  BOOST_TEST((h.clock.now() - h.began >= 10s && h.clock.now() - h.began <= 11s));
  const AlertEvent* deferred = h.last("restart_deferred");
  BOOST_TEST_REQUIRE(deferred != nullptr);
  BOOST_TEST(field(*deferred, "rule") == "total");
  BOOST_TEST(h.last("restart_requested")->msg.find("stuck starting up for longer") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(status_says_total_and_why_when_nothing_is_read) {
  Harness h;
  h.startRecovery();
  auto r = h.recovery();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->rule == "total");  // no reading yet
  BOOST_TEST(r->source.empty());
  BOOST_TEST_REQUIRE(r->stuck_at.has_value());
  h.read(unreadable());
  r = h.recovery();
  BOOST_TEST(r->rule == "total");
  BOOST_TEST(r->problem.find("cannot read") != std::string::npos);
  h.round(good());
  h.round(good());
  BOOST_TEST(!h.recovery().has_value());  // up: no recovery object
}

BOOST_AUTO_TEST_CASE(a_source_lost_midway_falls_back_to_the_total_rule_from_the_last_progress) {
  Harness h;
  h.startRecovery();
  int n = 0;
  h.recoverFor(
      15s, [&] { return reading("recovering 0000000100000000000000" + std::to_string(10 + n++)); });
  const SteadyTime lastProgress = h.clock.now();
  // Past the total rule's instant (began + 10 s) already; not restarted because the source is lost.
  h.round(startingUp());
  h.read(unreadable());
  BOOST_TEST(h.restarts == 0);
  BOOST_TEST(h.recovery()->rule == "total");
  h.recoverFor(20s, [] { return unreadable(); });
  BOOST_TEST(h.restarts == 1);
  BOOST_TEST((h.clock.now() - lastProgress <= 11s));
}

BOOST_AUTO_TEST_CASE(the_same_value_after_a_lost_source_is_no_progress) {
  Harness h;
  h.startRecovery();
  h.read(reading("recovering A"));
  h.round(startingUp());
  h.read(unreadable());
  h.recoverFor(30s, [] { return reading("recovering A"); });
  BOOST_TEST(h.restarts == 1);
  BOOST_TEST((h.clock.now() - h.began <= 11s));
}

BOOST_AUTO_TEST_CASE(a_reload_in_the_middle_keeps_the_progress_seen) {
  Harness h;
  h.startRecovery();
  int n = 0;
  h.recoverFor(8s, [&] { return reading("recovering " + std::to_string(n++)); });
  const SteadyTime lastProgress = h.clock.now();
  // Another data directory and a longer recovery_grace: the last reading is void (the total rule
  // until the next one), the progress already seen still counts, the new grace applies.
  TargetConfig next = h.cfg;
  next.recovery.data_dir = "/srv/pg/data";
  next.restart.recovery_grace = 20s;
  h.sup->reconfigure(next);
  h.cfg = next;
  BOOST_TEST(h.recovery()->rule == "total");
  BOOST_TEST((*h.recovery()->stuck_at - *h.recovery()->progress_at == 20s));
  // A different value read from the new place is progress.
  h.recoverFor(15s, [] { return reading("recovering 99"); });
  BOOST_TEST(h.restarts == 0);
  BOOST_TEST(h.recovery()->rule == "no_progress");
  h.recoverFor(30s, [] { return reading("recovering 99"); });
  BOOST_TEST(h.restarts == 1);
  BOOST_TEST((h.clock.now() - lastProgress >= 20s));
}

BOOST_AUTO_TEST_CASE(readings_of_an_earlier_run_do_not_count) {
  Harness h;
  h.startRecovery();
  h.read(reading("recovering 1"));
  h.round(good());
  h.round(good());
  h.read(reading("recovering 2"));  // up: ignored
  h.startRecovery();
  auto r = h.recovery();
  BOOST_TEST(r->rule == "total");
  BOOST_TEST(r->progress.empty());
  h.recoverFor(30s, [] { return reading("recovering 2"); });  // first value: the baseline
  BOOST_TEST(h.restarts == 1);
  BOOST_TEST((h.clock.now() - h.began <= 11s));
}

BOOST_AUTO_TEST_SUITE_END()
