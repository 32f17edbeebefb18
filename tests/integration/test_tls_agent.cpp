// The agent on a TLS target (issue 11): the server certificate's expiry is in /status
// (last_round.server_certificate_not_after), in /metrics
// (pgvigil_server_certificate_expiry_seconds) and, within tls_expiry_warning, a
// certificate_expiring event, once, not every round.
#define BOOST_TEST_MODULE test_tls_agent
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <sstream>
#include <thread>

#include "core/wall_time.h"
#include "support/agent_harness.h"
#include "support/pg_cluster.h"
#include "support/test_pki.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

double metricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  throw std::runtime_error("no " + series + " in:\n" + text);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_agent)

BOOST_AUTO_TEST_CASE(certificate_expiry_in_status_metrics_and_one_event) {
  TempDir dir;
  const TestPki pki = makeTestPki(dir.path(), 20);
  PgCluster pg({.ssl_cert_file = pki.cert, .ssl_key_file = pki.key});
  const std::string conninfo =
      "host=localhost hostaddr=127.0.0.1 port=" + std::to_string(pg.port()) +
      " dbname=postgres user=postgres sslmode=verify-full sslrootcert=" + pki.ca;
  const std::string targets = "  - name: main\n    conninfo: \"" + conninfo +
                              "\"\n    interval: 1s\n    timeout: 800ms\n"
                              "    tls_expiry_warning: 30d\n"
                              "  - name: plain\n    conninfo: \"" +
                              pg.conninfo("sslmode=disable") +
                              "\"\n    interval: 1s\n    timeout: 800ms\n"
                              "    tls_expiry_warning: 30d\n";
  auto agent = startAgent(dir, targets);
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 15s), agent.process->output());

  auto line = waitEvent(*agent.process, "certificate_expiring", 10s);
  BOOST_REQUIRE_MESSAGE(line, agent.process->output());
  BOOST_TEST(line->find("target=main") != std::string::npos, *line);

  const WallTime now = std::chrono::system_clock::now();
  auto status = agent.http->get("/status");
  BOOST_REQUIRE(status.status == 200);
  Poco::JSON::Parser parser;
  auto root = parser.parse(status.body).extract<Poco::JSON::Object::Ptr>();
  auto targetsArr = root->getArray("targets");
  auto main = targetsArr->getObject(0);
  BOOST_REQUIRE(main->getValue<std::string>("name") == "main");
  const auto notAfter = parseWallTime(
      main->getObject("last_round")->getValue<std::string>("server_certificate_not_after"));
  BOOST_REQUIRE(notAfter.has_value());
  const auto left = *notAfter - now;
  BOOST_TEST((left > std::chrono::hours(24 * 19) && left <= std::chrono::hours(24 * 20)));
  BOOST_TEST(
      targetsArr->getObject(1)->getObject("last_round")->isNull("server_certificate_not_after"));

  auto metrics = agent.http->get("/metrics");
  BOOST_REQUIRE(metrics.status == 200);
  const double seconds =
      metricValue(metrics.body, "pgvigil_server_certificate_expiry_seconds{target=\"main\"}");
  BOOST_TEST(seconds > 19 * 86400.0);
  BOOST_TEST(seconds <= 20 * 86400.0);
  BOOST_TEST(metrics.body.find("pgvigil_server_certificate_expiry_seconds{target=\"plain\"}") ==
             std::string::npos);

  // More rounds of the same certificate: still one event.
  std::this_thread::sleep_for(3s);
  BOOST_TEST(countEvents(*agent.process, "certificate_expiring") == 1u, agent.process->output());
}

BOOST_AUTO_TEST_SUITE_END()
