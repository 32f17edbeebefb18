// The shipped alerting rules (packaging/prometheus/pgvigil-rules.yml) in a real Prometheus
// (Debian's /usr/bin/prometheus) scraping a real agent on loopback that watches a real
// PostgreSQL 15 (PgCluster), restarts disabled (method none):
//  * healthy: no alert fires;
//  * saturation (every usable slot held by idle sessions): PostgresConnectionsHigh fires, stays
//    firing while saturated, and resolves once the sessions are gone;
//  * kill -9 of the postmaster: PostgresTargetDown fires in /api/v1/alerts;
//  * the agent stopped: PgvigilAgentDown fires.
// The test copy of the rules differs from the shipped file in one thing only: every `for:` is 5s
// (1m, 2m, 5m and 15m in the shipped file), and Prometheus scrapes and evaluates every second, so
// the whole run takes about a minute. Every wait is bounded; Prometheus, the agent and the
// cluster are stopped at the end, also on failure.
#define BOOST_TEST_MODULE prometheus_alerts
#include <signal.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "support/agent_harness.h"
#include "support/agent_process.h"
#include "support/http_client.h"
#include "support/pg_cluster.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
using Clk = std::chrono::steady_clock;

namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr auto kFor = "5s";

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in, path + " not found");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The shipped rules with every `for: <duration>` set to kFor.
std::string rulesWithShortFor() {
  const std::string shipped =
      readFile(std::string(PGVIGIL_SOURCE_DIR) + "/packaging/prometheus/pgvigil-rules.yml");
  const std::string copy = std::regex_replace(shipped, std::regex(R"((\n\s+)for: [0-9]+[smh])"),
                                              std::string("$1for: ") + kFor);
  BOOST_REQUIRE(copy != shipped);
  return copy;
}

long long msSince(Clk::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clk::now() - t).count();
}

bool waitFor(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto deadline = Clk::now() + timeout;
  while (!done()) {
    if (Clk::now() >= deadline) return false;
    std::this_thread::sleep_for(250ms);
  }
  return true;
}

class Prometheus {
 public:
  Prometheus(const TempDir& dir, int agentPort)
      : port_(freeLoopbackPort()), http_("127.0.0.1", port_) {
    dir.write("pgvigil-rules.yml", rulesWithShortFor());
    dir.write("prometheus.yml",
              "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
              "  evaluation_interval: 1s\n"
              "rule_files:\n  - " +
                  dir.path() +
                  "/pgvigil-rules.yml\n"
                  "scrape_configs:\n  - job_name: pgvigil\n    static_configs:\n"
                  "      - targets: ['127.0.0.1:" +
                  std::to_string(agentPort) + "']\n");
    process_ = std::make_unique<AgentProcess>(AgentProcessOptions{
        kPrometheus,
        {"--config.file=" + dir.path() + "/prometheus.yml",
         "--storage.tsdb.path=" + dir.path() + "/tsdb",
         "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"}});
    BOOST_REQUIRE_MESSAGE(waitFor(30s, [&] { return http_.get("/-/ready").status == 200; }),
                          "Prometheus did not become ready: " << process_->output());
  }

  /// The body of /api/v1/alerts.
  std::string alerts() const { return http_.get("/api/v1/alerts").body; }

  /// The alert is in /api/v1/alerts with state firing (labels and annotations come first in
  /// each alert object; neither contains a brace).
  bool firing(const std::string& alertname) const {
    const std::regex re("\\{\"labels\":\\{[^}]*\"alertname\":\"" + alertname +
                        "\"[^}]*\\},\"annotations\":\\{[^}]*\\},\"state\":\"firing\"");
    return std::regex_search(alerts(), re);
  }
  /// The alert is in /api/v1/alerts at all (pending or firing).
  bool present(const std::string& alertname) const {
    return alerts().find("\"alertname\":\"" + alertname + "\"") != std::string::npos;
  }
  /// `up` of the agent's scrape: "1", "0" or "" (no sample yet).
  std::string up() const {
    const std::string body = http_.get("/api/v1/query?query=up").body;
    std::smatch m;
    if (std::regex_search(body, m, std::regex(R"re("value":\[[0-9.]+,"([01])"\])re"))) return m[1];
    return "";
  }

 private:
  int port_;
  HttpClient http_;
  std::unique_ptr<AgentProcess> process_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(shipped_alerts_fire_in_a_real_prometheus) {
  if (::access(kPrometheus, X_OK) != 0) {
    BOOST_TEST_MESSAGE("skipped: no " << kPrometheus << " (apt-get install prometheus)");
    return;
  }
  // 10 slots, 3 reserved for superusers: 7 usable.
  PgCluster pg(PgClusterOptions{{"max_connections=10"}});
  TempDir dir;
  auto agent = startAgent(dir, "  - name: main\n    conninfo: \"" + pg.conninfo() +
                                   "\"\n    interval: 1s\n    timeout: 800ms\n"
                                   "    unhealthy_after: 2\n    restart:\n      method: none\n");
  agent.waitUp();
  BOOST_REQUIRE(waitStatus(*agent.http, "/health/main", 200, 15s));
  Prometheus prom(dir, agent.port);
  BOOST_REQUIRE_MESSAGE(waitFor(30s, [&] { return prom.up() == "1"; }), "the agent is not scraped");

  // Healthy: nothing fires, nothing is even pending (more than `for:` of evaluations).
  std::this_thread::sleep_for(7s);
  BOOST_CHECK_MESSAGE(prom.alerts().find("\"alerts\":[]") != std::string::npos, prom.alerts());

  // Saturation: 7 idle sessions hold every usable slot.
  pg.openIdle(7);
  auto t0 = Clk::now();
  BOOST_REQUIRE_MESSAGE(waitFor(40s, [&] { return prom.firing("PostgresConnectionsHigh"); }),
                        "PostgresConnectionsHigh did not fire: " << prom.alerts());
  BOOST_TEST_MESSAGE("saturated -> PostgresConnectionsHigh firing: " << msSince(t0) << " ms");
  // It does not resolve while saturated (10 s: ten scrapes and evaluations).
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(1s);
    BOOST_REQUIRE_MESSAGE(prom.firing("PostgresConnectionsHigh"),
                          "resolved while saturated: " << prom.alerts());
  }
  BOOST_CHECK(!prom.present("PostgresTargetDown"));  // saturated is not down
  pg.closeIdle();
  t0 = Clk::now();
  BOOST_CHECK_MESSAGE(waitFor(30s, [&] { return !prom.present("PostgresConnectionsHigh"); }),
                      "PostgresConnectionsHigh did not resolve: " << prom.alerts());
  BOOST_TEST_MESSAGE("sessions closed -> resolved: " << msSince(t0) << " ms");

  // kill -9 of the postmaster; restarts are off, so it stays down.
  pg.kill9();
  t0 = Clk::now();
  BOOST_REQUIRE(waitStatus(*agent.http, "/health/main", 503, 15s));
  BOOST_CHECK(!prom.firing("PostgresTargetDown"));  // pending: `for:` has not passed yet
  BOOST_REQUIRE_MESSAGE(waitFor(40s, [&] { return prom.firing("PostgresTargetDown"); }),
                        "PostgresTargetDown did not fire: " << prom.alerts());
  const auto downMs = msSince(t0);
  BOOST_TEST_MESSAGE("kill -9 -> PostgresTargetDown firing: " << downMs << " ms");
  // At least unhealthy_after rounds plus `for:`; at most that plus scrape and evaluation slack.
  BOOST_CHECK_GE(downMs, 5000);
  BOOST_CHECK_LE(downMs, 20000);
  BOOST_CHECK(!prom.present("PgvigilAgentDown"));  // the agent itself is fine

  // The agent stops: its scrape fails and PgvigilAgentDown fires.
  agent.process->signal(SIGTERM);
  BOOST_REQUIRE(agent.process->wait(15s).has_value());
  t0 = Clk::now();
  BOOST_REQUIRE_MESSAGE(waitFor(40s, [&] { return prom.firing("PgvigilAgentDown"); }),
                        "PgvigilAgentDown did not fire: " << prom.alerts());
  BOOST_TEST_MESSAGE("agent stopped -> PgvigilAgentDown firing: " << msSince(t0) << " ms");
}
