// diagnose's addresses and idle steps, the pure parts: which driver ends up where for each
// order of answering addresses, which server settings are named and what is advised, and how
// both show in the text and JSON report (issue 11).
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "app/diagnose/addresses.h"
#include "app/diagnose/idle_settings.h"
#include "app/diagnose/report.h"

using namespace pgvigil;

namespace {

AddressProbe answering(const std::string& address) {
  return {address, 5432, true, "", true, ""};
}
AddressProbe refused(const std::string& address) {
  return {address, 5432, false, "refused", false, ""};
}

const DriverOutcome& find(const std::vector<DriverOutcome>& list, const std::string& prefix) {
  for (const auto& d : list)
    if (d.driver.rfind(prefix, 0) == 0) return d;
  throw std::runtime_error("no driver " + prefix);
}

bool has(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

void set(ServerSetting& s, const std::string& value) {
  s.setting = value;
  s.source = "configuration file";
}

std::vector<ServerSetting> defaults() {
  return {{"idle_session_timeout", "0", "ms", "0", "default"},
          {"idle_in_transaction_session_timeout", "0", "ms", "0", "default"},
          {"tcp_keepalives_idle", "0", "s", "0", "default"},
          {"tcp_keepalives_interval", "0", "s", "0", "default"},
          {"tcp_keepalives_count", "0", "", "0", "default"},
          {"client_connection_check_interval", "0", "ms", "0", "default"}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diagnose_addresses_idle)

BOOST_AUTO_TEST_CASE(ipv6_first_refused_is_the_works_in_psql_fails_in_node_case) {
  const std::vector<AddressProbe> probes = {refused("::1"), answering("127.0.0.1")};
  const auto drivers = driverOutcomes(probes);
  BOOST_TEST(find(drivers, "libpq").ok);
  BOOST_TEST(find(drivers, "libpq").address == "127.0.0.1:5432");
  BOOST_TEST(find(drivers, "node-postgres on Node 16").ok);  // IPv4 first
  BOOST_TEST(!find(drivers, "node-postgres on Node 17 to 19").ok);
  BOOST_TEST(find(drivers, "node-postgres on Node 17 to 19").address == "[::1]:5432");
  BOOST_TEST(find(drivers, "node-postgres on Node 20").ok);  // autoSelectFamily
  // pgvigil tries each address as libpq does: a server psql reaches is never "down" to it (and
  // never restarted for it).
  BOOST_TEST(find(drivers, "pgvigil's session probe").ok);
  BOOST_TEST(find(drivers, "pgvigil's session probe").address == "127.0.0.1:5432");
  const AddressVerdict v = judgeAddresses("localhost", probes);
  BOOST_TEST(v.warn);
  BOOST_TEST(v.detail == "localhost -> ::1 refused, 127.0.0.1 answers");
  BOOST_TEST(has(v.advice.explanation, "works in psql, fails in Node"));
  BOOST_TEST(has(v.advice.explanation, "::1: refused"));
  BOOST_REQUIRE(v.advice.remedies.size() == 3u);
  BOOST_TEST(has(v.advice.remedies[0], "listen_addresses = 'localhost'"));
  BOOST_TEST(has(v.advice.remedies[0], "::1/128"));
  BOOST_TEST(has(v.advice.remedies[1], "host 127.0.0.1 instead of localhost"));
  BOOST_TEST(has(v.advice.remedies[2], "--dns-result-order=ipv4first"));
}

BOOST_AUTO_TEST_CASE(ipv4_refused_fails_only_old_node) {
  const std::vector<AddressProbe> probes = {answering("::1"), refused("127.0.0.1")};
  const auto drivers = driverOutcomes(probes);
  BOOST_TEST(!find(drivers, "node-postgres on Node 16").ok);
  BOOST_TEST(find(drivers, "node-postgres on Node 16").address == "127.0.0.1:5432");
  for (const char* ok : {"libpq", "node-postgres on Node 17 to 19", "node-postgres on Node 20",
                         "pgvigil's session probe"})
    BOOST_TEST(find(drivers, ok).ok, ok);
  const AddressVerdict v = judgeAddresses("localhost", probes);
  BOOST_TEST(v.warn);
  BOOST_TEST(has(v.advice.explanation, "the first address answers"));
  BOOST_TEST(v.advice.remedies.size() == 2u);  // no ipv4first advice: IPv6 answers
  BOOST_TEST(has(v.advice.remedies[0], "127.0.0.1/32"));
}

BOOST_AUTO_TEST_CASE(all_answering_is_no_warning_none_answering_no_advice) {
  const AddressVerdict all = judgeAddresses("db", {answering("::1"), answering("10.0.0.1")});
  BOOST_TEST(!all.warn);
  BOOST_TEST(all.detail ==
             "db -> ::1 answers, 10.0.0.1 answers (every client driver reaches the "
             "server)");
  for (const auto& d : driverOutcomes({answering("::1"), answering("10.0.0.1")})) BOOST_TEST(d.ok);
  const AddressVerdict none = judgeAddresses("db", {refused("::1"), refused("10.0.0.1")});
  BOOST_TEST(none.warn);  // a warning: the tcp step already failed and says why
  BOOST_TEST(has(none.detail, "no address answers"));
  BOOST_TEST(none.advice.remedies.empty());
  AddressProbe loginFails{"10.0.0.2", 5432, true, "", false, "password authentication failed"};
  const AddressVerdict mixed = judgeAddresses("db", {loginFails, answering("10.0.0.1")});
  BOOST_TEST(mixed.warn);
  BOOST_TEST(has(mixed.detail, "10.0.0.2 login failed"));
  BOOST_TEST(has(mixed.advice.explanation, "TCP OK, login failed: password authentication"));
}

BOOST_AUTO_TEST_CASE(defaults_are_not_alarming) {
  auto settings = defaults();
  // Over TCP the kernel's keepalive values show for a 0 left at its default: not a choice.
  settings[2].setting = "7200";
  settings[3].setting = "75";
  settings[4].setting = "9";
  BOOST_TEST(!settings[2].nonDefault());
  const IdleVerdict v = judgeIdleSettings(settings, "mon");
  BOOST_TEST(!v.warn);
  BOOST_TEST(v.notes.empty());
  BOOST_TEST(v.advice.explanation.empty());
  BOOST_TEST(v.advice.remedies.empty());
  BOOST_TEST(has(v.detail, "no setting closes idle sessions"));
  BOOST_TEST(has(v.detail, "role mon"));
}

BOOST_AUTO_TEST_CASE(idle_session_timeout_names_the_pool_settings) {
  auto settings = defaults();
  set(settings[0], "30000");
  const IdleVerdict v = judgeIdleSettings(settings, "mon");
  BOOST_TEST(v.warn);
  BOOST_TEST(has(v.detail, "idle_session_timeout=30s"));
  BOOST_REQUIRE(v.notes.size() == 1u);
  BOOST_TEST(has(v.notes[0], "idle_session_timeout = 30s"));
  BOOST_TEST(has(v.advice.explanation, "ECONNRESET"));
  std::string all;
  for (const auto& r : v.advice.remedies) all += r + "\n";
  for (const char* word :
       {"idleTimeoutMillis", "below 30s", "HikariCP", "idleTimeout", "keepaliveTime", "maxLifetime",
        "pool_timeout", "connection_limit", "ALTER ROLE"})
    BOOST_TEST(has(all, word), word);
}

BOOST_AUTO_TEST_CASE(idle_in_transaction_and_keepalives) {
  auto settings = defaults();
  set(settings[1], "60000");
  set(settings[2], "60");
  set(settings[4], "4");
  set(settings[5], "5000");
  const IdleVerdict v = judgeIdleSettings(settings, "mon");
  BOOST_TEST(v.warn);
  BOOST_TEST(has(v.detail, "idle_in_transaction_session_timeout=1m"));
  BOOST_TEST(has(v.detail, "tcp_keepalives_idle=1m"));
  BOOST_TEST(has(v.detail, "tcp_keepalives_count=4"));
  BOOST_TEST(has(v.detail, "client_connection_check_interval=5s"));
  BOOST_TEST(!has(v.detail, "tcp_keepalives_interval"));
  BOOST_TEST(v.notes.size() == 4u);
  BOOST_TEST(has(v.advice.explanation, "inside an open transaction"));
  BOOST_REQUIRE(v.advice.remedies.size() == 1u);
  BOOST_TEST(has(v.advice.remedies[0], "client.release()"));
  // Keepalives and the connection check alone: named, but no warning.
  auto quiet = defaults();
  set(quiet[2], "60");
  set(quiet[5], "5000");
  const IdleVerdict q = judgeIdleSettings(quiet, "mon");
  BOOST_TEST(!q.warn);
  BOOST_TEST(q.notes.size() == 2u);
  BOOST_TEST(q.advice.remedies.empty());
}

BOOST_AUTO_TEST_CASE(report_shows_addresses_settings_and_env_dir) {
  StepReport s;
  s.step = "addresses";
  s.status = StepStatus::kWarn;
  s.addresses = {refused("::1"), answering("127.0.0.1")};
  s.drivers = driverOutcomes(s.addresses);
  const AddressVerdict v = judgeAddresses("localhost", s.addresses);
  s.detail = v.detail;
  s.advice = v.advice;
  const std::string text = formatStep(s);
  BOOST_TEST(has(text, "! addresses"));
  BOOST_TEST(has(text, "    address [::1]:5432: TCP refused\n"));
  BOOST_TEST(has(text, "    address 127.0.0.1:5432: TCP OK, login OK\n"));
  BOOST_TEST(has(text, "FAILS on [::1]:5432"));

  StepReport idle;
  idle.step = "idle";
  idle.status = StepStatus::kPass;
  idle.settings = defaults();
  set(idle.settings[0], "30000");

  TargetDiagnosis t;
  t.name = "main";
  t.conninfo = "host=localhost";
  t.steps = {s, idle};
  EnvDirListing e;
  e.dir = "/app";
  e.node_env = "development";
  e.precedence = {"process environment", ".env.local", ".env"};
  e.variables = {
      {"DATABASE_URL", true, {{".env.local", 1, "postgresql://u:hunter2@h/db"}, {".env", 3, "x"}}}};
  e.diagnosed = "DATABASE_URL from .env.local (NODE_ENV=development)";
  t.env_dir = e;
  Poco::JSON::Parser parser;
  auto root = parser.parse(reportJson({t}, 0, {"hunter2"})).extract<Poco::JSON::Object::Ptr>();
  auto target = root->getArray("targets")->getObject(0);
  auto steps = target->getArray("steps");
  auto addresses = steps->getObject(0)->getArray("addresses");
  BOOST_TEST(addresses->getObject(0)->getValue<std::string>("tcp_error") == "refused");
  BOOST_TEST(steps->getObject(0)->getArray("drivers")->size() == 5u);
  auto settings = steps->getObject(1)->getArray("settings");
  BOOST_TEST(settings->size() == 6u);
  BOOST_TEST(settings->getObject(0)->getValue<bool>("non_default"));
  BOOST_TEST(!settings->getObject(1)->getValue<bool>("non_default"));
  BOOST_TEST(settings->getObject(4)->isNull("unit"));
  auto envDir = target->getObject("env_dir");
  BOOST_REQUIRE(envDir);
  auto src = envDir->getArray("variables")->getObject(0)->getArray("sources");
  BOOST_TEST(src->getObject(0)->getValue<bool>("wins"));
  BOOST_TEST(src->getObject(0)->getValue<std::string>("value") == "postgresql://u:*****@h/db");
  BOOST_TEST(src->getObject(1)->getValue<int>("line") == 3);
  // Without --env-dir the key is there and null.
  t.env_dir.reset();
  Poco::JSON::Parser again;
  auto plain = again.parse(reportJson({t}, 0, {})).extract<Poco::JSON::Object::Ptr>();
  BOOST_TEST(plain->getArray("targets")->getObject(0)->isNull("env_dir"));
}

BOOST_AUTO_TEST_SUITE_END()
