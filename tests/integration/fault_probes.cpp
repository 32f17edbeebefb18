// Fault scenarios for the probes against a real PostgreSQL: stopped, crashed (kill -9), hung
// (SIGSTOP), saturated (max_connections filled), shutting down. Label "fault".
#define BOOST_TEST_MODULE fault_probes
#include <poll.h>
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "core/clock.h"
#include "core/config.h"
#include "probes/monitor_connection.h"
#include "probes/round_runner.h"
#include "support/pg_cluster.h"
#include "support/round_helpers.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

long long ms(SteadyClock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

/// Polls the monitor's socket until it reports a drop; returns how long that took, or -1.
long long waitForDrop(MonitorConnection& mon, std::chrono::milliseconds limit,
                      SteadyClock::time_point since) {
  auto until = SteadyClock::now() + limit;
  while (SteadyClock::now() < until) {
    pollfd p{mon.socket(), POLLIN, 0};
    int n = ::poll(&p, 1, 10);
    if (n > 0 && mon.checkDropped()) return ms(SteadyClock::now() - since);
  }
  return -1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(stopped_server_is_refused) {
  PgCluster pg;
  pg.stopFast();
  RoundResult r = runRound(targetFor(pg.conninfo()), SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kFailed));
  BOOST_TEST(causeOf(r) == "refused", describe(r));
  BOOST_TEST(phaseOf(r) == "connect");
  BOOST_TEST(r.message == "connection refused on 127.0.0.1:" + std::to_string(pg.port()));
  BOOST_TEST(r.checks.size() == 1u);  // a failing tcp check skips the rest
  // Without the tcp check, libpq's own failure is refused too.
  auto noTcp = targetFor(pg.conninfo());
  noTcp.tcp_check = false;
  r = runRound(noTcp, SystemClock::instance());
  BOOST_TEST(causeOf(r) == "refused", describe(r));
  BOOST_TEST(r.find("query") != nullptr);
  // The unix socket file is gone as well.
  auto viaSocket = targetFor("host=" + pg.socketDir() + " port=" + std::to_string(pg.port()) +
                             " dbname=postgres user=postgres");
  r = runRound(viaSocket, SystemClock::instance());
  BOOST_TEST(causeOf(r) == "refused", describe(r));
}

BOOST_AUTO_TEST_CASE(killed_server_is_refused_then_ok_again) {
  PgCluster pg;
  auto t = targetFor(pg.conninfo());
  BOOST_TEST_REQUIRE((runRound(t, SystemClock::instance()).verdict == Verdict::kOk));
  pg.kill9();
  RoundResult r = runRound(t, SystemClock::instance());
  BOOST_TEST(causeOf(r) == "refused", describe(r));
  pg.start();
  r = runRound(t, SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kOk), describe(r));
}

// The port accepts (the kernel's listen queue) but nothing answers: a timeout that names the
// startup phase, within the round's timeout plus a small slack.
BOOST_AUTO_TEST_CASE(hung_postmaster_times_out_in_startup_phase_on_time) {
  PgCluster pg;
  auto t = targetFor(pg.conninfo(), 1s);
  pg.sigstop();
  auto start = SteadyClock::now();
  RoundResult r = runRound(t, SystemClock::instance());
  auto took = SteadyClock::now() - start;
  pg.sigcont();
  BOOST_TEST_MESSAGE("hung round took " << ms(took) << " ms: " << r.message);
  BOOST_TEST(causeOf(r) == "timeout", describe(r));
  BOOST_TEST(phaseOf(r) == "startup", describe(r));
  BOOST_TEST(r.find("tcp")->ok);  // the port still accepts
  BOOST_TEST(r.message.rfind("timeout in startup phase after 1.", 0) == 0, r.message);
  BOOST_TEST(ms(took) >= 990);
  BOOST_TEST(ms(took) < 1400);
  // Over the unix socket as well.
  pg.sigstop();
  auto viaSocket = targetFor("host=" + pg.socketDir() + " port=" + std::to_string(pg.port()) +
                                 " dbname=postgres user=postgres",
                             1s);
  start = SteadyClock::now();
  r = runRound(viaSocket, SystemClock::instance());
  took = SteadyClock::now() - start;
  pg.sigcont();
  BOOST_TEST(causeOf(r) == "timeout", describe(r));
  BOOST_TEST(phaseOf(r) == "startup", describe(r));
  BOOST_TEST(ms(took) < 1400);
  // And it recovers once the postmaster runs again.
  BOOST_TEST(pg.waitReady(5s));
  BOOST_TEST((runRound(t, SystemClock::instance()).verdict == Verdict::kOk));
}

BOOST_AUTO_TEST_CASE(full_server_is_too_many_connections) {
  // max 10, 3 reserved for superusers.
  PgCluster pg({.settings = {"max_connections=10"}, .password = "pw"});
  pg.openIdle(7);  // every non-reserved slot
  auto asMonitor = targetFor(pg.conninfo("user=pgvigil password=pw"));
  RoundResult r = runRound(asMonitor, SystemClock::instance());
  BOOST_TEST(causeOf(r) == "too_many_connections", describe(r));
  BOOST_TEST(r.find("query")->sqlstate == "53300");
  BOOST_TEST(r.message.find("reserved") != std::string::npos, r.message);
  pg.openIdle(3);  // and the reserved ones: now even a superuser is turned away
  r = runRound(targetFor(pg.conninfo("password=pw")), SystemClock::instance());
  BOOST_TEST(causeOf(r) == "too_many_connections", describe(r));
  BOOST_TEST(r.message.find("too many clients") != std::string::npos, r.message);
  pg.closeIdle();
  std::this_thread::sleep_for(300ms);
  r = runRound(asMonitor, SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kOk), describe(r));
}

BOOST_AUTO_TEST_CASE(monitor_connection_sees_kill9_within_100ms) {
  PgCluster pg;
  MonitorConnection mon(pg.conninfo(), "pgvigil-monitor");
  BOOST_TEST_REQUIRE(mon.openAndWait(Deadline(SystemClock::instance(), 5s)), mon.lastError());
  BOOST_TEST(!mon.checkDropped());
  pid_t pm = pg.postmasterPid();
  auto killed = SteadyClock::now();
  BOOST_TEST_REQUIRE(::kill(pm, SIGKILL) == 0);
  long long after = waitForDrop(mon, 2s, killed);
  BOOST_TEST_MESSAGE("monitor saw kill -9 after " << after << " ms: " << toString(mon.cause())
                                                  << ": " << mon.lastError());
  BOOST_TEST(after >= 0);
  BOOST_TEST(after <= 100);
  BOOST_TEST((mon.state() == MonitorConnection::State::kDropped));
  BOOST_TEST(std::string(toString(mon.cause())) == "reset", mon.lastError());
  pg.kill9();  // reap what is left
  // Reopening fails while the server is down, and works once it is back.
  BOOST_TEST(!mon.openAndWait(Deadline(SystemClock::instance(), 2s)));
  BOOST_TEST(std::string(toString(mon.cause())) == "refused", mon.lastError());
  pg.start();
  BOOST_TEST(mon.openAndWait(Deadline(SystemClock::instance(), 5s)), mon.lastError());
}

BOOST_AUTO_TEST_CASE(monitor_connection_sees_a_fast_shutdown_as_shutting_down) {
  PgCluster pg;
  MonitorConnection mon(pg.conninfo(), "pgvigil-monitor");
  BOOST_TEST_REQUIRE(mon.openAndWait(Deadline(SystemClock::instance(), 5s)), mon.lastError());
  auto stopped = SteadyClock::now();
  ::kill(pg.postmasterPid(), SIGINT);  // fast shutdown: backends get 57P01
  long long after = waitForDrop(mon, 5s, stopped);
  BOOST_TEST(after >= 0);
  BOOST_TEST(std::string(toString(mon.cause())) == "shutting_down", mon.lastError());
  BOOST_TEST(mon.sqlstate() == "57P01");
  BOOST_TEST(mon.lastError().find("administrator command") != std::string::npos, mon.lastError());
  pg.stopFast();
}

BOOST_AUTO_TEST_CASE(session_killed_during_query_is_reset_or_shutting_down) {
  PgCluster pg;
  auto t = targetFor(pg.conninfo(), 5s);
  t.query = "SELECT pg_sleep(3)";
  std::thread killer([&] {
    std::this_thread::sleep_for(500ms);
    pg.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = "
        "'SELECT pg_sleep(3)'");
  });
  RoundResult r = runRound(t, SystemClock::instance());
  killer.join();
  BOOST_TEST(causeOf(r) == "shutting_down", describe(r));  // 57P01 from pg_terminate_backend
  BOOST_TEST(phaseOf(r) == "query");
}

BOOST_AUTO_TEST_SUITE_END()
