// Issue 10: a restart path that cannot work is found at start, before anything has failed —
// one restart_path_broken event and `/status` restart_path at once — and `check` says so. An
// attempt that never reaches the restarter is cause restarter_unreachable in restart_failed and
// restart_given_up, never the target's refused. Against a real PostgreSQL 15 (PgCluster) and the
// real agent binary; the docker path points at a socket that does not exist.
#define BOOST_TEST_MODULE test_restart_preflight
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

Poco::JSON::Object::Ptr parseJson(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

const std::string kPgRestart = std::string(PGVIGIL_SOURCE_DIR) + "/scripts/pg-restart";

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

std::string mainTarget(const PgCluster& pg, const std::string& restartYaml) {
  return "  - name: main\n    conninfo: \"" + pg.conninfo() +
         "\"\n    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 2\n    restart:\n" +
         restartYaml;
}

/// /status's restart_path of the first target, parsed.
Poco::JSON::Object::Ptr restartPath(AgentUnderTest& agent) {
  auto status = agent.http->get("/status");
  BOOST_REQUIRE_EQUAL(status.status, 200);
  auto root = parseJson(status.body);
  auto targets = root->getArray("targets");
  BOOST_REQUIRE(targets && targets->size() >= 1);
  auto t = targets->getObject(0);
  if (t->isNull("restart_path")) return nullptr;
  return t->getObject("restart_path");
}

/// Waits until /status shows a restart_path (the check runs off the loop, right after start).
Poco::JSON::Object::Ptr waitRestartPath(AgentUnderTest& agent, bool ok,
                                        std::chrono::milliseconds timeout = 10s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto p = restartPath(agent);
    if (p && p->getValue<bool>("ok") == ok) return p;
    if (std::chrono::steady_clock::now() > end) return nullptr;
    std::this_thread::sleep_for(100ms);
  }
}

int runShell(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(restart_preflight)

// No Docker socket: said at start, the server healthy, no crash, no restart.
BOOST_AUTO_TEST_CASE(missing_docker_socket_is_reported_at_start) {
  PgCluster pg;
  TempDir dir;
  const std::string socket = dir.path() + "/no-such-docker.sock";
  const auto started = std::chrono::steady_clock::now();
  auto agent = startAgent(dir, mainTarget(pg,
                                          "      method: docker\n      container: pg\n"
                                          "      docker_host: unix://" +
                                              socket + "\n"));
  agent.waitUp();
  auto line = waitEvent(*agent.process, "restart_path_broken", 10s);
  BOOST_REQUIRE_MESSAGE(line, agent.process->output());
  BOOST_TEST_MESSAGE("agent start to restart_path_broken: "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count()
                     << " ms");
  BOOST_TEST(line->find("target=main") != std::string::npos, *line);
  BOOST_TEST(line->find(socket) != std::string::npos, *line);
  auto path = waitRestartPath(agent, false);
  BOOST_REQUIRE_MESSAGE(path, agent.http->get("/status").body);
  BOOST_TEST(path->getValue<std::string>("problem").find("no socket") != std::string::npos,
             path->getValue<std::string>("problem"));
  BOOST_TEST(!path->getValue<std::string>("checked_at").empty());
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  BOOST_TEST(countEvents(*agent.process, "restart_requested") == 0u);
  BOOST_TEST(agent.http->get("/health").status == 200);
  // Checked again every 30 s while broken, but announced once per change.
  BOOST_TEST(countEvents(*agent.process, "restart_path_broken") == 1u);
}

// A command that is not executable: broken at start; made executable and reloaded: ok again,
// one restart_path_ok. `check` names it in its long output and JSON.
BOOST_AUTO_TEST_CASE(non_executable_command_is_reported_and_its_repair_seen_on_reload) {
  PgCluster pg;
  TempDir dir;
  const std::string script = dir.write("restart-pg.sh", "#!/bin/sh\nexit 0\n");
  ::chmod(script.c_str(), 0644);
  auto agent = startAgent(
      dir, mainTarget(pg, "      method: command\n      command: [" + quoted(script) + "]\n"));
  agent.waitUp();
  auto line = waitEvent(*agent.process, "restart_path_broken", 10s);
  BOOST_REQUIRE_MESSAGE(line, agent.process->output());
  BOOST_TEST(line->find("is not executable by this user") != std::string::npos, *line);
  auto path = waitRestartPath(agent, false);
  BOOST_REQUIRE(path);
  BOOST_TEST(path->getValue<std::string>("problem") == "command " + script +
                                                           " is not executable by this user (uid " +
                                                           std::to_string(::geteuid()) + ")");

  const std::string out = dir.path() + "/check.out";
  runShell(pgvigilBinary() + " check -c " + agent.configPath + " > " + out + " 2>&1");
  const std::string text = slurp(out);
  BOOST_TEST(text.find("restart path (command): BROKEN command " + script) != std::string::npos,
             text);
  runShell(pgvigilBinary() + " check --format json -c " + agent.configPath + " > " + out + " 2>&1");
  auto json = parseJson(slurp(out));
  auto rp = json->getArray("targets")->getObject(0)->getObject("restart_path");
  BOOST_REQUIRE(rp);
  BOOST_TEST(!rp->getValue<bool>("ok"));
  BOOST_TEST(rp->getValue<std::string>("method") == "command");
  runShell(pgvigilBinary() + " diagnose -c " + agent.configPath + " -t main > " + out + " 2>&1");
  const std::string diagnosis = slurp(out);
  BOOST_TEST(diagnosis.find("restart path (command) cannot work") != std::string::npos, diagnosis);

  ::chmod(script.c_str(), 0755);
  const auto from = agent.process->lineCount();
  agent.process->signal(SIGHUP);
  BOOST_REQUIRE_MESSAGE(waitEvent(*agent.process, "restart_path_ok", 10s, from),
                        agent.process->output());
  BOOST_TEST(waitRestartPath(agent, true));
  runShell(pgvigilBinary() + " check -c " + agent.configPath + " > " + out + " 2>&1");
  BOOST_TEST(slurp(out).find("restart path (command): OK") != std::string::npos, slurp(out));
}

// pg-restart is recognised: its data directory must exist.
BOOST_AUTO_TEST_CASE(pg_restart_with_a_missing_data_directory_is_reported) {
  PgCluster pg;
  TempDir dir;
  const std::string gone = dir.path() + "/no-such-pgdata";
  auto agent =
      startAgent(dir, mainTarget(pg, "      method: command\n      command: [" +
                                         quoted(kPgRestart) + ", " + quoted(gone) + "]\n"));
  agent.waitUp();
  auto line = waitEvent(*agent.process, "restart_path_broken", 10s);
  BOOST_REQUIRE_MESSAGE(line, agent.process->output());
  auto path = waitRestartPath(agent, false);
  BOOST_REQUIRE(path);
  BOOST_TEST(path->getValue<std::string>("problem") ==
             "data directory " + gone + " (pg-restart's PGDATA) does not exist");
}

// The real pg-restart with the cluster's own data directory: no event, ok in /status.
BOOST_AUTO_TEST_CASE(a_working_path_is_ok_in_status_and_silent) {
  PgCluster pg;
  TempDir dir;
  auto agent =
      startAgent(dir, mainTarget(pg, "      method: command\n      command: [" +
                                         quoted(kPgRestart) + ", " + quoted(pg.dataDir()) + "]\n"));
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitRestartPath(agent, true), agent.http->get("/status").body);
  BOOST_TEST(countEvents(*agent.process, "restart_path_broken") == 0u);
  BOOST_TEST(countEvents(*agent.process, "restart_path_ok") == 0u);
}

// A crash with a restart path that cannot reach Docker: every attempt is restarter_unreachable,
// the budget is spent by them (they count), and restart_given_up says why — not "refused".
BOOST_AUTO_TEST_CASE(unreachable_restarter_names_the_real_cause_in_given_up) {
  PgCluster pg;
  TempDir dir;
  const std::string socket = dir.path() + "/no-such-docker.sock";
  auto agent = startAgent(
      dir, mainTarget(pg, "      method: docker\n      container: pg\n      docker_host: unix://" +
                              socket +
                              "\n      backoff: { initial: 1s, max: 1s }\n"
                              "      budget: { max: 2, window: 1h }\n"));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  pg.kill9();
  auto givenUp = waitEvent(*agent.process, "restart_given_up", 20s);
  BOOST_REQUIRE_MESSAGE(givenUp, agent.process->output());
  BOOST_TEST(givenUp->find("cause=restarter_unreachable") != std::string::npos, *givenUp);
  BOOST_TEST(countEvents(*agent.process, "restart_failed") == 2u);
  for (const auto& l : agent.process->lines())
    if (l.text.find("event=restart_failed") != std::string::npos) {
      BOOST_TEST(l.text.find("cause=restarter_unreachable") != std::string::npos, l.text);
      BOOST_TEST(l.text.find("cause=refused") == std::string::npos, l.text);
    }
}

BOOST_AUTO_TEST_SUITE_END()
