// `pgvigil check` and `diagnose` under faults, against a real PostgreSQL: a hung (SIGSTOPped)
// postmaster must give a timeout that names the startup phase within the timeout, a full server
// too_many_connections (never OK), and connection usage at warn / critical WARNING / CRITICAL.
#define BOOST_TEST_MODULE fault_check
#include <boost/test/unit_test.hpp>

#include "check_support.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

/// Resumes a SIGSTOPped postmaster when the test ends, also on failure, so the fixture can stop it.
struct Continue {
  PgCluster& pg;
  ~Continue() { pg.sigcont(); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(check_faults)

BOOST_AUTO_TEST_CASE(hung_postmaster_is_a_startup_timeout_within_the_timeout) {
  PgCluster pg;
  TempDir tmp;
  const std::string config =
      tmp.write("pgvigil.yaml", configYaml(targetYaml("main", pg.conninfo(), "    timeout: 1s\n")));
  pg.sigstop();
  Continue resume{pg};

  Run check = runPgvigil({"check", "-c", config, "--format", "json"});
  BOOST_TEST_INFO(check.all());
  BOOST_TEST(check.code == 2);
  auto target = parseJson(check.out)->getArray("targets")->getObject(0);
  BOOST_TEST(target->getValue<std::string>("cause") == "timeout");
  BOOST_TEST(target->getValue<std::string>("phase") == "startup");
  // The round is bounded by its 1 s timeout; the rest is process start and exit.
  BOOST_TEST(target->getValue<double>("latency_seconds") <= 1.25);
  BOOST_TEST(check.took < 2500ms);

  Run text = runPgvigil({"check", "-c", config});
  BOOST_TEST(text.code == 2);
  BOOST_TEST(text.firstLine().rfind("PGVIGIL CRITICAL - main: ", 0) == 0);
  BOOST_TEST((contains(text.firstLine(), "timeout") || contains(text.firstLine(), "timed out")));

  Run diag = runPgvigil({"diagnose", "-c", config});
  BOOST_TEST_INFO(diag.all());
  BOOST_TEST(diag.code == 2);
  BOOST_TEST(contains(diag.out, "\u2713 tcp"));  // the kernel still accepts the connection
  BOOST_TEST(contains(diag.out, "cause:  timeout (phase startup)"));
  BOOST_TEST(contains(diag.out, "hung or stopped"));
  BOOST_TEST(contains(diag.out, "kill -CONT"));
  BOOST_TEST(diag.took < 4000ms);
}

BOOST_AUTO_TEST_CASE(full_server_is_too_many_connections_never_ok) {
  PgCluster pg({.settings = {"max_connections=10"}});
  TempDir tmp;
  const std::string config =
      tmp.write("pgvigil.yaml", configYaml(targetYaml("main", pg.conninfo())));
  pg.openIdle(10);

  Run check = runPgvigil({"check", "-c", config, "--format", "json"});
  BOOST_TEST_INFO(check.all());
  BOOST_TEST(check.code == 2);
  auto root = parseJson(check.out);
  BOOST_TEST(root->getValue<std::string>("status") == "CRITICAL");
  BOOST_TEST(root->getArray("targets")->getObject(0)->getValue<std::string>("cause") ==
             "too_many_connections");

  Run diag = runPgvigil({"diagnose", "-c", config});
  BOOST_TEST_INFO(diag.all());
  BOOST_TEST(diag.code == 2);
  BOOST_TEST(contains(diag.out, "cause:  too_many_connections"));
  BOOST_TEST(contains(diag.out, "pg_terminate_backend"));
  BOOST_TEST(contains(diag.out, "superuser_reserved_connections"));
  BOOST_TEST(contains(diag.out, "state LIKE 'idle%'"));

  pg.closeIdle();
  Run after = runPgvigil({"check", "-c", config});
  BOOST_TEST_INFO(after.all());
  BOOST_TEST(after.code == 0);
}

BOOST_AUTO_TEST_CASE(connection_usage_at_warn_and_critical) {
  // usable = 20 - 3 superuser_reserved = 17
  PgCluster pg({.settings = {"max_connections=20"}});
  TempDir tmp;
  const std::string config = tmp.write(
      "pgvigil.yaml", configYaml(targetYaml("main", pg.conninfo(),
                                            "    checks:\n      connections:\n        warn: 40%\n"
                                            "        critical: 90%\n")));
  pg.openIdle(8);  // 8 or 9 (with the probe) of 17: >= 40%, < 90%
  Run warn = runPgvigil({"check", "-c", config});
  BOOST_TEST_INFO(warn.all());
  BOOST_TEST(warn.code == 1);
  BOOST_TEST(warn.firstLine().rfind("PGVIGIL WARNING - main: ", 0) == 0);
  BOOST_TEST(contains(warn.firstLine(), "main_connections_usage="));
  BOOST_TEST(contains(warn.firstLine(), ";40;90;0;100"));
  Run warnJson = runPgvigil({"check", "-c", config, "--format", "json"});
  auto conns = parseJson(warnJson.out)->getArray("targets")->getObject(0)->getObject("connections");
  BOOST_TEST(conns->getValue<int>("usable") == 17);
  BOOST_TEST(conns->getValue<int>("used") >= 8);
  BOOST_TEST(conns->getObject("by_state")->getValue<int>("idle") >= 8);
  BOOST_TEST(conns->getValue<bool>("at_warn"));
  BOOST_TEST(!conns->getValue<bool>("at_critical"));
  Run diagWarn = runPgvigil({"diagnose", "-c", config});
  BOOST_TEST_INFO(diagWarn.all());
  BOOST_TEST(diagWarn.code == 0);
  BOOST_TEST(contains(diagWarn.out, "! headroom  WARN"));

  pg.closeIdle();
  pg.openIdle(16);  // 16 or 17 of 17
  Run crit = runPgvigil({"check", "-c", config});
  BOOST_TEST_INFO(crit.all());
  BOOST_TEST(crit.code == 2);
  BOOST_TEST(crit.firstLine().rfind("PGVIGIL CRITICAL - main: ", 0) == 0);
  Run diagCrit = runPgvigil({"diagnose", "-c", config});
  BOOST_TEST_INFO(diagCrit.all());
  BOOST_TEST(diagCrit.code == 2);
  BOOST_TEST(contains(diagCrit.out, "\u2717 headroom"));
  BOOST_TEST(contains(diagCrit.out, "pg_terminate_backend"));
  BOOST_TEST(contains(diagCrit.out, "result: FAIL at headroom (too_many_connections)"));
}

BOOST_AUTO_TEST_SUITE_END()
