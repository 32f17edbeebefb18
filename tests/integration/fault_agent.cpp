// The real agent process against a real PostgreSQL (issue "The agent"): crash seen at once,
// /health flips 503 and back, one event per change, saturation and standby classified.
#define BOOST_TEST_MODULE fault_agent
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <iostream>
#include <thread>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

std::string target(const PgCluster& pg, const std::string& name, const std::string& extra) {
  return "  - name: " + name + "\n    conninfo: \"" + pg.conninfo() + "\"\n" + extra;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_faults)

BOOST_AUTO_TEST_CASE(kill9_is_seen_at_once_and_health_flips_back) {
  PgCluster pg;
  TempDir dir;
  // A long interval: the crash must be seen through the monitoring connection, not a round,
  // and confirmed by a second round that comes soon (50 ms), not at a fraction of the interval.
  auto agent = startAgent(dir, target(pg, "main",
                                      "    interval: 20s\n    timeout: 2s\n"
                                      "    unhealthy_after: 2\n    healthy_after: 1\n"));
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 10s), agent.process->output());
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 5s));
  BOOST_REQUIRE(waitMonitorConnection(pg, 5s));  // opened after the first good round

  const auto killed = std::chrono::steady_clock::now();
  pg.kill9();
  auto seen = waitStatus(*agent.http, "/health", 503, 5s);
  BOOST_REQUIRE_MESSAGE(seen, "health never went 503\n" + agent.process->output());
  const auto detect = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed);
  std::cout << "kill -9 to /health 503: " << detect.count() << " ms (interval 20s)" << std::endl;
  // The drop hint, a failed round and a confirming one take ≈ 60 ms here; 1 s is far from the
  // 20 s interval and still catches a confirmation that waits for the loop's period or scales
  // with the interval.
  BOOST_TEST(detect < 1s, "a crash must be seen and confirmed long before the next round (20s)");
  BOOST_REQUIRE(waitEvent(*agent.process, "target_unhealthy", 2s));
  auto line = agent.process->waitForLine("event=target_unhealthy", 1s);
  BOOST_REQUIRE(line);
  BOOST_TEST(line->find("cause=refused") != std::string::npos, *line);

  pg.start();
  // The next round is up to an interval away: a restart is not this agent's job here (method
  // none), so ask for the check by waiting on the regular schedule, bounded by the interval.
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 25s), agent.process->output());
  BOOST_REQUIRE(agent.process->waitForLine(
      [](const std::string& l) {
        return l.find("event=target_healthy") != std::string::npos &&
               l.find("previous_state=unhealthy") != std::string::npos;
      },
      5s));
  BOOST_TEST(countEvents(*agent.process, "target_unhealthy", "main") == 1u);
  BOOST_TEST(countEvents(*agent.process, "target_healthy", "main") == 2u);  // start + recovery
  agent.process->signal(SIGTERM);
  auto code = agent.process->wait(10s);
  BOOST_REQUIRE(code);
  BOOST_TEST(*code == 0);
  BOOST_TEST(countEvents(*agent.process, "agent_stopping") == 1u);
}

BOOST_AUTO_TEST_CASE(saturation_is_unhealthy_with_too_many_connections) {
  PgClusterOptions options;
  options.settings = {"max_connections=6", "superuser_reserved_connections=1"};
  // A role without superuser: the reserved slot is not its to use, so the server refuses it.
  options.password = "s3cret-canary-pw";
  PgCluster pg(options);
  TempDir dir;
  auto agent = startAgent(
      dir, "  - name: sat\n    conninfo: \"host=127.0.0.1 port=" + std::to_string(pg.port()) +
               " dbname=postgres user=pgvigil password=s3cret-canary-pw\"\n"
               "    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 2\n");
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 10s), agent.process->output());
  pg.openIdle(5);
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 503, 10s), agent.process->output());
  auto line = waitEvent(*agent.process, "target_unhealthy", 2s);
  BOOST_REQUIRE(line);
  BOOST_TEST(line->find("cause=too_many_connections") != std::string::npos, *line);
  auto status = agent.http->get("/status");
  BOOST_TEST(status.body.find("too_many_connections") != std::string::npos);
  BOOST_TEST(agent.process->output().find("s3cret-canary-pw") == std::string::npos);
  BOOST_TEST(status.body.find("s3cret-canary-pw") == std::string::npos);
  pg.closeIdle();
  BOOST_REQUIRE(waitStatus(*agent.http, "/health", 200, 10s));
}

BOOST_AUTO_TEST_CASE(standby_without_hot_standby_is_starting_up) {
  PgClusterOptions options;
  options.standby_no_hot = true;
  PgCluster pg(options);
  TempDir dir;
  auto agent = startAgent(dir, target(pg, "standby", "    interval: 1s\n    timeout: 800ms\n"));
  agent.waitUp();
  auto line = waitEvent(*agent.process, "target_starting_up", 10s);
  BOOST_REQUIRE_MESSAGE(line, agent.process->output());
  BOOST_TEST(agent.http->get("/health").status == 503);
  BOOST_TEST(agent.http->get("/health/standby").body.find("starting_up") != std::string::npos);
  // One event for the state, not one a round.
  std::this_thread::sleep_for(2500ms);
  BOOST_TEST(countEvents(*agent.process, "target_starting_up") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
