// `pgvigil check` and `pgvigil diagnose` as a user runs them: the real binary against a real
// PostgreSQL (tests/support/pg_cluster.h). Exit codes, the plugin one-liner, JSON, the remedy
// diagnose prints, and that a password never shows. Faults (SIGSTOP, saturation) are in
// fault_check.cpp.
#define BOOST_TEST_MODULE test_check
#include <boost/test/unit_test.hpp>
#include <fstream>

#include "check_support.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

const std::string kCanary = "canary-Pw-7d1e9";

}  // namespace

BOOST_AUTO_TEST_SUITE(check_command)

BOOST_AUTO_TEST_CASE(healthy_then_stopped) {
  PgCluster pg;
  pg.openIdle(2);
  TempDir tmp;
  const std::string config =
      tmp.write("pgvigil.yaml", configYaml(targetYaml("main", pg.conninfo(), "    timeout: 3s\n")));

  const std::string logBefore = pg.log();
  Run ok = runPgvigil({"check", "-c", config});
  BOOST_TEST_INFO(ok.all());
  BOOST_TEST(ok.code == 0);
  BOOST_TEST(ok.firstLine().rfind("PGVIGIL OK - main: ok in ", 0) == 0);
  BOOST_TEST(contains(ok.firstLine(), " | main_latency="));
  BOOST_TEST(contains(ok.firstLine(), "main_connections_used="));
  BOOST_TEST(contains(ok.firstLine(), "main_connections_usage="));
  BOOST_TEST(contains(ok.out, "\nmain: OK - "));
  BOOST_TEST(contains(ok.out, "tcp: OK"));
  BOOST_TEST(contains(ok.out, "query: OK"));
  BOOST_TEST(contains(ok.out, "connections: OK"));

  Run json = runPgvigil({"check", "-c", config, "--format", "json"});
  BOOST_TEST_INFO(json.all());
  BOOST_TEST(json.code == 0);
  auto root = parseJson(json.out);
  BOOST_TEST(root->getValue<std::string>("status") == "OK");
  BOOST_TEST(root->getValue<int>("exit_code") == 0);
  auto target = root->getArray("targets")->getObject(0);
  BOOST_TEST(target->getValue<std::string>("name") == "main");
  BOOST_TEST(target->getArray("checks")->size() == 3u);
  for (size_t i = 0; i < 3; ++i)
    BOOST_TEST(target->getArray("checks")->getObject(i)->getValue<bool>("ok"));
  auto conns = target->getObject("connections");
  BOOST_TEST(conns->getValue<int>("used") >= 1);     // at least the probe itself
  BOOST_TEST(conns->getValue<int>("usable") == 97);  // 100 - 3 superuser_reserved
  BOOST_TEST(conns->getValue<int>("max_connections") == 100);

  Run diag = runPgvigil({"diagnose", "-c", config});
  BOOST_TEST_INFO(diag.all());
  BOOST_TEST(diag.code == 0);
  for (const char* step : {"config", "dns", "tcp", "tls", "auth", "query", "headroom"})
    BOOST_TEST(contains(diag.out, std::string("\u2713 ") + step), step);
  BOOST_TEST(contains(diag.out, "result: OK"));
  // Neither command leaves a line in the server log (the tcp probes send no startup packet;
  // sessions end with Terminate).
  BOOST_TEST(pg.log() == logBefore);

  pg.closeIdle();
  pg.stopFast();
  Run down = runPgvigil({"check", "-c", config});
  BOOST_TEST_INFO(down.all());
  BOOST_TEST(down.code == 2);
  BOOST_TEST(down.firstLine().rfind("PGVIGIL CRITICAL - main: ", 0) == 0);
  BOOST_TEST(contains(down.firstLine(), "refused"));
  BOOST_TEST(contains(down.firstLine(), std::to_string(pg.port())));
  BOOST_TEST(contains(down.out, "query: not run"));

  Run downJson = runPgvigil({"check", "-c", config, "--format=json"});
  BOOST_TEST(downJson.code == 2);
  auto downTarget = parseJson(downJson.out)->getArray("targets")->getObject(0);
  BOOST_TEST(downTarget->getValue<std::string>("cause") == "refused");
  BOOST_TEST(downTarget->getValue<std::string>("phase") == "connect");

  Run why = runPgvigil({"diagnose", "-c", config, "-t", "main"});
  BOOST_TEST_INFO(why.all());
  BOOST_TEST(why.code == 2);
  BOOST_TEST(contains(why.out, "\u2717 tcp"));
  BOOST_TEST(contains(why.out, "cause:  refused"));
  BOOST_TEST(contains(why.out, "systemctl start postgresql@"));
  BOOST_TEST(contains(why.out, "tried port " + std::to_string(pg.port())));
  BOOST_TEST(contains(why.out, "- auth"));  // skipped after the failure
  BOOST_TEST(contains(why.out, "result: FAIL at tcp (refused)"));
}

BOOST_AUTO_TEST_CASE(wrong_password_is_auth_failed_and_never_printed) {
  PgCluster pg({.password = "right-Pw-1"});
  TempDir tmp;
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(pg.port()) +
                               " dbname=postgres user=pgvigil password=${PGV_TEST_PW}";
  const std::string config = tmp.write("pgvigil.yaml", configYaml(targetYaml("main", conninfo)));
  const std::vector<std::string> env = {"PGV_TEST_PW=" + kCanary};

  Run check = runPgvigil({"check", "-c", config}, env);
  BOOST_TEST_INFO(check.all());
  BOOST_TEST(check.code == 2);
  BOOST_TEST(contains(check.firstLine(), "PGVIGIL CRITICAL - main:"));
  Run json = runPgvigil({"check", "-c", config, "--format", "json"}, env);
  BOOST_TEST(json.code == 2);
  BOOST_TEST(parseJson(json.out)->getArray("targets")->getObject(0)->getValue<std::string>(
                 "cause") == "auth_failed");

  Run diag = runPgvigil({"diagnose", "-c", config}, env);
  BOOST_TEST_INFO(diag.all());
  BOOST_TEST(diag.code == 2);
  BOOST_TEST(contains(diag.out, "\u2717 auth"));
  BOOST_TEST(contains(diag.out, "password authentication failed"));
  BOOST_TEST(contains(diag.out, "set the right one in PGPASSWORD"));
  BOOST_TEST(contains(diag.out, ".pgpass"));
  BOOST_TEST(contains(diag.out, "password given via the conninfo"));

  // The same password straight in --conninfo, and through PGPASSWORD.
  Run direct = runPgvigil({"diagnose", "--conninfo",
                           "host=127.0.0.1 port=" + std::to_string(pg.port()) +
                               " dbname=postgres user=pgvigil password=" + kCanary});
  BOOST_TEST_INFO(direct.all());
  BOOST_TEST(direct.code == 2);
  BOOST_TEST(contains(direct.out, "cause:  auth_failed"));
  BOOST_TEST(contains(direct.out, "password=*****"));
  Run viaEnv =
      runPgvigil({"diagnose", "--conninfo",
                  "postgresql://pgvigil@127.0.0.1:" + std::to_string(pg.port()) + "/postgres"},
                 {"PGPASSWORD=" + kCanary});
  BOOST_TEST(viaEnv.code == 2);
  BOOST_TEST(contains(viaEnv.out, "password given via PGPASSWORD"));

  Run show = runPgvigil({"config", "show", "-c", config}, env);
  Run validate = runPgvigil({"config", "validate", "-c", config}, env);
  BOOST_TEST(contains(show.all(), "main"));  // it did show the config
  for (const Run* r : {&check, &json, &diag, &direct, &viaEnv, &show, &validate}) {
    BOOST_TEST_INFO(r->all());
    BOOST_TEST(!contains(r->all(), kCanary));
  }

  // With the right password it is healthy, as the pgvigil role (pg_monitor).
  Run good = runPgvigil({"check", "-c", config}, {"PGV_TEST_PW=right-Pw-1"});
  BOOST_TEST_INFO(good.all());
  BOOST_TEST(good.code == 0);
  BOOST_TEST(!contains(good.all(), "right-Pw-1"));
}

BOOST_AUTO_TEST_CASE(no_pg_hba_entry_is_auth_failed_with_the_line_to_add) {
  PgCluster pg;
  // Only unix-socket connections are allowed (the fixture's own query() uses the socket).
  {
    std::ofstream hba(pg.dataDir() + "/pg_hba.conf", std::ios::trunc);
    hba << "local all all trust\n";
  }
  pg.query("SELECT pg_reload_conf()");
  TempDir tmp;
  const std::string config =
      tmp.write("pgvigil.yaml", configYaml(targetYaml("main", pg.conninfo())));
  // The reload is asynchronous: wait (bounded) until TCP connections are refused by pg_hba.
  Run check;
  for (int i = 0; i < 50; ++i) {
    check = runPgvigil({"check", "-c", config, "--format", "json"});
    if (check.code != 0) break;
  }
  BOOST_TEST_INFO(check.all());
  BOOST_TEST(check.code == 2);
  BOOST_TEST(parseJson(check.out)->getArray("targets")->getObject(0)->getValue<std::string>(
                 "cause") == "auth_failed");
  Run diag = runPgvigil({"diagnose", "-c", config});
  BOOST_TEST_INFO(diag.all());
  BOOST_TEST(diag.code == 2);
  BOOST_TEST(contains(diag.out, "no pg_hba.conf entry"));
  BOOST_TEST(contains(diag.out, "host    postgres   postgres   127.0.0.1/32   scram-sha-256"));
  BOOST_TEST(contains(diag.out, "pg_reload_conf()"));
}

BOOST_AUTO_TEST_CASE(missing_database_is_no_database) {
  PgCluster pg;
  TempDir tmp;
  const std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(pg.port()) + " dbname=nosuchdb user=postgres";
  const std::string config = tmp.write("pgvigil.yaml", configYaml(targetYaml("app", conninfo)));
  Run check = runPgvigil({"check", "-c", config, "--format", "json"});
  BOOST_TEST_INFO(check.all());
  BOOST_TEST(check.code == 2);
  BOOST_TEST(parseJson(check.out)->getArray("targets")->getObject(0)->getValue<std::string>(
                 "cause") == "no_database");
  Run diag = runPgvigil({"diagnose", "-c", config});
  BOOST_TEST_INFO(diag.all());
  BOOST_TEST(diag.code == 2);
  BOOST_TEST(contains(diag.out, "cause:  no_database"));
  BOOST_TEST(contains(diag.out, "createdb -O postgres nosuchdb"));
}

BOOST_AUTO_TEST_CASE(standby_without_hot_standby_is_starting_up) {
  PgCluster pg({.standby_no_hot = true});
  TempDir tmp;
  const std::string config =
      tmp.write("pgvigil.yaml", configYaml(targetYaml("standby", pg.conninfo())));
  Run check = runPgvigil({"check", "-c", config, "--format", "json"});
  BOOST_TEST_INFO(check.all());
  BOOST_TEST(check.code == 2);
  BOOST_TEST(parseJson(check.out)->getArray("targets")->getObject(0)->getValue<std::string>(
                 "cause") == "starting_up");
  Run diag = runPgvigil({"diagnose", "-c", config});
  BOOST_TEST_INFO(diag.all());
  BOOST_TEST(diag.code == 2);
  BOOST_TEST(contains(diag.out, "cause:  starting_up"));
  BOOST_TEST(contains(diag.out, "hot_standby = on"));
  BOOST_TEST(contains(diag.out, "pg_stat_replication"));
}

BOOST_AUTO_TEST_CASE(one_down_target_makes_the_whole_check_critical) {
  PgCluster pg;
  TempDir tmp;
  const int deadPort = freeLoopbackPort();
  const std::string config =
      tmp.write("pgvigil.yaml",
                configYaml(targetYaml("up", pg.conninfo()) +
                           targetYaml("down", "host=127.0.0.1 port=" + std::to_string(deadPort) +
                                                  " dbname=postgres user=postgres")));
  Run all = runPgvigil({"check", "-c", config});
  BOOST_TEST_INFO(all.all());
  BOOST_TEST(all.code == 2);
  BOOST_TEST(all.firstLine().rfind("PGVIGIL CRITICAL - down: ", 0) == 0);
  BOOST_TEST(contains(all.firstLine(), "(1 more ok)"));
  BOOST_TEST(contains(all.firstLine(), "up_latency="));
  BOOST_TEST(contains(all.firstLine(), "down_latency="));
  BOOST_TEST(contains(all.out, "\nup: OK"));
  BOOST_TEST(contains(all.out, "\ndown: CRITICAL"));

  Run onlyUp = runPgvigil({"check", "-c", config, "-t", "up"});
  BOOST_TEST(onlyUp.code == 0);
  BOOST_TEST(!contains(onlyUp.out, "down"));

  Run unknown = runPgvigil({"check", "-c", config, "-t", "nope"});
  BOOST_TEST(unknown.code == 3);
  BOOST_TEST(unknown.firstLine().rfind("PGVIGIL UNKNOWN - no target named 'nope'", 0) == 0);
  Run diagUnknown = runPgvigil({"diagnose", "-c", config, "-t", "nope"});
  BOOST_TEST(diagUnknown.code == 3);

  // Nothing listens on the dead port, and no local socket: diagnose says start it.
  Run diag = runPgvigil({"diagnose", "-c", config, "-t", "down"});
  BOOST_TEST(diag.code == 2);
  BOOST_TEST(contains(diag.out, "cause:  refused"));
}

BOOST_AUTO_TEST_CASE(config_errors_are_unknown) {
  TempDir tmp;
  const std::string bad = tmp.write("bad.yaml", "targets:\n  - name: main\n    intervall: 5s\n");
  Run check = runPgvigil({"check", "-c", bad});
  BOOST_TEST_INFO(check.all());
  BOOST_TEST(check.code == 3);
  BOOST_TEST(check.firstLine().rfind("PGVIGIL UNKNOWN - config: " + bad + ":", 0) == 0);
  Run json = runPgvigil({"check", "-c", bad, "--format", "json"});
  BOOST_TEST(json.code == 3);
  BOOST_TEST(parseJson(json.out)->getArray("errors")->size() >= 1u);
  Run diag = runPgvigil({"diagnose", "-c", bad});
  BOOST_TEST(diag.code == 3);
  BOOST_TEST(contains(diag.out, bad + ":"));
  Run missing = runPgvigil({"check", "-c", tmp.path() + "/none.yaml"});
  BOOST_TEST(missing.code == 3);
  BOOST_TEST(contains(missing.firstLine(), "none.yaml"));
}

BOOST_AUTO_TEST_CASE(diagnose_over_the_unix_socket_and_a_port_with_no_server) {
  PgCluster pg;
  Run sock = runPgvigil({"diagnose", "--conninfo",
                         "host=" + pg.socketDir() + " port=" + std::to_string(pg.port()) +
                             " dbname=postgres user=postgres"});
  BOOST_TEST_INFO(sock.all());
  BOOST_TEST(sock.code == 0);
  BOOST_TEST(contains(sock.out, "not used over a unix socket"));

  // The socket dir exists, the port is wrong: the server's own socket is found on its port.
  const int wrong = freeLoopbackPort();
  Run wrongPort = runPgvigil({"diagnose", "--conninfo",
                              "host=" + pg.socketDir() + " port=" + std::to_string(wrong) +
                                  " dbname=postgres user=postgres"});
  BOOST_TEST_INFO(wrongPort.all());
  BOOST_TEST(wrongPort.code == 2);
  BOOST_TEST(contains(wrongPort.out, "PostgreSQL is running here on port"));
  BOOST_TEST(contains(wrongPort.out, std::to_string(pg.port())));
}

BOOST_AUTO_TEST_CASE(names_the_holders_and_warns_for_a_role_outside_pg_monitor) {
  // Issue 10: `check` names who holds the slots, and a role that cannot see other users'
  // sessions is a WARNING with the remedy, never an OK with a silent 0.
  PgCluster pg;
  pg.query("CREATE ROLE app LOGIN");
  pg.openIdle(3);  // as postgres: another user's sessions for `app`
  TempDir tmp;
  const std::string asPostgres =
      tmp.write("all.yaml", configYaml(targetYaml("main", pg.conninfo(), "    timeout: 3s\n")));
  Run all = runPgvigil({"check", "-c", asPostgres});
  BOOST_TEST_INFO(all.all());
  BOOST_TEST(all.code == 0);
  // The long output lists the holders, one per line, under the target's line.
  BOOST_TEST(contains(all.out, "\n  (no application_name) (postgres@127.0.0.1) holds 3 of "));
  BOOST_TEST(contains(all.out, "3 idle, oldest idle "));

  const std::string asApp = tmp.write(
      "app.yaml", configYaml(targetYaml("main", pg.conninfo("user=app"), "    timeout: 3s\n")));
  Run limited = runPgvigil({"check", "-c", asApp});
  BOOST_TEST_INFO(limited.all());
  BOOST_TEST(limited.code == 1);
  BOOST_TEST(limited.firstLine().rfind("PGVIGIL WARNING - main: role app cannot see other "
                                       "users' sessions (3 of 3 hidden",
                                       0) == 0);
  BOOST_TEST(contains(limited.firstLine(), "GRANT pg_monitor TO app"));
  BOOST_TEST(contains(limited.firstLine(), "main_connections_used=3;"));  // counted, not 0
  Run json = runPgvigil({"check", "-c", asApp, "--format", "json"});
  auto conns = parseJson(json.out)->getArray("targets")->getObject(0)->getObject("connections");
  BOOST_TEST(conns->getValue<bool>("sees_all_sessions") == false);
  BOOST_TEST(conns->getValue<int>("hidden") == 3);
  BOOST_TEST(conns->getValue<int>("used") == 3);
}

BOOST_AUTO_TEST_SUITE_END()
