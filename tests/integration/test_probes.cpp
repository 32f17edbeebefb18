// Integration tests of the probes layer against a real PostgreSQL started by the fixture
// (tests/support/pg_cluster.h). The fault scenarios (kill -9, SIGSTOP, saturation) are in
// fault_probes.cpp.
#define BOOST_TEST_MODULE test_probes
#include <poll.h>
#include <signal.h>

#include <libpq-fe.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

#include "core/clock.h"
#include "core/config.h"
#include "probes/connections_check.h"
#include "probes/monitor_connection.h"
#include "probes/round_runner.h"
#include "support/agent_process.h"
#include "support/http_client.h"
#include "support/pg_cluster.h"
#include "support/round_helpers.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

/// One cluster for the tests that only read from it (created on first use, stopped at exit):
/// each cluster costs an initdb.
PgCluster& sharedCluster() {
  static PgCluster cluster;
  return cluster;
}

size_t countLines(const std::string& text) {
  return size_t(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fixture)

// The fixture itself: a cluster comes up, answers, survives kill -9 and comes back.
BOOST_AUTO_TEST_CASE(start_select_kill9_start) {
  PgCluster pg;
  BOOST_TEST(pg.port() > 0);
  pid_t first = pg.postmasterPid();
  BOOST_TEST(first > 0);
  BOOST_TEST(pg.query("SELECT 1") == "1");
  BOOST_TEST(pg.query("SELECT rolname FROM pg_roles WHERE rolname = 'pgvigil'") == "pgvigil");
  pg.kill9();
  BOOST_TEST(pg.postmasterPid() == 0);
  BOOST_TEST(::kill(first, 0) != 0);  // reaped, not a lingering zombie
  BOOST_TEST(!pg.waitReady(200ms));
  pg.start();
  BOOST_TEST(pg.postmasterPid() > 0);
  BOOST_TEST(pg.postmasterPid() != first);
  BOOST_TEST(pg.query("SELECT 2") == "2");
  pg.stopFast();
  BOOST_TEST(pg.postmasterPid() == 0);
  BOOST_TEST(pg.log().find("database system is shut down") != std::string::npos);
}

// The cluster restarted by pgCtlStartCommand() (as an agent's restart.command would) is no longer
// our child: the fixture still finds, kills and restarts it.
BOOST_AUTO_TEST_CASE(pg_ctl_started_cluster_is_found_and_killed) {
  PgCluster pg;
  pg.stopFast();
  std::string cmd;
  for (const auto& a : pg.pgCtlStartCommand()) cmd += "'" + a + "' ";
  BOOST_TEST_REQUIRE(std::system(cmd.c_str()) == 0);
  pid_t foreign = pg.postmasterPid();
  BOOST_TEST_REQUIRE(foreign > 0);
  BOOST_TEST(pg.query("SELECT 3") == "3");
  pg.kill9();
  BOOST_TEST(pg.postmasterPid() == 0);
  // The orphan was re-parented to us (subreaper) and reaped: no lingering zombie.
  auto until = std::chrono::steady_clock::now() + 3s;
  while (::kill(foreign, 0) == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  BOOST_TEST(::kill(foreign, 0) != 0);
  // waitReady() waits for a restart that someone else makes (as an agent would).
  int rc = -1;
  std::thread starter([&] {
    std::this_thread::sleep_for(300ms);
    rc = std::system(cmd.c_str());
  });
  BOOST_TEST(pg.waitReady(30s));
  starter.join();
  BOOST_TEST(rc == 0);
  BOOST_TEST(pg.postmasterPid() > 0);
  pg.stopFast();
  BOOST_TEST(pg.postmasterPid() == 0);
  pg.start();
  BOOST_TEST(pg.query("SELECT 4") == "4");
}

BOOST_AUTO_TEST_CASE(password_cluster_requires_scram) {
  PgCluster pg({.settings = {"max_connections=20"}, .password = "s3cret'pw"});
  BOOST_TEST(pg.query("SHOW max_connections") == "20");
  BOOST_TEST(pg.query("SELECT pg_has_role('pgvigil', 'pg_monitor', 'member')") == "t");
  pg.openIdle(2);  // over TCP with the password
  BOOST_TEST(pg.query("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                      "'client backend' AND client_addr IS NOT NULL") == "2");
  pg.closeIdle();
  auto ok = PQconnectdb((pg.conninfo("user=pgvigil password='s3cret\\'pw'")).c_str());
  BOOST_TEST(PQstatus(ok) == CONNECTION_OK);
  PQfinish(ok);
  auto bad = PQconnectdb((pg.conninfo("user=pgvigil password=wrong")).c_str());
  BOOST_TEST(PQstatus(bad) == CONNECTION_BAD);
  BOOST_TEST(std::string(PQerrorMessage(bad)).find("password authentication failed") !=
             std::string::npos);
  PQfinish(bad);
}

BOOST_AUTO_TEST_CASE(standby_without_hot_standby_never_accepts) {
  PgCluster pg({.standby_no_hot = true});
  BOOST_TEST(pg.waitListening(5s));
  auto conn = PQconnectdb(pg.conninfo("connect_timeout=5").c_str());
  BOOST_TEST(PQstatus(conn) == CONNECTION_BAD);
  std::string msg = PQerrorMessage(conn);
  BOOST_TEST_MESSAGE("standby answers: " << msg);
  BOOST_TEST((msg.find("not accepting connections") != std::string::npos ||
              msg.find("starting up") != std::string::npos));
  PQfinish(conn);
  BOOST_TEST(!pg.waitReady(300ms));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(support)

BOOST_AUTO_TEST_CASE(agent_process_runs_the_built_binary) {
  AgentProcess agent({.binary = pgvigilBinary(), .args = {"--version"}});
  auto line = agent.waitForLine("pgvigil", 10s);
  BOOST_TEST_REQUIRE(line.has_value(), agent.output());
  BOOST_TEST(agent.wait(10s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(agent_process_captures_both_streams_and_signals) {
  AgentProcess p({.binary = "/bin/sh",
                  .args = {"-c", "echo \"out $FOO\"; echo err >&2; exec sleep 30"},
                  .env = {"FOO=bar"}});
  BOOST_TEST(p.waitForLine("out bar", 5s).has_value());
  BOOST_TEST(p.waitForLine([](const std::string& l) { return l == "err"; }, 5s).has_value());
  BOOST_TEST(!p.waitForLine("never printed", 100ms).has_value());
  BOOST_TEST(p.running());
  BOOST_TEST(!p.wait(50ms).has_value());
  p.signal(SIGTERM);
  BOOST_TEST(p.wait(5s).value_or(-1) == 128 + SIGTERM);
  BOOST_TEST(!p.running());
  bool sawErr = false;
  for (const auto& l : p.lines())
    if (l.text == "err") sawErr = l.stream == OutputLine::Stream::kStderr;
  BOOST_TEST(sawErr);
}

BOOST_AUTO_TEST_CASE(agent_process_destructor_kills_a_hung_child) {
  pid_t pid = 0;
  {
    AgentProcess p({.binary = "/bin/sleep", .args = {"60"}});
    pid = p.pid();
    BOOST_TEST(::kill(pid, 0) == 0);
  }
  BOOST_TEST(::kill(pid, 0) != 0);
}

namespace {
class EchoHandler : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    resp.setStatus(req.getURI() == "/missing" ? Poco::Net::HTTPResponse::HTTP_NOT_FOUND
                                              : Poco::Net::HTTPResponse::HTTP_OK);
    resp.set("X-Method", req.getMethod());
    resp.set("X-Auth", req.get("Authorization", ""));
    resp.setContentType("text/plain");
    resp.send() << "path=" << req.getURI();
  }
};
class EchoFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new EchoHandler;
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(http_client_talks_to_a_real_server) {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  int port = socket.address().port();
  Poco::Net::HTTPServer server(new EchoFactory, socket, new Poco::Net::HTTPServerParams);
  server.start();
  HttpClient client("127.0.0.1", port);
  auto r = client.request("POST", "/x?y=1", {{"Authorization", "Bearer t"}});
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == "path=/x?y=1");
  BOOST_TEST(r.header("x-method") == "POST");
  BOOST_TEST(r.header("X-Auth") == "Bearer t");
  BOOST_TEST(r.header("content-type") == "text/plain");
  BOOST_TEST(HttpClient::forListen("127.0.0.1:" + std::to_string(port)).get("/missing").status ==
             404);
  server.stop();
  socket.close();
  auto down = client.get("/");
  BOOST_TEST(down.status == 0);
  BOOST_TEST(!down.error.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(probes)

BOOST_AUTO_TEST_CASE(healthy_server_is_ok_with_every_check) {
  PgCluster& pg = sharedCluster();
  RoundResult r = runRound(targetFor(pg.conninfo()), SystemClock::instance());
  BOOST_TEST_REQUIRE((r.verdict == Verdict::kOk), describe(r));
  BOOST_TEST(r.checks.size() == 3u);
  for (const char* name : {"tcp", "query", "connections"}) {
    const CheckOutcome* c = r.find(name);
    BOOST_TEST_REQUIRE(c != nullptr);
    BOOST_TEST(c->ok);
    BOOST_TEST(c->latency.count() > 0);
    BOOST_TEST(c->latency < r.latency + Micros{1});
  }
  BOOST_TEST(r.server_version.rfind("15", 0) == 0, r.server_version);
  BOOST_TEST_REQUIRE(r.connections.has_value());
  BOOST_TEST(r.connections->max_connections == 100);
  BOOST_TEST(r.connections->usable == 97);
  BOOST_TEST(r.connections->used == 0);  // our own probe session is not counted
  BOOST_TEST((r.cause == Cause::kNone));
  BOOST_TEST(r.message.empty());
}

BOOST_AUTO_TEST_CASE(unix_socket_and_host_names_work) {
  PgCluster& pg = sharedCluster();
  auto viaSocket = targetFor("host=" + pg.socketDir() + " port=" + std::to_string(pg.port()) +
                             " dbname=postgres user=postgres");
  RoundResult r = runRound(viaSocket, SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kOk), describe(r));
  // "localhost" comes from /etc/hosts: the bounded lookup, then hostaddr for libpq.
  auto byName =
      targetFor("postgresql://postgres@localhost:" + std::to_string(pg.port()) + "/postgres");
  r = runRound(byName, SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kOk), describe(r));
}

BOOST_AUTO_TEST_CASE(application_name_shows_in_pg_stat_activity) {
  PgCluster& pg = sharedCluster();
  auto t = targetFor(pg.conninfo());
  t.query =
      "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgvigil-probe-test' AND "
      "pid = pg_backend_pid()";
  t.application_name = "pgvigil-probe-test";
  RoundResult r = runRound(t, SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kOk), describe(r));
  // statement_timeout is set on the probe's session.
  t.query = "SELECT 1 WHERE current_setting('statement_timeout') = '3s'";
  r = runRound(t, SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kOk), describe(r));
}

BOOST_AUTO_TEST_CASE(standby_without_hot_standby_is_starting_up) {
  PgCluster pg({.standby_no_hot = true});
  BOOST_TEST_REQUIRE(pg.waitListening(10s));
  // Right after the sockets open the server says "starting up"; once it is in standby it says
  // "not accepting connections": both are starting_up.
  for (int i = 0; i < 2; ++i) {
    RoundResult r = runRound(targetFor(pg.conninfo()), SystemClock::instance());
    BOOST_TEST((r.verdict == Verdict::kFailed));
    BOOST_TEST(causeOf(r) == "starting_up", describe(r));
    BOOST_TEST(r.find("tcp")->ok);
    BOOST_TEST(r.find("query")->sqlstate == "57P03");
    std::this_thread::sleep_for(300ms);
  }
}

BOOST_AUTO_TEST_CASE(wrong_password_is_auth_failed_and_never_printed) {
  const std::string canary = "Canary-Wr0ng-Pw";
  PgCluster pg({.password = "right-pw"});
  auto t = targetFor(pg.conninfo("user=pgvigil password=" + canary));
  RoundResult r = runRound(t, SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kFailed));
  BOOST_TEST(causeOf(r) == "auth_failed", describe(r));
  BOOST_TEST(phaseOf(r) == "auth", describe(r));
  BOOST_TEST(r.find("query")->sqlstate == "28P01");
  // The port answered: the tcp check (the session's own connect) passed, the query check failed.
  BOOST_TEST_REQUIRE(r.find("tcp") != nullptr);
  BOOST_TEST(r.find("tcp")->ok);
  BOOST_TEST(!r.find("query")->ok);
  BOOST_TEST(r.message.find("password authentication failed") != std::string::npos, r.message);
  BOOST_TEST(describe(r).find(canary) == std::string::npos);
  // No password at all: libpq's own fe_sendauth message, still auth_failed.
  r = runRound(targetFor(pg.conninfo("user=pgvigil password=''")), SystemClock::instance());
  BOOST_TEST(causeOf(r) == "auth_failed", describe(r));
  // The right one, through a URI with percent-encoding.
  r = runRound(targetFor("postgresql://pgvigil:right%2Dpw@127.0.0.1:" + std::to_string(pg.port()) +
                         "/postgres"),
               SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kOk), describe(r));
}

BOOST_AUTO_TEST_CASE(missing_database_and_role) {
  PgCluster& pg = sharedCluster();
  auto t = targetFor("host=127.0.0.1 port=" + std::to_string(pg.port()) +
                     " dbname=nosuchdb user=postgres");
  RoundResult r = runRound(t, SystemClock::instance());
  BOOST_TEST(causeOf(r) == "no_database", describe(r));
  BOOST_TEST(r.find("query")->sqlstate == "3D000");
  BOOST_TEST(r.message == "database \"nosuchdb\" does not exist", r.message);
  t.conninfo = pg.conninfo("user=nosuchrole");
  r = runRound(t, SystemClock::instance());
  BOOST_TEST(causeOf(r) == "auth_failed", describe(r));
}

BOOST_AUTO_TEST_CASE(failing_query_is_query_error) {
  PgCluster& pg = sharedCluster();
  auto t = targetFor(pg.conninfo());
  t.query = "SELECT * FROM no_such_table";
  RoundResult r = runRound(t, SystemClock::instance());
  BOOST_TEST(causeOf(r) == "query_error", describe(r));
  BOOST_TEST(phaseOf(r) == "query");
  BOOST_TEST(r.find("query")->sqlstate == "42P01");
  BOOST_TEST(r.find("connections") == nullptr);  // the round stops at the first failure
}

BOOST_AUTO_TEST_CASE(slow_query_times_out_in_query_phase_within_the_deadline) {
  PgCluster& pg = sharedCluster();
  auto t = targetFor(pg.conninfo(), 1s);
  t.query = "SELECT pg_sleep(10)";
  auto start = std::chrono::steady_clock::now();
  RoundResult r = runRound(t, SystemClock::instance());
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(causeOf(r) == "timeout", describe(r));
  BOOST_TEST(phaseOf(r) == "query", describe(r));
  BOOST_TEST(r.message.find("query phase") != std::string::npos, r.message);
  BOOST_TEST_MESSAGE("query timeout round took "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                     << " ms");
  // 1 s round + the bounded cancel (1 s at most, fast on a healthy server).
  BOOST_TEST(took < 1500ms);
  // The cancel reached the server: the sleeping query is gone at once.
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(pg.query("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT "
                      "pg_sleep(10)' AND state = 'active'") == "0");
}

BOOST_AUTO_TEST_CASE(connections_above_warn_are_degraded_with_right_counts) {
  // max 20, 3 superuser-reserved: 17 usable. 14 idle = 82%: warn (80%), not critical (95%).
  PgCluster pg({.settings = {"max_connections=20"}});
  pg.openIdle(14);
  pg.query("SELECT 1");  // a short-lived session that must not be counted after it ended
  RoundResult r = runRound(targetFor(pg.conninfo()), SystemClock::instance());
  BOOST_TEST_REQUIRE((r.verdict == Verdict::kDegraded), describe(r));
  BOOST_TEST_REQUIRE(r.connections.has_value());
  BOOST_TEST(r.connections->used == 14);
  BOOST_TEST(r.connections->usable == 17);
  BOOST_TEST(r.connections->max_connections == 20);
  BOOST_TEST(r.connections->superuser_reserved == 3);
  BOOST_TEST(r.connections->by_state.at("idle") == 14);
  BOOST_TEST(r.connections_warn);
  BOOST_TEST(!r.connections_critical);
  // The reason, then who holds the slots (issue 10): all 14 are the fixture's idle sessions.
  BOOST_TEST(r.degraded_reason.rfind(
                 "connections at 82% (14 of 17 usable; warn 80%); (no application_name) "
                 "(postgres@127.0.0.1) holds 14 of 17 usable; 14 idle, oldest idle ",
                 0) == 0,
             r.degraded_reason);
  BOOST_TEST(r.ok());
  BOOST_TEST(r.find("connections")->ok);
  // 17 of 17: critical, still degraded (the server answered).
  pg.openIdle(3);
  r = runRound(targetFor(pg.conninfo()), SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kDegraded), describe(r));
  BOOST_TEST(r.connections_critical);
  BOOST_TEST(r.connections->used == 17);
  pg.closeIdle();
  std::this_thread::sleep_for(200ms);
  r = runRound(targetFor(pg.conninfo()), SystemClock::instance());
  BOOST_TEST((r.verdict == Verdict::kOk), describe(r));
}

BOOST_AUTO_TEST_CASE(healthy_rounds_leave_nothing_in_the_server_log) {
  PgCluster pg({.password = "pw"});
  std::this_thread::sleep_for(300ms);  // let startup lines settle
  const std::string before = pg.log();
  auto tcp = targetFor(pg.conninfo("user=pgvigil password=pw"));
  auto unixSocket = targetFor("host=" + pg.socketDir() + " port=" + std::to_string(pg.port()) +
                              " dbname=postgres user=pgvigil");
  for (int i = 0; i < 25; ++i) {
    RoundResult r = runRound(i % 2 ? tcp : unixSocket, SystemClock::instance());
    BOOST_TEST_REQUIRE((r.verdict == Verdict::kOk), describe(r));
  }
  std::this_thread::sleep_for(300ms);  // backends that would complain do so on exit
  const std::string after = pg.log();
  BOOST_TEST(countLines(after) == countLines(before), "new server log lines:\n"
                                                          << after.substr(before.size()));
}

BOOST_AUTO_TEST_CASE(monitor_connection_opens_and_stays_quiet_while_healthy) {
  PgCluster pg({.password = "pw"});
  MonitorConnection mon(pg.conninfo("user=pgvigil password=pw"), "pgvigil-monitor");
  BOOST_TEST_REQUIRE(mon.openAndWait(Deadline(SystemClock::instance(), 5s)), mon.lastError());
  BOOST_TEST(mon.socket() >= 0);
  BOOST_TEST(!mon.checkDropped());
  BOOST_TEST(pg.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                      "'pgvigil-monitor'") == "1");
  // A host name is resolved (bounded) before libpq sees it.
  MonitorConnection byName(
      "postgresql://pgvigil:pw@localhost:" + std::to_string(pg.port()) + "/postgres",
      "pgvigil-monitor");
  BOOST_TEST(byName.openAndWait(Deadline(SystemClock::instance(), 5s)), byName.lastError());
  BOOST_TEST(!byName.checkDropped());
  byName.close();
  // A wrong password fails the open with a cause, and no secret in the error.
  MonitorConnection bad(pg.conninfo("user=pgvigil password=Canary-Mon-Pw"), "pgvigil-monitor");
  BOOST_TEST(!bad.openAndWait(Deadline(SystemClock::instance(), 5s)));
  BOOST_TEST(std::string(toString(bad.cause())) == "auth_failed", bad.lastError());
  BOOST_TEST(bad.lastError().find("Canary-Mon-Pw") == std::string::npos);
  mon.close();
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(pg.log().find("unexpected EOF") == std::string::npos);
}

namespace {
/// Sends on the monitoring session and reads until the answer is complete (bounded).
MonitorConnection::ReadOutcome runOn(MonitorConnection& mon, const std::function<bool()>& send) {
  if (!send()) return MonitorConnection::ReadOutcome::kDone;
  for (int i = 0; i < 500; ++i) {
    auto r = mon.readResult();
    if (r != MonitorConnection::ReadOutcome::kPending) return r;
    pollfd p{mon.socket(), mon.events(), 0};
    ::poll(&p, 1, 10);
  }
  return MonitorConnection::ReadOutcome::kPending;
}
}  // namespace

// The connections query runs every round on the monitoring session: prepared once per session
// (the server then neither parses nor plans it again), and sent unnamed for the rest of the
// session when the server no longer knows the name (a pooler in transaction mode, a DEALLOCATE).
BOOST_AUTO_TEST_CASE(monitor_connection_prepares_a_repeated_statement_once) {
  PgCluster pg({.password = "pw"});
  MonitorConnection mon(pg.conninfo("user=pgvigil password=pw"), "pgvigil-monitor");
  BOOST_TEST_REQUIRE(mon.openAndWait(Deadline(SystemClock::instance(), 5s)), mon.lastError());
  const int version = mon.serverVersion();
  auto countPrepared = [&] {
    BOOST_TEST_REQUIRE((runOn(mon, [&] {
                          return mon.sendQuery("SELECT count(*) FROM pg_prepared_statements");
                        }) == MonitorConnection::ReadOutcome::kDone));
    BOOST_TEST_REQUIRE(mon.queryError() == "");
    return *mon.rows().at(0).at(0);
  };
  auto stats = [&](int exclude) {
    auto outcome =
        runOn(mon, [&] { return mon.sendStatement(connectionsStatement(version, exclude)); });
    BOOST_TEST_REQUIRE((outcome == MonitorConnection::ReadOutcome::kDone));
    return mon.queryError().empty() ? parseConnectionsRows(mon.rows()) : std::nullopt;
  };
  BOOST_TEST(countPrepared() == "0");
  // An idle session of another user, counted; then excluded by its pid ($1).
  PGconn* other = PQconnectdb(pg.conninfo("password=pw").c_str());
  BOOST_TEST_REQUIRE(PQstatus(other) == CONNECTION_OK);
  auto first = stats(0);
  BOOST_TEST_REQUIRE(first.has_value(), mon.queryError());
  BOOST_TEST(first->used == 1);
  BOOST_TEST(countPrepared() == "1");
  auto second = stats(PQbackendPID(other));
  BOOST_TEST_REQUIRE(second.has_value(), mon.queryError());
  BOOST_TEST(second->used == 0);
  BOOST_TEST(countPrepared() == "1");  // executed, not prepared again
  // The server forgets it: that answer is an error; every later one is right, sent unnamed.
  BOOST_TEST_REQUIRE((runOn(mon, [&] { return mon.sendQuery("DEALLOCATE ALL"); }) ==
                      MonitorConnection::ReadOutcome::kDone));
  BOOST_TEST(!stats(0).has_value());
  BOOST_TEST(mon.queryError().find("does not exist") != std::string::npos, mon.queryError());
  for (int i = 0; i < 2; ++i) {
    auto again = stats(0);
    BOOST_TEST_REQUIRE(again.has_value(), mon.queryError());
    BOOST_TEST(again->used == 1);
  }
  BOOST_TEST(countPrepared() == "0");
  BOOST_TEST(!mon.checkDropped());
  // A new session prepares again.
  mon.close();
  BOOST_TEST_REQUIRE(mon.openAndWait(Deadline(SystemClock::instance(), 5s)), mon.lastError());
  BOOST_TEST_REQUIRE(stats(0).has_value(), mon.queryError());
  BOOST_TEST(countPrepared() == "1");
  PQfinish(other);
}

BOOST_AUTO_TEST_SUITE_END()
