// Issue 9, "Never delay a shutdown": the real agent watching a real PostgreSQL must not hold up
// a stop. A smart shutdown (pg_ctl stop -m smart, SIGTERM to the postmaster, docker stop) tells
// no session anything and waits until every session has ended; the agent's long-lived monitoring
// session used to keep it waiting until pg_ctl's timeout (20 s). Now the first failed round (its
// fresh connection is told 57P03 "shutting down") closes that session, so the stop takes about
// one interval. Also: the session is reopened once the server answers again, and a fast stop is
// not delayed either.
#define BOOST_TEST_MODULE fault_shutdown
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"
#include "support/spawn.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
using Clk = std::chrono::steady_clock;

namespace {

/// Disconnections are logged with the backend pid and application name, so the test can tell
/// when the monitoring session ended relative to the shutdown.
PgClusterOptions loggedOptions() {
  PgClusterOptions o;
  o.settings = {"log_disconnections=on", "log_line_prefix=%m [%p] app=%a "};
  return o;
}

std::string target(const PgCluster& pg) {
  // interval 1s: the stop should take about one interval; method none: this is about the
  // session, not restarts (method command cannot tell an operator's stop; docs/restarters.md).
  return "  - name: main\n    conninfo: \"" + pg.conninfo() +
         "\"\n    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 2\n";
}

/// The backend pid of the agent's monitoring session (idle, older than any round's session).
std::string monitorPid(PgCluster& pg) {
  return pg.query(
      "select pid from pg_stat_activity where application_name = 'pgvigil' and state = 'idle'"
      " and backend_type = 'client backend' and now() - backend_start > interval '300 "
      "milliseconds' order by backend_start limit 1");
}

std::string pgCtl(PgCluster& pg) {
  for (const auto& arg : pg.pgCtlStartCommand())
    if (arg.size() >= 7 && arg.compare(arg.size() - 7, 7, "/pg_ctl") == 0) return arg;
  throw std::runtime_error("no pg_ctl in the cluster's start command");
}

/// Runs pg_ctl (as the postgres user when root) and returns its exit code.
int runPgCtl(PgCluster& pg, const std::vector<std::string>& args) {
  SpawnOptions so;
  so.argv = {pgCtl(pg)};
  so.argv.insert(so.argv.end(), args.begin(), args.end());
  so.env = {"LC_ALL=C", "LANG=C"};
  if (auto ids = postgresUserIfRoot()) {
    so.uid = ids->uid;
    so.gid = ids->gid;
  }
  std::string error;
  pid_t pid = spawnProcess(so, &error);
  if (pid < 0) throw std::runtime_error("pg_ctl: " + error);
  Subreaper::instance().own(pid);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Subreaper::instance().disown(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool waitStopped(PgCluster& pg, std::chrono::milliseconds timeout) {
  const auto until = Clk::now() + timeout;
  while (pg.postmasterPid() != 0) {
    if (Clk::now() >= until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

long long msSince(Clk::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clk::now() - t).count();
}

/// The log shows the monitoring session's disconnection after the shutdown request and before
/// the server was shut down: it was the agent that let go, and the server did not kill it.
void checkSessionEndedBeforeExit(PgCluster& pg, const std::string& pid,
                                 const std::string& request) {
  const std::string log = pg.log();
  const auto requested = log.find(request);
  BOOST_REQUIRE_MESSAGE(requested != std::string::npos, log);
  const auto disconnected = log.find("[" + pid + "] app=pgvigil LOG:  disconnection", requested);
  const auto shutDown = log.find("database system is shut down", requested);
  BOOST_TEST(disconnected != std::string::npos,
             "the monitoring session never logged its end\n" + log);
  BOOST_TEST(shutDown != std::string::npos, log);
  BOOST_TEST(disconnected < shutDown, "the monitoring session ended after the server\n" + log);
}

/// Agent up, healthy, its monitoring session open; returns that session's backend pid.
std::string watched(PgCluster& pg, AgentUnderTest& agent) {
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 10s), agent.process->output());
  BOOST_REQUIRE_MESSAGE(waitMonitorConnection(pg, 10s), agent.process->output());
  std::string pid = monitorPid(pg);
  BOOST_REQUIRE(!pid.empty());
  return pid;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shutdown)

BOOST_AUTO_TEST_CASE(smart_stop_is_not_delayed_and_the_session_comes_back) {
  PgCluster pg(loggedOptions());
  TempDir dir;
  auto agent = startAgent(dir, target(pg));
  const std::string pid = watched(pg, agent);

  const auto started = Clk::now();
  const int code = runPgCtl(pg, {"stop", "-D", pg.dataDir(), "-m", "smart", "-t", "20", "-w"});
  const auto took = msSince(started);
  std::cout << "pg_ctl stop -m smart -t 20 with the agent watching (interval 1s): " << took
            << " ms, exit " << code << std::endl;
  BOOST_TEST(code == 0, "pg_ctl stop -m smart failed (the old agent held it 20 s)\n" + pg.log());
  BOOST_TEST(took < 5000, "a smart stop must take about one interval, not pg_ctl's timeout");
  BOOST_REQUIRE(waitStopped(pg, 5s));
  checkSessionEndedBeforeExit(pg, pid, "received smart shutdown request");
  BOOST_TEST(agent.process->running());

  // Closed until the server answers again: then a good round reopens it.
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 503, 5s), agent.process->output());
  pg.start();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 10s), agent.process->output());
  BOOST_TEST(waitMonitorConnection(pg, 10s), "the monitoring session did not come back");
}

BOOST_AUTO_TEST_CASE(sigterm_to_the_postmaster_is_not_delayed) {
  PgCluster pg(loggedOptions());
  TempDir dir;
  auto agent = startAgent(dir, target(pg));
  const std::string pid = watched(pg, agent);

  const pid_t postmaster = pg.postmasterPid();
  BOOST_REQUIRE(postmaster > 0);
  const auto started = Clk::now();
  BOOST_REQUIRE(::kill(postmaster, SIGTERM) == 0);
  const bool stopped = waitStopped(pg, 25s);
  const auto took = msSince(started);
  std::cout << "SIGTERM to the postmaster, agent watching (interval 1s): exited after " << took
            << " ms" << std::endl;
  BOOST_REQUIRE_MESSAGE(stopped, "the smart shutdown never finished\n" + pg.log());
  BOOST_TEST(took < 5000, "a smart shutdown must take about one interval");
  checkSessionEndedBeforeExit(pg, pid, "received smart shutdown request");
  // The agent saw the shutdown as such (57P03), not as a mystery.
  BOOST_TEST(agent.process->output().find("shutting_down") != std::string::npos,
             agent.process->output());
}

BOOST_AUTO_TEST_CASE(fast_stop_is_not_delayed) {
  PgCluster pg(loggedOptions());
  TempDir dir;
  auto agent = startAgent(dir, target(pg));
  watched(pg, agent);
  const auto started = Clk::now();
  const int code = runPgCtl(pg, {"stop", "-D", pg.dataDir(), "-m", "fast", "-t", "20", "-w"});
  const auto took = msSince(started);
  std::cout << "pg_ctl stop -m fast with the agent watching: " << took << " ms" << std::endl;
  BOOST_TEST(code == 0);
  BOOST_TEST(took < 5000);
  BOOST_TEST(waitStopped(pg, 5s));
}

BOOST_AUTO_TEST_SUITE_END()
