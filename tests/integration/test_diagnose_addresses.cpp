// diagnose against real PostgreSQL 15 servers (issue 11): "which address really answers" — the
// name localhost with both ::1 and 127.0.0.1, a server listening on only one of them or on both,
// each address tried on its own and what each client driver does with the list — and the
// idle-connection killers (idle_session_timeout, idle_in_transaction_session_timeout,
// tcp_keepalives_*, client_connection_check_interval) named with their values and the pool
// settings to match, and nothing alarming with PostgreSQL's defaults.
//
// What the address tests need: IPv6 on the loopback interface (/proc/net/if_inet6 lists ::1 on
// lo; skipped with a message otherwise). localhost gets both addresses from a hosts file of the
// test's own, named by CARES_HOSTS (c-ares's variable, which pgvigil's resolver honours), so the
// machine's /etc/hosts (here: 127.0.0.1 localhost only) is neither needed nor edited.
#define BOOST_TEST_MODULE test_diagnose_addresses
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <map>
#include <thread>

#include "check_support.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;

namespace {

bool hasIpv6Loopback() {
  std::ifstream in("/proc/net/if_inet6");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("00000000000000000000000000000001", 0) == 0) return true;
  return false;
}

Poco::JSON::Object::Ptr stepOf(const Poco::JSON::Object::Ptr& root, const std::string& name) {
  auto steps = root->getArray("targets")->getObject(0)->getArray("steps");
  for (size_t i = 0; i < steps->size(); ++i)
    if (steps->getObject(i)->getValue<std::string>("step") == name) return steps->getObject(i);
  throw std::runtime_error("no step " + name);
}

Poco::JSON::Object::Ptr driver(const Poco::JSON::Object::Ptr& step, const std::string& prefix) {
  auto drivers = step->getArray("drivers");
  for (size_t i = 0; i < drivers->size(); ++i)
    if (drivers->getObject(i)->getValue<std::string>("driver").rfind(prefix, 0) == 0)
      return drivers->getObject(i);
  throw std::runtime_error("no driver " + prefix);
}

struct Localhost {
  TempDir dir;
  std::string hosts = dir.write("hosts", "::1 localhost\n127.0.0.1 localhost\n");
  std::vector<std::string> env() const { return {"CARES_HOSTS=" + hosts}; }
};

std::string localConninfo(const PgCluster& pg) {
  return "host=localhost port=" + std::to_string(pg.port()) +
         " dbname=postgres user=postgres sslmode=disable";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diagnose_addresses)

BOOST_AUTO_TEST_CASE(server_on_127_0_0_1_only_localhost_first_resolves_to_ipv6) {
  if (!hasIpv6Loopback()) {
    BOOST_TEST_MESSAGE("skipped: no IPv6 loopback (::1 on lo in /proc/net/if_inet6)");
    return;
  }
  Localhost lh;
  PgCluster pg;  // listen_addresses = '127.0.0.1'
  Run json =
      runPgvigil({"diagnose", "--conninfo", localConninfo(pg), "--format", "json"}, lh.env());
  BOOST_TEST_INFO(json.all());
  auto root = parseJson(json.out);
  BOOST_TEST(stepOf(root, "dns")->getValue<std::string>("detail") == "localhost -> ::1, 127.0.0.1");
  auto step = stepOf(root, "addresses");
  BOOST_TEST(step->getValue<std::string>("status") == "warn");
  auto addresses = step->getArray("addresses");
  BOOST_REQUIRE(addresses->size() == 2u);
  BOOST_TEST(addresses->getObject(0)->getValue<std::string>("address") == "::1");
  BOOST_TEST(!addresses->getObject(0)->getValue<bool>("tcp"));
  BOOST_TEST(addresses->getObject(0)->getValue<std::string>("tcp_error") == "refused");
  BOOST_TEST(addresses->getObject(1)->getValue<std::string>("address") == "127.0.0.1");
  BOOST_TEST(addresses->getObject(1)->getValue<bool>("answers"));
  const std::string port = std::to_string(pg.port());
  auto libpq = driver(step, "libpq");
  BOOST_TEST(libpq->getValue<bool>("connects"));
  BOOST_TEST(libpq->getValue<std::string>("address") == "127.0.0.1:" + port);
  auto node17 = driver(step, "node-postgres on Node 17 to 19");
  BOOST_TEST(!node17->getValue<bool>("connects"));
  BOOST_TEST(node17->getValue<std::string>("address") == "[::1]:" + port);
  BOOST_TEST(driver(step, "node-postgres on Node 16")->getValue<bool>("connects"));
  BOOST_TEST(driver(step, "node-postgres on Node 20")->getValue<bool>("connects"));
  // pgvigil's session probe tries each address as libpq does: the server psql reaches is up to
  // check and diagnose too (a warning, not a failure), and never restarted for Node's problem.
  BOOST_TEST(driver(step, "pgvigil's session probe")->getValue<bool>("connects"));
  BOOST_TEST(json.code == 0);
  BOOST_TEST(stepOf(root, "tcp")->getValue<std::string>("status") == "pass");
  BOOST_TEST(stepOf(root, "tcp")->getValue<std::string>("detail") ==
             "connected to 127.0.0.1:" + std::to_string(pg.port()));
  Run check = runPgvigil(
      {"check", "-c", lh.dir.write("c.yaml", configYaml(targetYaml("main", localConninfo(pg))))},
      lh.env());
  BOOST_TEST_INFO(check.all());
  BOOST_TEST(check.code == 0);

  Run text = runPgvigil({"diagnose", "--conninfo", localConninfo(pg)}, lh.env());
  BOOST_TEST_INFO(text.all());
  BOOST_TEST(contains(text.out, "! addresses"));
  BOOST_TEST(contains(text.out, "address [::1]:" + port + ": TCP refused"));
  BOOST_TEST(contains(text.out, "address 127.0.0.1:" + port + ": TCP OK, login OK"));
  BOOST_TEST(contains(text.out, "works in psql, fails in Node"));
  BOOST_TEST(contains(text.out, "FAILS on [::1]:" + port));  // Node 17 to 19
  BOOST_TEST(contains(text.out, "listen_addresses = 'localhost'"));
}

BOOST_AUTO_TEST_CASE(server_on_ipv6_loopback_only) {
  if (!hasIpv6Loopback()) {
    BOOST_TEST_MESSAGE("skipped: no IPv6 loopback (::1 on lo in /proc/net/if_inet6)");
    return;
  }
  Localhost lh;
  PgClusterOptions options;
  options.listen_addresses = "::1";
  PgCluster pg(options);
  Run json =
      runPgvigil({"diagnose", "--conninfo", localConninfo(pg), "--format", "json"}, lh.env());
  BOOST_TEST_INFO(json.all());
  BOOST_TEST(json.code == 0);  // a warning is no failure: libpq and pgvigil reach ::1 first
  auto root = parseJson(json.out);
  auto step = stepOf(root, "addresses");
  BOOST_TEST(step->getValue<std::string>("status") == "warn");
  auto addresses = step->getArray("addresses");
  BOOST_REQUIRE(addresses->size() == 2u);
  BOOST_TEST(addresses->getObject(0)->getValue<bool>("answers"));
  BOOST_TEST(addresses->getObject(1)->getValue<std::string>("tcp_error") == "refused");
  auto node16 = driver(step, "node-postgres on Node 16");
  BOOST_TEST(!node16->getValue<bool>("connects"));  // IPv4 first, and only that one
  BOOST_TEST(node16->getValue<std::string>("address") == "127.0.0.1:" + std::to_string(pg.port()));
  BOOST_TEST(driver(step, "node-postgres on Node 17 to 19")->getValue<bool>("connects"));
  BOOST_TEST(driver(step, "libpq")->getValue<bool>("connects"));
}

BOOST_AUTO_TEST_CASE(server_on_both_every_driver_connects) {
  if (!hasIpv6Loopback()) {
    BOOST_TEST_MESSAGE("skipped: no IPv6 loopback (::1 on lo in /proc/net/if_inet6)");
    return;
  }
  Localhost lh;
  PgClusterOptions options;
  options.listen_addresses = "127.0.0.1,::1";
  PgCluster pg(options);
  Run json =
      runPgvigil({"diagnose", "--conninfo", localConninfo(pg), "--format", "json"}, lh.env());
  BOOST_TEST_INFO(json.all());
  BOOST_TEST(json.code == 0);
  auto root = parseJson(json.out);
  auto step = stepOf(root, "addresses");
  BOOST_TEST_MESSAGE("addresses step, 2 addresses, both answering: "
                     << step->getValue<double>("took_seconds") * 1000 << " ms; diagnose took "
                     << json.took.count() << " ms");
  BOOST_TEST(step->getValue<std::string>("status") == "pass");
  BOOST_TEST(step->getArray("addresses")->size() == 2u);
  for (size_t i = 0; i < 2; ++i)
    BOOST_TEST(step->getArray("addresses")->getObject(i)->getValue<bool>("answers"));
  auto drivers = step->getArray("drivers");
  BOOST_TEST(drivers->size() == 5u);
  for (size_t i = 0; i < drivers->size(); ++i)
    BOOST_TEST(drivers->getObject(i)->getValue<bool>("connects"));
  Run check = runPgvigil(
      {"check", "-c", lh.dir.write("c.yaml", configYaml(targetYaml("main", localConninfo(pg))))},
      lh.env());
  BOOST_TEST_INFO(check.all());
  BOOST_TEST(check.code == 0);
}

BOOST_AUTO_TEST_CASE(one_address_nothing_to_compare) {
  PgCluster pg;
  Run text = runPgvigil({"diagnose", "--conninfo", pg.conninfo("sslmode=disable")});
  BOOST_TEST_INFO(text.all());
  BOOST_TEST(text.code == 0);
  BOOST_TEST(contains(text.out, "- addresses"));
  BOOST_TEST(contains(text.out, "127.0.0.1 has one address: nothing to compare"));
}

BOOST_AUTO_TEST_CASE(idle_killers_named_with_values_and_pool_advice) {
  PgClusterOptions options;
  options.settings = {"idle_session_timeout=30s", "idle_in_transaction_session_timeout=1min",
                      "tcp_keepalives_idle=60", "client_connection_check_interval=5s"};
  PgCluster pg(options);
  // One more through ALTER SYSTEM, as an operator would set it on a running server.
  // (The fixture's own session is a unix-socket one, where tcp_* read 0: the reload is seen by
  // the configuration's load time instead.)
  const std::string loaded = pg.query("SELECT pg_conf_load_time()");
  pg.query("ALTER SYSTEM SET tcp_keepalives_count = 4");
  pg.query("SELECT pg_reload_conf()");
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; ++i) {
    reloaded = pg.query("SELECT pg_conf_load_time()") != loaded;
    if (!reloaded) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_REQUIRE(reloaded);

  Run json =
      runPgvigil({"diagnose", "--conninfo", pg.conninfo("sslmode=disable"), "--format", "json"});
  BOOST_TEST_INFO(json.all());
  BOOST_TEST(json.code == 0);  // a warning, not a failure
  auto root = parseJson(json.out);
  auto step = stepOf(root, "idle");
  BOOST_TEST(step->getValue<std::string>("status") == "warn");
  std::map<std::string, Poco::JSON::Object::Ptr> byName;
  auto settings = step->getArray("settings");
  for (size_t i = 0; i < settings->size(); ++i)
    byName[settings->getObject(i)->getValue<std::string>("name")] = settings->getObject(i);
  BOOST_TEST(byName.size() == 6u);
  BOOST_TEST(byName["idle_session_timeout"]->getValue<std::string>("setting") == "30000");
  BOOST_TEST(byName["idle_session_timeout"]->getValue<std::string>("unit") == "ms");
  BOOST_TEST(byName["idle_session_timeout"]->getValue<bool>("non_default"));
  BOOST_TEST(byName["idle_in_transaction_session_timeout"]->getValue<std::string>("setting") ==
             "60000");
  BOOST_TEST(byName["tcp_keepalives_idle"]->getValue<std::string>("setting") == "60");
  BOOST_TEST(byName["tcp_keepalives_count"]->getValue<std::string>("setting") == "4");
  BOOST_TEST(!byName["tcp_keepalives_interval"]->getValue<bool>("non_default"));
  const std::string detail = step->getValue<std::string>("detail");
  BOOST_TEST(contains(detail, "idle_session_timeout=30s"));
  BOOST_TEST(contains(detail, "idle_in_transaction_session_timeout=1m"));
  BOOST_TEST(contains(detail, "client_connection_check_interval=5s"));
  BOOST_TEST(!contains(detail, "tcp_keepalives_interval"));
  BOOST_TEST(contains(step->getValue<std::string>("explanation"), "ECONNRESET"));
  std::string remedies;
  auto r = step->getArray("remedies");
  for (size_t i = 0; i < r->size(); ++i) remedies += r->getElement<std::string>(i) + "\n";
  BOOST_TEST(contains(remedies, "idleTimeoutMillis"));
  BOOST_TEST(contains(remedies, "HikariCP"));
  BOOST_TEST(contains(remedies, "pool_timeout"));
  BOOST_TEST(contains(remedies, "ALTER ROLE"));

  Run text = runPgvigil({"diagnose", "--conninfo", pg.conninfo("sslmode=disable")});
  BOOST_TEST_INFO(text.all());
  BOOST_TEST(contains(text.out, "! idle"));
  BOOST_TEST(contains(text.out, "note:   idle_session_timeout = 30s"));
  BOOST_TEST(contains(text.out, "note:   tcp_keepalives_count = 4"));
  BOOST_TEST(contains(text.out, "remedy: node-postgres: new Pool({ idleTimeoutMillis"));
}

BOOST_AUTO_TEST_CASE(defaults_say_nothing_alarming) {
  PgCluster pg;
  Run text = runPgvigil({"diagnose", "--conninfo", pg.conninfo("sslmode=disable")});
  BOOST_TEST_INFO(text.all());
  BOOST_TEST(text.code == 0);
  BOOST_TEST(contains(text.out, "\u2713 idle"));
  BOOST_TEST(contains(text.out, "no setting closes idle sessions"));
  BOOST_TEST(!contains(text.out, "ECONNRESET"));
  BOOST_TEST(!contains(text.out, "note:"));
  Run json =
      runPgvigil({"diagnose", "--conninfo", pg.conninfo("sslmode=disable"), "--format", "json"});
  auto step = stepOf(parseJson(json.out), "idle");
  BOOST_TEST(step->getValue<std::string>("status") == "pass");
  BOOST_TEST(step->getArray("notes")->size() == 0u);
  BOOST_TEST(step->isNull("explanation"));
}

BOOST_AUTO_TEST_SUITE_END()
