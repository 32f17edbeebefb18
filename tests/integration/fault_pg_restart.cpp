// scripts/pg-restart through the real agent against a real PostgreSQL 15 (issue 10):
//  - a hung postmaster (SIGSTOP) is cured within hang_after + 5 s, with the demo's timing and
//    pg-restart's default step timeouts: pg-restart sees the stopped postmaster (state T) and
//    kills it at once instead of waiting out a fast and an immediate shutdown it cannot honour;
//  - a start that fails puts the server log's FATAL line into restart_failed and /status.
//
// PGVIGIL_TEST_PG_RESTART and PGVIGIL_TEST_AGENT_BINARY run the same measurement against
// another script or build (docs/benchmarks.md has the before and after).
#define BOOST_TEST_MODULE fault_pg_restart
#include <boost/test/unit_test.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string pgRestartScript() {
  if (const char* other = std::getenv("PGVIGIL_TEST_PG_RESTART"); other && *other) return other;
  return std::string(PGVIGIL_SOURCE_DIR) + "/scripts/pg-restart";
}

constexpr double kHangAfter = 10.0;  // the demo's
constexpr double kBound = kHangAfter + 5.0;

/// The demo's target (src/app/cmd_demo.cpp): 2 s interval, 1.5 s timeout, hang_after 10 s,
/// pg-restart with its default step timeouts and the cluster's log file.
std::string demoTarget(const PgCluster& pg) {
  return "  - name: main\n    conninfo: \"" + pg.conninfo() +
         "\"\n    interval: 2s\n    timeout: 1500ms\n    unhealthy_after: 2\n"
         "    healthy_after: 1\n    restart:\n      method: command\n      command: [\"" +
         pgRestartScript() + "\", \"" + pg.dataDir() + "\", \"-l\", \"" + pg.logPath() +
         "\"]\n      timeout: 60s\n      grace: 15s\n      hang_after: 10s\n"
         "      backoff: { initial: 1s, max: 30s }\n";
}

double cureOnce() {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(dir, demoTarget(pg));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 15s));
  BOOST_REQUIRE(waitMonitorConnection(pg, 10s));
  const auto from = agent.process->lineCount();
  const auto stopped = Clock::now();
  pg.sigstop();
  auto requested = agent.process->waitForLine("event=restart_requested", 40s, from);
  BOOST_REQUIRE_MESSAGE(requested, agent.process->output());
  const double toRequest = std::chrono::duration<double>(Clock::now() - stopped).count();
  auto healthy = agent.process->waitForLine("event=target_healthy", 60s, from);
  BOOST_REQUIRE_MESSAGE(healthy, agent.process->output());
  const double toHealthy = std::chrono::duration<double>(Clock::now() - stopped).count();
  BOOST_TEST(requested->find("cause=timeout") != std::string::npos, *requested);
  BOOST_TEST(pg.waitReady(10s));
  std::cout << "SIGSTOP: restart requested after " << toRequest << " s, healthy after " << toHealthy
            << " s (hang_after " << kHangAfter << " s)" << std::endl;
  return toHealthy;
}

}  // namespace

BOOST_AUTO_TEST_CASE(hung_postmaster_is_cured_within_hang_after_plus_5s) {
  std::vector<double> times;
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST_CONTEXT("trial " << i + 1) {
      const double t = cureOnce();
      times.push_back(t);
      BOOST_TEST(t <= kBound, "cured after " << t << " s, bound " << kBound << " s");
    }
  }
  std::sort(times.begin(), times.end());
  std::cout << "SIGSTOP -> healthy: min " << times.front() << " s, median " << times[1]
            << " s, max " << times.back() << " s over " << times.size() << " trials" << std::endl;
}

// A data directory that cannot start (a bad setting in postgresql.conf): pg_ctl only says
// "could not start server"; the reason is in the server log, and pg-restart's tail of it must
// reach the restart_failed event (text log, /events) and /status's restart history.
BOOST_AUTO_TEST_CASE(failed_start_puts_the_server_logs_fatal_line_in_the_event) {
  PgCluster pg;
  TempDir dir;
  const std::string token = dir.write("token", "records-token-1\n");
  auto agent = startAgent(
      dir,
      "  - name: main\n    conninfo: \"" + pg.conninfo() +
          "\"\n    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 2\n"
          "    healthy_after: 1\n    restart:\n      method: command\n      command: [\"" +
          pgRestartScript() + "\", \"--start-timeout\", \"10\", \"" + pg.dataDir() +
          "\", \"-l\", \"" + pg.logPath() +
          "\"]\n      timeout: 40s\n      budget: { max: 1, window: 1h }\n",
      "  token_file: " + token + "\n");
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 15s));
  {
    std::ofstream conf(pg.dataDir() + "/postgresql.conf", std::ios::app);
    conf << "\nshared_buffers = 'not-a-size'\n";
  }
  pg.kill9();
  auto failed = waitEvent(*agent.process, "restart_failed", 60s);
  BOOST_REQUIRE_MESSAGE(failed, agent.process->output());
  std::cout << *failed << std::endl;
  BOOST_TEST(failed->find("detail=\"exited 1: pg-restart: start failed\"") != std::string::npos,
             *failed);
  BOOST_TEST(failed->find("output=") != std::string::npos, *failed);
  BOOST_TEST(failed->find("FATAL:") != std::string::npos, *failed);
  BOOST_TEST(failed->find("shared_buffers") != std::string::npos, *failed);

  const std::vector<std::pair<std::string, std::string>> auth{
      {"Authorization", "Bearer records-token-1"}};
  Poco::JSON::Parser parser;
  auto events = parser.parse(agent.http->request("GET", "/events", auth).body)
                    .extract<Poco::JSON::Object::Ptr>()
                    ->getArray("events");
  bool seen = false;
  for (std::size_t i = 0; i < events->size(); ++i) {
    auto e = events->getObject(static_cast<unsigned>(i));
    if (e->getValue<std::string>("event") != "restart_failed") continue;
    seen = true;
    BOOST_TEST(e->get("attempt").isInteger());  // counts are JSON numbers
    BOOST_TEST(e->getValue<std::string>("output").find("FATAL:") != std::string::npos);
  }
  BOOST_TEST(seen);
  Poco::JSON::Parser statusParser;
  auto history = statusParser.parse(agent.http->request("GET", "/status", auth).body)
                     .extract<Poco::JSON::Object::Ptr>()
                     ->getArray("targets")
                     ->getObject(0)
                     ->getObject("restart")
                     ->getArray("history");
  BOOST_REQUIRE(history->size() >= 1u);
  const std::string output = history->getObject(0)->getValue<std::string>("output");
  BOOST_TEST(output.find("FATAL:") != std::string::npos, output);
  BOOST_TEST(output.find("server log: ") != std::string::npos, output);
}
