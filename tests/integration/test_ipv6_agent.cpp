// The agent and check on a target reached over the IPv6 loopback (issue 11): a server that
// listens on ::1 only, a target with host=::1, healthy in check, in /health and /status; and a
// target named localhost that resolves to ::1 first while the server listens on 127.0.0.1 only
// (psql works, Node 17-19 fails): pgvigil tries each address as libpq does, so it is healthy and
// never restarted. Needs IPv6 on lo (/proc/net/if_inet6); skipped with a message otherwise.
#define BOOST_TEST_MODULE test_ipv6_agent
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <thread>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

bool hasIpv6Loopback() {
  std::ifstream in("/proc/net/if_inet6");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("00000000000000000000000000000001", 0) == 0) return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ipv6_agent)

BOOST_AUTO_TEST_CASE(a_target_on_ipv6_loopback_is_healthy) {
  if (!hasIpv6Loopback()) {
    BOOST_TEST_MESSAGE("skipped: no IPv6 loopback (::1 on lo in /proc/net/if_inet6)");
    return;
  }
  PgClusterOptions options;
  options.listen_addresses = "::1";
  PgCluster pg(options);
  const std::string conninfo =
      "host=::1 port=" + std::to_string(pg.port()) + " dbname=postgres user=postgres";
  BOOST_TEST(pg.conninfo() == conninfo);  // the fixture itself connects over ::1
  TempDir dir;
  auto agent = startAgent(dir, "  - name: v6\n    conninfo: \"" + conninfo +
                                   "\"\n    interval: 1s\n    timeout: 800ms\n");
  // check on the same config first: OK, over ::1.
  AgentProcess check({.binary = pgvigilBinary(), .args = {"check", "-c", agent.configPath}});
  const auto code = check.wait(30s);
  BOOST_REQUIRE_MESSAGE(code.has_value(), check.output());
  BOOST_TEST(*code == 0, check.output());
  BOOST_TEST(check.waitForLine("PGVIGIL OK - v6", 2s).has_value(), check.output());

  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 15s), agent.process->output());
  auto status = agent.http->get("/status");
  BOOST_REQUIRE(status.status == 200);
  Poco::JSON::Parser parser;
  auto root = parser.parse(status.body).extract<Poco::JSON::Object::Ptr>();
  auto target = root->getArray("targets")->getObject(0);
  BOOST_TEST(target->getValue<std::string>("name") == "v6");
  BOOST_TEST(target->getValue<std::string>("state") == "healthy", status.body);
  // The monitoring connection reaches it too: the server sees pgvigil from ::1.
  BOOST_TEST(waitMonitorConnection(pg, 10s), agent.process->output());
  BOOST_TEST(pg.query("SELECT count(*) > 0 FROM pg_stat_activity WHERE client_addr = '::1' "
                      "AND application_name LIKE 'pgvigil%'") == "t");
}

// localhost -> ::1, 127.0.0.1 (a hosts file of the test's own through CARES_HOSTS, c-ares's
// variable) and a server on 127.0.0.1 only: the first address refuses. Before, the agent took the
// first address only, saw "refused" every round and would restart a server every libpq client
// reaches — a restart that cannot cure anything. Now: healthy, no failed round, no restart, and
// the monitoring session reaches 127.0.0.1 too.
BOOST_AUTO_TEST_CASE(localhost_with_a_refusing_first_address_is_healthy_and_never_restarted) {
  if (!hasIpv6Loopback()) {
    BOOST_TEST_MESSAGE("skipped: no IPv6 loopback (::1 on lo in /proc/net/if_inet6)");
    return;
  }
  PgCluster pg;  // listen_addresses = '127.0.0.1'
  TempDir dir;
  const std::string hosts = dir.write("hosts", "::1 localhost\n127.0.0.1 localhost\n");
  const std::string conninfo =
      "host=localhost port=" + std::to_string(pg.port()) + " dbname=postgres user=postgres";
  auto agent =
      startAgent(dir,
                 "  - name: lh\n    conninfo: \"" + conninfo +
                     "\"\n    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 1\n"
                     "    restart:\n      method: command\n      command: [\"/bin/false\"]\n",
                 "", {"CARES_HOSTS=" + hosts});
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health/lh", 200, 15s), agent.process->output());
  BOOST_TEST(waitMonitorConnection(pg, 10s), agent.process->output());
  BOOST_TEST(pg.query("SELECT count(*) > 0 FROM pg_stat_activity WHERE client_addr = '127.0.0.1' "
                      "AND application_name LIKE 'pgvigil%'") == "t");
  // Three more rounds: none fails, nothing is restarted.
  std::this_thread::sleep_for(3s);
  auto status = agent.http->get("/status");
  BOOST_REQUIRE(status.status == 200);
  Poco::JSON::Parser parser;
  auto target = parser.parse(status.body)
                    .extract<Poco::JSON::Object::Ptr>()
                    ->getArray("targets")
                    ->getObject(0);
  BOOST_TEST(target->getValue<std::string>("state") == "healthy", status.body);
  BOOST_TEST(target->getValue<int>("consecutive_failures") == 0, status.body);
  const std::string out = agent.process->output();
  BOOST_TEST(out.find("target_unhealthy") == std::string::npos, out);
  BOOST_TEST(out.find("restart_requested") == std::string::npos, out);
  BOOST_TEST(out.find("refused") == std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
