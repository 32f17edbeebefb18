// The restart engine end to end (issue "Restarts that help and never harm"): the real agent, a
// real PostgreSQL, the real command restarter running scripts/pg-restart. Every case checks what
// was restarted and, as much, what was not.
#define BOOST_TEST_MODULE fault_restart
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <iostream>
#include <thread>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kPgRestart = std::string(PGVIGIL_SOURCE_DIR) + "/scripts/pg-restart";

std::string yamlList(const std::vector<std::string>& argv) {
  std::string out = "[";
  for (std::size_t i = 0; i < argv.size(); ++i) out += (i ? ", \"" : "\"") + argv[i] + "\"";
  return out + "]";
}

/// A target on `pg` restarted by `command`, with fast thresholds so each case takes seconds.
std::string target(const std::string& conninfo, const std::vector<std::string>& command,
                   const std::string& extraRestart = "", const std::string& extraTarget = "") {
  return "  - name: main\n    conninfo: \"" + conninfo +
         "\"\n    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 2\n    healthy_after: "
         "1\n" +
         extraTarget + "    restart:\n      method: command\n      command: " + yamlList(command) +
         "\n      timeout: 30s\n      grace: 20s\n" +
         (extraRestart.find("backoff:") == std::string::npos
              ? "      backoff: { initial: 1s, max: 10s }\n"
              : "") +
         extraRestart;
}

std::vector<std::string> pgRestart(const PgCluster& pg) {
  return {kPgRestart, "--fast-timeout",  "3",  "--immediate-timeout", "2",  "--kill-timeout",
          "3",        "--start-timeout", "20", pg.dataDir(),          "-l", pg.logPath()};
}

/// The positions of `names` in `events`, in order; fails the test when one is missing.
void expectInOrder(const std::vector<std::string>& events, const std::vector<std::string>& names,
                   std::size_t from = 0) {
  std::size_t pos = from;
  for (const auto& name : names) {
    while (pos < events.size() && events[pos] != name) ++pos;
    BOOST_TEST_REQUIRE(pos < events.size(), "missing, or out of order: " << name);
    ++pos;
  }
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(restart_engine)

BOOST_AUTO_TEST_CASE(kill9_is_restarted_once_with_the_events_in_order) {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(dir, target(pg.conninfo(), pgRestart(pg)));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  BOOST_REQUIRE(waitMonitorConnection(pg, 5s));
  const auto from = agent.process->lineCount();
  const auto killed = Clock::now();
  pg.kill9();
  auto back = agent.process->waitForLine("event=target_healthy", 30s, from);
  BOOST_REQUIRE_MESSAGE(back, agent.process->output());
  const double toHealthy = secondsSince(killed);
  BOOST_REQUIRE(pg.waitReady(5s));
  std::cout << "kill -9 to target_healthy after a command restart: " << toHealthy << " s"
            << std::endl;
  auto names = eventNames(*agent.process, "main");
  expectInOrder(names, {"target_healthy", "target_unhealthy", "restart_requested",
                        "restart_succeeded", "target_healthy"});
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(countEvents(*agent.process, "restart_requested") == 1u);
  BOOST_TEST(countEvents(*agent.process, "restart_succeeded") == 1u);
  BOOST_TEST(countEvents(*agent.process, "target_unhealthy") == 1u);
}

BOOST_AUTO_TEST_CASE(failing_and_hanging_commands_back_off_then_give_up) {
  PgCluster pg;
  TempDir dir;
  // Budget 3: the fourth restart would exceed it. The first two fail, the third hangs past the
  // restart timeout (a script that alternates), so both failure kinds are counted.
  const std::string script = dir.write("flaky.sh",
                                       "#!/bin/sh\nn=$(cat \"$0.count\" 2>/dev/null || echo 0)\n"
                                       "echo $((n+1)) > \"$0.count\"\n"
                                       "if [ \"$n\" -ge 2 ]; then exec sleep 100; fi\nexit 1\n");
  BOOST_REQUIRE(std::system(("chmod +x " + script).c_str()) == 0);
  auto agent = startAgent(
      dir, target(pg.conninfo(), {script},
                  "      budget: { max: 3, window: 1h }\n"
                  "      backoff: { initial: 500ms, max: 5s, multiplier: 2, jitter: 0% }\n",
                  ""));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  pg.kill9();
  auto gaveUp = agent.process->waitForLine("event=restart_given_up", 60s);
  BOOST_REQUIRE_MESSAGE(gaveUp, agent.process->output());
  BOOST_TEST(gaveUp->find("level=critical") != std::string::npos, *gaveUp);
  std::this_thread::sleep_for(3s);  // no restart storm after giving up
  BOOST_TEST(countEvents(*agent.process, "restart_requested") == 3u, agent.process->output());
  BOOST_TEST(countEvents(*agent.process, "restart_failed") == 3u);
  BOOST_TEST(countEvents(*agent.process, "restart_given_up") == 1u);
  BOOST_TEST(agent.http->get("/health/main").body.find("given_up") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(saturation_never_restarts) {
  PgClusterOptions options;
  options.settings = {"max_connections=6", "superuser_reserved_connections=1"};
  options.password = "pw-canary-77";
  PgCluster pg(options);
  TempDir dir;
  auto agent = startAgent(dir, target("host=127.0.0.1 port=" + std::to_string(pg.port()) +
                                          " dbname=postgres user=pgvigil password=pw-canary-77",
                                      {"/bin/true"}));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  pg.openIdle(5);
  BOOST_REQUIRE_MESSAGE(waitEvent(*agent.process, "target_unhealthy", 10s),
                        agent.process->output());
  const pid_t postmaster = pg.postmasterPid();
  std::this_thread::sleep_for(4s);  // well past unhealthy_after rounds
  BOOST_TEST(countEvents(*agent.process, "restart_requested") == 0u, agent.process->output());
  BOOST_TEST(pg.postmasterPid() == postmaster);  // the same server: every session survived
  pg.closeIdle();
  BOOST_TEST(pg.query("select 1") == "1");
  BOOST_TEST(agent.process->output().find("pw-canary-77") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(wrong_password_never_restarts_and_alerts) {
  PgClusterOptions options;
  options.password = "right-pw-canary";
  PgCluster pg(options);
  TempDir dir;
  auto agent = startAgent(dir, target("host=127.0.0.1 port=" + std::to_string(pg.port()) +
                                          " dbname=postgres user=pgvigil password=wrong-pw-canary",
                                      {"/bin/true"}));
  agent.waitUp();
  auto line = waitEvent(*agent.process, "target_unhealthy", 10s);
  BOOST_REQUIRE_MESSAGE(line, agent.process->output());
  BOOST_TEST(line->find("cause=auth_failed") != std::string::npos, *line);
  BOOST_TEST(line->find("level=critical") != std::string::npos, *line);
  std::this_thread::sleep_for(3s);
  BOOST_TEST(countEvents(*agent.process, "restart_requested") == 0u);
  BOOST_TEST(agent.process->output().find("wrong-pw-canary") == std::string::npos);
  BOOST_TEST(agent.process->output().find("right-pw-canary") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(standby_in_recovery_is_waited_out_for_recovery_grace) {
  PgClusterOptions options;
  options.standby_no_hot = true;
  PgCluster pg(options);
  TempDir dir;
  const std::string marker = dir.path() + "/restarted";
  auto agent = startAgent(
      dir, target(pg.conninfo(), {"/usr/bin/touch", marker}, "      recovery_grace: 5s\n"));
  const auto started = Clock::now();
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_starting_up", 10s));
  auto requested = agent.process->waitForLine("event=restart_requested", 20s);
  const double after = secondsSince(started);
  BOOST_REQUIRE_MESSAGE(requested, agent.process->output());
  std::cout << "starting_up: first restart after " << after << " s (recovery_grace 5s)"
            << std::endl;
  BOOST_TEST(after >= 5.0, "restarted within recovery_grace");
  BOOST_TEST(requested->find("cause=starting_up") != std::string::npos, *requested);
}

BOOST_AUTO_TEST_CASE(hung_postmaster_is_restarted_only_after_hang_after) {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(dir, target(pg.conninfo(), pgRestart(pg), "      hang_after: 4s\n"));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  const auto from = agent.process->lineCount();
  const auto stopped = Clock::now();
  pg.sigstop();
  auto requested = agent.process->waitForLine("event=restart_requested", 30s, from);
  const double after = secondsSince(stopped);
  BOOST_REQUIRE_MESSAGE(requested, agent.process->output());
  std::cout << "SIGSTOP: restart requested after " << after << " s (hang_after 4s)" << std::endl;
  BOOST_TEST(after >= 4.0, "restarted before hang_after");
  BOOST_TEST(requested->find("cause=timeout") != std::string::npos, *requested);
  // pg-restart escalates fast -> immediate -> SIGKILL of the stopped postmaster, then starts it.
  auto healthy = agent.process->waitForLine("event=target_healthy", 40s, from);
  BOOST_REQUIRE_MESSAGE(healthy, agent.process->output());
  std::cout << "SIGSTOP: healthy again after " << secondsSince(stopped) << " s" << std::endl;
  BOOST_TEST(pg.waitReady(5s));
}

BOOST_AUTO_TEST_CASE(budget_and_backoff_survive_an_agent_restart) {
  PgCluster pg;
  TempDir dir;
  const std::string targetYaml = target(pg.conninfo(), {"/bin/false"},
                                        "      budget: { max: 5, window: 1h }\n"
                                        "      backoff: { initial: 1m, max: 5m, jitter: 0% }\n");
  {
    auto agent = startAgent(dir, targetYaml);
    agent.waitUp();
    BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
    pg.kill9();
    BOOST_REQUIRE_MESSAGE(agent.process->waitForLine("event=restart_failed", 15s),
                          agent.process->output());
    agent.process->signal(SIGKILL);  // in the middle of a one-minute backoff
    agent.process->wait(5s);
  }
  auto again = startAgent(dir, targetYaml);
  again.waitUp();
  BOOST_REQUIRE(waitEvent(*again.process, "target_unhealthy", 10s));
  std::this_thread::sleep_for(3s);
  // Still inside the backoff that the first agent started: no new attempt yet.
  BOOST_TEST(countEvents(*again.process, "restart_requested") == 0u, again.process->output());
  auto status = again.http->get("/status");
  BOOST_TEST(status.body.find("\"used\":1") != std::string::npos, status.body);
}

BOOST_AUTO_TEST_CASE(pause_holds_restarts_and_resume_releases_them) {
  PgCluster pg;
  TempDir dir;
  const std::string token = dir.write("token", "pause-token-1\n");
  auto agent =
      startAgent(dir, target(pg.conninfo(), pgRestart(pg)), "  token_file: " + token + "\n");
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  const std::vector<std::pair<std::string, std::string>> auth{
      {"Authorization", "Bearer pause-token-1"}};
  BOOST_REQUIRE(agent.http->request("POST", "/targets/main/pause", auth).status == 200);
  BOOST_REQUIRE(agent.process->waitForLine("event=target_paused", 5s));
  pg.kill9();
  std::this_thread::sleep_for(4s);
  BOOST_TEST(countEvents(*agent.process, "restart_requested") == 0u, agent.process->output());
  BOOST_TEST(agent.http->get("/health/main").body.find("paused") != std::string::npos);
  BOOST_REQUIRE(agent.http->request("POST", "/targets/main/resume", auth).status == 200);
  BOOST_REQUIRE(agent.process->waitForLine("event=restart_requested", 10s));
  BOOST_REQUIRE_MESSAGE(agent.process->waitForLine("event=restart_succeeded", 30s),
                        agent.process->output());
  BOOST_TEST(pg.waitReady(10s));
}

BOOST_AUTO_TEST_SUITE_END()
