// The monitoring session is a choice (issue 10), against a real PostgreSQL 15 and the real
// `pgvigil run`: with idle_session_timeout shorter than the interval the session is kept alive
// without a FATAL in the server's log; `monitoring_session: false` leaves no pgvigil backend
// between rounds and a kill -9 is still seen by the next round; a session a DBA terminates is
// opened again without a restart or an alarming event.
#define BOOST_TEST_MODULE fault_monitoring_session
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <filesystem>
#include <thread>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string target(const PgCluster& pg, const std::string& extra) {
  return "  - name: main\n    conninfo: \"" + pg.conninfo() + "\"\n" + extra;
}

Poco::JSON::Object::Ptr targetStatus(const AgentUnderTest& agent) {
  auto r = agent.http->get("/status");
  BOOST_TEST_REQUIRE(r.status == 200);
  Poco::JSON::Parser parser;
  auto root = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>();
  return root->getArray("targets")->getObject(0);
}

Poco::JSON::Object::Ptr sessionOf(const AgentUnderTest& agent) {
  return targetStatus(agent)->getObject("monitoring_session");
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// The agent's long-lived sessions in pg_stat_activity: pgvigil backends older than a round's.
std::string longLivedPgvigilBackends(PgCluster& pg) {
  return pg.query(
      "select count(*) from pg_stat_activity where application_name = 'pgvigil'"
      " and backend_type = 'client backend' and now() - backend_start > interval '500 ms'");
}

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

/// No event that says the server was in trouble or that a restart was asked for.
void noAlarms(const AgentProcess& agent) {
  for (const char* e : {"target_unhealthy", "restart_requested", "restart_failed",
                        "restart_succeeded", "target_degraded"})
    BOOST_TEST(countEvents(agent, e, "main") == 0u, e << "\n" << agent.output());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(monitoring_session)

BOOST_AUTO_TEST_CASE(idle_session_timeout_shorter_than_the_interval_leaves_no_fatal) {
  PgClusterOptions options;
  options.settings = {"idle_session_timeout=1s"};
  PgCluster pg(options);
  TempDir dir;
  auto agent = startAgent(dir, target(pg, "    interval: 3s\n    timeout: 2s\n"));
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 10s), agent.process->output());
  BOOST_REQUIRE(waitMonitorConnection(pg, 5s));
  const auto start = Clock::now();
  std::this_thread::sleep_for(13s);  // four intervals, thirteen timeouts
  const std::string log = pg.log();
  const auto fatal = count(log, "idle-session timeout");
  auto session = sessionOf(agent);
  BOOST_TEST_MESSAGE("idle_session_timeout=1s, interval 3s, "
                     << ms(Clock::now() - start) << " ms: " << fatal
                     << " idle-session FATAL lines, "
                     << "session drops " << session->getValue<int>("drops"));
  BOOST_TEST(fatal == 0u, log);
  BOOST_TEST(session->getValue<std::string>("state") == "open");
  BOOST_TEST(session->getValue<int>("idle_session_timeout_ms") == 1000);
  BOOST_TEST(session->getValue<int>("keepalive_every_ms") == 500);
  BOOST_TEST(session->getValue<int>("drops") == 0);
  // The figures came over the session, every round.
  auto connections = targetStatus(agent)->getObject("connections");
  BOOST_REQUIRE(connections);
  BOOST_TEST(connections->getValue<std::string>("source") == "monitoring_session");
  BOOST_TEST(agent.http->get("/metrics").body.find("pgvigil_connections_used{target=\"main\"}") !=
             std::string::npos);
  // The same session all along: one long-lived pgvigil backend.
  BOOST_TEST(longLivedPgvigilBackends(pg) == "1");
  noAlarms(*agent.process);
  agent.process->signal(SIGTERM);
  BOOST_TEST(agent.process->wait(10s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(session_off_leaves_no_backend_and_a_crash_is_seen_by_the_next_round) {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(dir, target(pg,
                                      "    interval: 2s\n    timeout: 1s\n    unhealthy_after: 1\n"
                                      "    monitoring_session: false\n"));
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 10s), agent.process->output());
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 5s));
  // Between rounds no pgvigil backend exists: sampled every 100 ms over two intervals.
  int samples = 0, seen = 0;
  for (const auto until = Clock::now() + 4s; Clock::now() < until; ++samples) {
    if (longLivedPgvigilBackends(pg) != "0") ++seen;
    std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST_MESSAGE("session off: a long-lived pgvigil backend in " << seen << " of " << samples
                                                                     << " samples");
  BOOST_TEST(seen == 0);
  auto session = sessionOf(agent);
  BOOST_TEST(session->getValue<bool>("enabled") == false);
  BOOST_TEST(session->getValue<std::string>("state") == "off");
  auto connections = targetStatus(agent)->getObject("connections");
  BOOST_REQUIRE(connections);
  BOOST_TEST(connections->getValue<std::string>("source") == "probe_session");
  BOOST_TEST(agent.http->get("/metrics").body.find("pgvigil_connections_used{target=\"main\"}") !=
             std::string::npos);

  const auto killed = Clock::now();
  pg.kill9();
  auto seenAfter = waitStatus(*agent.http, "/health", 503, 5s);
  BOOST_REQUIRE_MESSAGE(seenAfter, "health never went 503\n" + agent.process->output());
  BOOST_TEST_MESSAGE("session off: kill -9 to /health 503 in " << ms(Clock::now() - killed)
                                                               << " ms (interval 2s)");
  // Up to one interval (the next round) plus that round's own timeout.
  BOOST_TEST(ms(Clock::now() - killed) <= 3500);
  BOOST_REQUIRE(waitEvent(*agent.process, "target_unhealthy", 2s));
  agent.process->signal(SIGTERM);
  BOOST_TEST(agent.process->wait(10s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(a_session_a_dba_terminates_comes_back_without_a_restart) {
  PgCluster pg;
  TempDir dir;
  const std::string marker = dir.path() + "/restarted";
  auto agent = startAgent(
      dir, target(pg,
                  "    interval: 2s\n    timeout: 1s\n    unhealthy_after: 1\n"
                  "    restart:\n      method: command\n      command: [\"/usr/bin/touch\", \"" +
                      marker + "\"]\n"));
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 10s), agent.process->output());
  BOOST_REQUIRE(waitMonitorConnection(pg, 5s));
  // /status shows the open session within the publish period (1 s).
  bool open = false;
  for (const auto until = Clock::now() + 5s; !open && Clock::now() < until;) {
    open = sessionOf(agent)->getValue<std::string>("state") == "open";
    if (!open) std::this_thread::sleep_for(50ms);
  }
  BOOST_REQUIRE_MESSAGE(open, agent.process->output());
  const auto lines = agent.process->lineCount();

  const auto terminated = Clock::now();
  BOOST_REQUIRE(pg.query("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                         " where application_name = 'pgvigil' and backend_type = 'client backend'"
                         " and now() - backend_start > interval '500 ms'") == "1");
  // It comes back: a confirming round (good), then a new session.
  bool back = false;
  Poco::JSON::Object::Ptr session;
  while (Clock::now() - terminated < 10s && !back) {
    session = sessionOf(agent);
    back =
        session->getValue<int>("drops") == 1 && session->getValue<std::string>("state") == "open";
    if (!back) std::this_thread::sleep_for(50ms);
  }
  BOOST_REQUIRE_MESSAGE(back, agent.process->output());
  BOOST_TEST_MESSAGE("pg_terminate_backend to a new open session: " << ms(Clock::now() - terminated)
                                                                    << " ms");
  auto drop = session->getObject("last_drop");
  BOOST_REQUIRE(drop);
  BOOST_TEST(drop->getValue<std::string>("sqlstate") == "57P01");
  BOOST_TEST(waitMonitorConnection(pg, 5s));
  BOOST_TEST(agent.http->get("/health").status == 200);
  // Nothing was said after the termination, and nothing was restarted.
  std::this_thread::sleep_for(2s);
  BOOST_TEST(agent.process->lineCount() == lines, agent.process->output());
  noAlarms(*agent.process);
  BOOST_TEST(!std::filesystem::exists(marker));
  BOOST_TEST(pg.log().find("terminating connection due to administrator command") !=
             std::string::npos);
  agent.process->signal(SIGTERM);
  BOOST_TEST(agent.process->wait(10s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
