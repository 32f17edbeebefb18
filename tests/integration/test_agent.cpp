// The real agent process: life cycle, reload, token, metrics through promtool (issue "The agent").
#define BOOST_TEST_MODULE test_agent
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

std::string target(const PgCluster& pg, const std::string& name) {
  return "  - name: " + name + "\n    conninfo: \"" + pg.conninfo() +
         "\"\n    interval: 1s\n    timeout: 800ms\n";
}

int runShell(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/// `pgvigil pause main --for 1m`, then `pgvigil resume main`, through the CLI with the agent's
/// config (its token, its TLS pin): each must exit 0 and show up as the agent's event.
template <typename Agent>
void pauseAndResumeThroughCli(Agent& agent, const std::string& out) {
  BOOST_TEST(runShell(pgvigilBinary() + " pause -c " + agent.configPath + " main --for 1m >" + out +
                      " 2>&1") == 0);
  BOOST_REQUIRE_MESSAGE(agent.process->waitForLine("event=target_paused", 5s),
                        agent.process->output());
  BOOST_TEST(runShell(pgvigilBinary() + " resume -c " + agent.configPath + " main >" + out +
                      " 2>&1") == 0);
  BOOST_REQUIRE(agent.process->waitForLine("event=target_resumed", 5s));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(agent)

BOOST_AUTO_TEST_CASE(invalid_config_at_start_exits_78_with_the_errors) {
  TempDir dir;
  const std::string path = dir.write("bad.yaml", "targets:\n  - name: x\n    intervall: 5s\n");
  AgentProcessOptions options;
  options.binary = pgvigilBinary();
  options.args = {"run", "-c", path};
  AgentProcess agent(options);
  auto code = agent.wait(10s);
  BOOST_REQUIRE(code);
  BOOST_TEST(*code == 78);
  BOOST_TEST(agent.output().find(path + ":3:5") != std::string::npos, agent.output());
}

BOOST_AUTO_TEST_CASE(sighup_with_a_broken_file_keeps_the_old_config) {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(dir, target(pg, "main"));
  agent.waitUp();
  BOOST_REQUIRE(waitStatus(*agent.http, "/health", 200, 10s));
  const std::string good = [&] {
    std::ifstream in(agent.configPath);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  dir.write("pgvigil.yaml", good + "    bogus_key: 1\n");
  const auto from = agent.process->lineCount();
  agent.process->signal(SIGHUP);
  auto rejected = agent.process->waitForLine("event=config_rejected", 5s, from);
  BOOST_REQUIRE_MESSAGE(rejected, agent.process->output());
  BOOST_TEST(agent.process->running());
  BOOST_TEST(agent.http->get("/health").status == 200);

  // A valid new file is applied; the unchanged target keeps its state (no new healthy event).
  dir.write("pgvigil.yaml", good);
  const auto healthyBefore = countEvents(*agent.process, "target_healthy", "main");
  agent.process->signal(SIGHUP);
  BOOST_REQUIRE(agent.process->waitForLine("event=config_loaded", 5s, from));
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(countEvents(*agent.process, "target_healthy", "main") == healthyBefore);
  BOOST_TEST(agent.http->get("/health").status == 200);

  agent.process->signal(SIGTERM);
  auto code = agent.process->wait(10s);
  BOOST_REQUIRE(code);
  BOOST_TEST(*code == 0);
}

BOOST_AUTO_TEST_CASE(token_is_enforced_and_metrics_pass_promtool) {
  PgCluster pg;
  TempDir dir;
  const std::string tokenFile = dir.write("token", "t0ken-canary-123\n");
  auto agent = startAgent(dir, target(pg, "main"), "  token_file: " + tokenFile + "\n");
  agent.waitUp();
  BOOST_REQUIRE(waitStatus(*agent.http, "/health", 200, 10s));
  // Open without a token: liveness and health. Everything else needs it.
  BOOST_TEST(agent.http->get("/livez").status == 200);
  BOOST_TEST(agent.http->get("/health/main").status == 200);
  BOOST_TEST(agent.http->get("/status").status == 401);
  BOOST_TEST(agent.http->get("/metrics").status == 401);
  BOOST_TEST(agent.http->request("GET", "/metrics", {{"Authorization", "Bearer wrong"}}).status ==
             401);
  auto metrics =
      agent.http->request("GET", "/metrics", {{"Authorization", "Bearer t0ken-canary-123"}});
  BOOST_REQUIRE(metrics.status == 200);
  BOOST_TEST(metrics.body.find("pgvigil_up{target=\"main\"} 1") != std::string::npos, metrics.body);
  const std::string metricsFile = dir.write("metrics.txt", metrics.body);
  BOOST_TEST(runShell("promtool check metrics < " + metricsFile + " > " + dir.path() +
                      "/promtool.out 2>&1") == 0);
  std::ifstream complaints(dir.path() + "/promtool.out");
  std::string text((std::istreambuf_iterator<char>(complaints)), {});
  BOOST_TEST(text.empty(), text);

  // HEAD, 404, 405; a control request through the CLI with the token from the config.
  auto head = agent.http->request("HEAD", "/health");
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.body.empty());
  BOOST_TEST(agent.http->get("/nope").status == 404);
  BOOST_TEST(agent.http->request("DELETE", "/health").status == 405);
  pauseAndResumeThroughCli(agent, "/dev/null");
  BOOST_TEST(agent.process->output().find("t0ken-canary-123") == std::string::npos);
}

// Issue 13: the CLI and the agent read the token file with one function. A token written with
// leading whitespace once gave 401 from the CLI (it kept it; the agent trimmed it).
BOOST_AUTO_TEST_CASE(control_cli_reads_the_token_file_as_the_agent_does) {
  PgCluster pg;
  TempDir dir;
  const std::string tokenFile = dir.write("token", "\t spaced-t0ken \r\n");
  auto agent = startAgent(dir, target(pg, "main"), "  token_file: " + tokenFile + "\n");
  agent.waitUp();
  BOOST_REQUIRE(waitStatus(*agent.http, "/health", 200, 10s));
  BOOST_TEST(
      agent.http->request("GET", "/status", {{"Authorization", "Bearer spaced-t0ken"}}).status ==
      200);
  const std::string out = dir.path() + "/cli.out";
  pauseAndResumeThroughCli(agent, out);
}

BOOST_AUTO_TEST_CASE(control_cli_over_tls_pins_the_agents_certificate) {
  PgCluster pg;
  TempDir dir;
  auto makeCert = [&](const std::string& name) {
    const std::string key = dir.path() + "/" + name + ".key",
                      cert = dir.path() + "/" + name + ".pem";
    BOOST_REQUIRE(
        runShell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                 key + " -out " + cert + " >/dev/null 2>&1") == 0);
    return std::make_pair(cert, key);
  };
  const auto [cert, key] = makeCert("agent");
  const auto [otherCert, otherKey] = makeCert("other");
  const std::string tokenFile = dir.write("token", "tls-t0ken-canary\n");
  auto agent = startAgent(
      dir, target(pg, "main"),
      "  token_file: " + tokenFile + "\n  tls: { cert: " + cert + ", key: " + key + " }\n");
  BOOST_REQUIRE_MESSAGE(agent.process->waitForLine("event=target_healthy", 15s),
                        agent.process->output());

  const std::string out = dir.path() + "/cli.out";
  pauseAndResumeThroughCli(agent, out);

  // A config that names another certificate: the CLI refuses the agent's and sends no token.
  std::ifstream in(agent.configPath);
  std::string yaml((std::istreambuf_iterator<char>(in)), {});
  yaml.replace(yaml.find(cert), cert.size(), otherCert);
  const std::string otherConfig = dir.write("other.yaml", yaml);
  BOOST_TEST(runShell(pgvigilBinary() + " pause -c " + otherConfig + " main >" + out + " 2>&1") ==
             1);
  std::ifstream cli(out);
  std::string said((std::istreambuf_iterator<char>(cli)), {});
  BOOST_TEST(said.find("not agent.tls.cert") != std::string::npos, said);
  // The CLI waits for the agent's answer, so a pause that got through would show by now.
  auto health = HttpClient("127.0.0.1", agent.port, /*https=*/true).get("/health/main");
  BOOST_TEST(health.status == 200, health.error);
  BOOST_TEST(health.body.find("paused") == std::string::npos, health.body);
  BOOST_TEST(agent.process->output().find("event=target_paused",
                                          agent.process->output().find("event=target_resumed")) ==
             std::string::npos);
  BOOST_TEST(agent.process->output().find("tls-t0ken-canary") == std::string::npos);
  BOOST_TEST(said.find("tls-t0ken-canary") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
