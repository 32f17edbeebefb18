// `pgvigil check` and `pgvigil diagnose` agree: for every fixture of the integration suite (a
// healthy server, stopped, a wrong port, a bad host name, a wrong or missing password, no
// pg_hba.conf line, a missing database or role, full, connection usage at warn and critical, a
// standby that never accepts connections, a hung postmaster, a server shutting down), both
// commands run on the same config against the same server and give the same verdict and the same
// cause. Also the configs that once made them probe different ports: the port from $PGPORT, from
// a URI, from keywords, and over the unix socket.
#define BOOST_TEST_MODULE test_diagnose_agreement
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "check_support.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

/// What a command concluded about one target.
struct Conclusion {
  bool ok = false;    ///< check OK/WARNING; diagnose every step passed (a warning passes)
  std::string cause;  ///< "" when ok
  std::string message;
  int code = -1;
};

std::ostream& operator<<(std::ostream& os, const Conclusion& c) {
  return os << (c.ok ? "ok" : "failed") << " cause=" << (c.cause.empty() ? "-" : c.cause)
            << " exit=" << c.code << " (" << c.message << ")";
}

std::string stringOr(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  return o->isNull(key) ? std::string() : o->getValue<std::string>(key);
}

/// `check --format json`. Connection usage at critical is CRITICAL with no failed check: its
/// cause is too_many_connections, as diagnose's headroom step says.
Conclusion checkSays(const std::string& config, const std::vector<std::string>& env) {
  Run r = runPgvigil({"check", "-c", config, "--format", "json"}, env);
  BOOST_TEST_INFO(r.all());
  auto target = parseJson(r.out)->getArray("targets")->getObject(0);
  Conclusion c;
  c.code = r.code;
  c.ok = r.code == 0 || r.code == 1;
  c.cause = stringOr(target, "cause");
  c.message = stringOr(target, "message");
  if (!c.ok && c.cause.empty() && target->has("connections") && !target->isNull("connections") &&
      target->getObject("connections")->getValue<bool>("at_critical"))
    c.cause = "too_many_connections";
  return c;
}

/// `diagnose --format json`, and the text form's result line, which must say the same.
Conclusion diagnoseSays(const std::string& config, const std::vector<std::string>& env) {
  Run r = runPgvigil({"diagnose", "-c", config, "--format", "json"}, env);
  BOOST_TEST_INFO(r.all());
  auto target = parseJson(r.out)->getArray("targets")->getObject(0);
  Conclusion c;
  c.code = r.code;
  c.ok = r.code == 0;
  c.cause = stringOr(target, "cause");
  auto steps = target->getArray("steps");
  for (size_t i = 0; i < steps->size(); ++i) {
    auto step = steps->getObject(i);
    if (step->getValue<std::string>("status") == "fail") c.message = stringOr(step, "detail");
  }
  Run text = runPgvigil({"diagnose", "-c", config}, env);
  BOOST_TEST_INFO(text.all());
  BOOST_TEST(text.code == r.code);
  if (c.ok)
    BOOST_TEST(contains(text.out, "result: OK"));
  else
    BOOST_TEST(contains(text.out, "(" + c.cause + ")\n"));
  return c;
}

/// Both commands on the same config and server: the same verdict and cause, the expected one.
void agree(const std::string& what, const std::string& config, const std::string& expectedCause,
           const std::vector<std::string>& env = {}) {
  BOOST_TEST_CONTEXT(what) {
    const Conclusion check = checkSays(config, env);
    const Conclusion diagnose = diagnoseSays(config, env);
    BOOST_TEST_INFO("check:    " << check);
    BOOST_TEST_INFO("diagnose: " << diagnose);
    BOOST_TEST(check.ok == diagnose.ok);
    BOOST_TEST(check.cause == diagnose.cause);
    BOOST_TEST(check.cause == expectedCause);
    BOOST_TEST((check.ok ? check.code <= 1 && diagnose.code == 0 : diagnose.code == 2));
  }
}

std::string oneTarget(const TempDir& tmp, const std::string& file, const std::string& conninfo,
                      const std::string& extra = "") {
  return tmp.write(file, configYaml(targetYaml("main", conninfo, extra)));
}

struct Continue {
  PgCluster& pg;
  ~Continue() { pg.sigcont(); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(diagnose_agreement)

BOOST_AUTO_TEST_CASE(one_server_many_configs) {
  PgCluster pg;
  TempDir tmp;
  const std::string port = std::to_string(pg.port());
  const std::string dead = std::to_string(freeLoopbackPort());

  agree("healthy, keywords", oneTarget(tmp, "kw.yaml", pg.conninfo()), "");
  agree("healthy, URI",
        oneTarget(tmp, "uri.yaml", "postgresql://postgres@127.0.0.1:" + port + "/postgres"), "");
  agree("healthy, unix socket",
        oneTarget(tmp, "sock.yaml",
                  "host=" + pg.socketDir() + " port=" + port + " dbname=postgres user=postgres"),
        "");
  agree("healthy, hostaddr",
        oneTarget(
            tmp, "addr.yaml",
            "host=localhost hostaddr=127.0.0.1 port=" + port + " dbname=postgres user=postgres"),
        "");

  // The port from $PGPORT when the conninfo has none: both probe the same one.
  const std::string noPort =
      oneTarget(tmp, "noport.yaml", "host=127.0.0.1 dbname=postgres user=postgres");
  agree("port from PGPORT", noPort, "", {"PGPORT=" + port});
  agree("PGPORT names a dead port", noPort, "refused", {"PGPORT=" + dead});
  {
    const Conclusion check = checkSays(noPort, {"PGPORT=" + dead});
    const Conclusion diagnose = diagnoseSays(noPort, {"PGPORT=" + dead});
    BOOST_TEST(contains(check.message, ":" + dead), check.message);
    BOOST_TEST(contains(diagnose.message, ":" + dead), diagnose.message);
  }
  // A port in the conninfo wins over $PGPORT, in a URI as with keywords.
  agree("URI port over PGPORT",
        oneTarget(tmp, "uri2.yaml", "postgresql://postgres@127.0.0.1:" + port + "/postgres"), "",
        {"PGPORT=" + dead});
  agree("keyword port over PGPORT", oneTarget(tmp, "kw2.yaml", pg.conninfo()), "",
        {"PGPORT=" + dead});
  agree("unix socket, port from PGPORT",
        oneTarget(tmp, "sock2.yaml", "host=" + pg.socketDir() + " dbname=postgres user=postgres"),
        "", {"PGPORT=" + port});

  agree("wrong port",
        oneTarget(tmp, "wrong.yaml",
                  "host=127.0.0.1 port=" + dead + " dbname=postgres user=postgres"),
        "refused");
  agree("wrong port, URI",
        oneTarget(tmp, "wrong2.yaml", "postgresql://postgres@127.0.0.1:" + dead + "/postgres"),
        "refused");
  agree("wrong port on the unix socket",
        oneTarget(tmp, "wrongsock.yaml",
                  "host=" + pg.socketDir() + " port=" + dead + " dbname=postgres user=postgres"),
        "refused");
  agree("bad host name",
        oneTarget(tmp, "dns.yaml",
                  "host=no-such-host.invalid port=" + port + " dbname=postgres user=postgres"),
        "dns");
  agree(
      "missing database",
      oneTarget(tmp, "nodb.yaml", "host=127.0.0.1 port=" + port + " dbname=nosuchdb user=postgres"),
      "no_database");
  agree(
      "missing role",
      oneTarget(tmp, "norole.yaml", "host=127.0.0.1 port=" + port + " dbname=postgres user=ghost"),
      "auth_failed");

  // host and port from a service file: libpq reads it, not the conninfo parser. diagnose's tcp
  // step is the session's own connect, as check's tcp check, so both reach the same port.
  const std::string services =
      tmp.write("pg_service.conf",
                "[main]\nhost=127.0.0.1\nport=" + port + "\ndbname=postgres\nuser=postgres\n");
  agree("port from a service file", oneTarget(tmp, "svc.yaml", "service=main"), "",
        {"PGSERVICEFILE=" + services});

  // The tcp check alone opens its own socket (the tcp probe), in check as in diagnose.
  const std::string tcpAlone =
      oneTarget(tmp, "tcp.yaml", pg.conninfo(),
                "    checks:\n      query: false\n      connections: false\n");
  agree("tcp check alone", tcpAlone, "");
  agree("tcp check alone, wrong port",
        oneTarget(tmp, "tcpwrong.yaml",
                  "host=127.0.0.1 port=" + dead + " dbname=postgres user=postgres",
                  "    checks:\n      query: false\n      connections: false\n"),
        "refused");

  pg.openIdle(3);  // 3 of 97 usable besides the probe
  agree("connection usage at warn",
        oneTarget(tmp, "warn.yaml", pg.conninfo(),
                  "    checks:\n      connections:\n        warn: 1%\n        critical: 90%\n"),
        "");
  agree("connection usage at critical",
        oneTarget(tmp, "crit.yaml", pg.conninfo(),
                  "    checks:\n      connections:\n        warn: 1%\n        critical: 2%\n"),
        "too_many_connections");
  pg.closeIdle();

  pg.stopFast();
  agree("stopped", oneTarget(tmp, "stopped.yaml", pg.conninfo()), "refused");
  agree("stopped, tcp check alone", tcpAlone, "refused");
  agree("stopped, unix socket",
        oneTarget(tmp, "stoppedsock.yaml",
                  "host=" + pg.socketDir() + " port=" + port + " dbname=postgres user=postgres"),
        "refused");
}

BOOST_AUTO_TEST_CASE(passwords_and_pg_hba) {
  PgCluster pg({.password = "right-Pw-1"});
  TempDir tmp;
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(pg.port()) +
                               " dbname=postgres user=pgvigil password=${PGV_TEST_PW}";
  const std::string config = oneTarget(tmp, "pw.yaml", conninfo);
  agree("right password", config, "", {"PGV_TEST_PW=right-Pw-1"});
  agree("wrong password", config, "auth_failed", {"PGV_TEST_PW=wrong-Pw-2"});
  agree("no password",
        oneTarget(
            tmp, "nopw.yaml",
            "host=127.0.0.1 port=" + std::to_string(pg.port()) + " dbname=postgres user=pgvigil"),
        "auth_failed", {"PGPASSFILE=/nonexistent"});

  {
    std::ofstream hba(pg.dataDir() + "/pg_hba.conf", std::ios::trunc);
    hba << "local all all trust\n";
  }
  pg.query("SELECT pg_reload_conf()");
  // The reload is asynchronous: wait (bounded) until TCP connections are refused by pg_hba.
  for (int i = 0;
       i < 50 && runPgvigil({"check", "-c", config}, {"PGV_TEST_PW=right-Pw-1"}).code == 0; ++i) {
  }
  agree("no pg_hba.conf line", config, "auth_failed", {"PGV_TEST_PW=right-Pw-1"});
}

BOOST_AUTO_TEST_CASE(full_server) {
  PgCluster pg({.settings = {"max_connections=10"}});
  TempDir tmp;
  pg.openIdle(10);
  agree("full", oneTarget(tmp, "full.yaml", pg.conninfo()), "too_many_connections");
}

BOOST_AUTO_TEST_CASE(standby_that_never_accepts_connections) {
  PgCluster pg({.standby_no_hot = true});
  TempDir tmp;
  agree("standby without hot_standby", oneTarget(tmp, "standby.yaml", pg.conninfo()),
        "starting_up");
}

BOOST_AUTO_TEST_CASE(hung_postmaster) {
  PgCluster pg;
  TempDir tmp;
  const std::string config = oneTarget(tmp, "hung.yaml", pg.conninfo(), "    timeout: 1s\n");
  pg.sigstop();
  Continue resume{pg};
  agree("hung postmaster", config, "timeout");
  // Both name the phase it hung in.
  Run check = runPgvigil({"check", "-c", config, "--format", "json"});
  BOOST_TEST(parseJson(check.out)->getArray("targets")->getObject(0)->getValue<std::string>(
                 "phase") == "startup");
  Run diag = runPgvigil({"diagnose", "-c", config});
  BOOST_TEST(contains(diag.out, "cause:  timeout (phase startup)"));
}

BOOST_AUTO_TEST_CASE(server_shutting_down) {
  PgCluster pg;
  TempDir tmp;
  const std::string config = oneTarget(tmp, "down.yaml", pg.conninfo());
  pg.openIdle(1);  // a smart shutdown waits for this session, refusing new ones meanwhile
  BOOST_REQUIRE(pg.postmasterPid() > 0);
  ::kill(pg.postmasterPid(), SIGTERM);
  // Wait (bounded) until the postmaster has taken the request.
  for (int i = 0; i < 50 && runPgvigil({"check", "-c", config}).code == 0; ++i) {
  }
  agree("shutting down", config, "shutting_down");
  pg.stopFast();  // fast: ends the idle session
  pg.closeIdle();
}

BOOST_AUTO_TEST_SUITE_END()
