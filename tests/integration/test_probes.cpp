// Integration tests of the probes layer against a real PostgreSQL started by the fixture
// (tests/support/pg_cluster.h). The fault scenarios (kill -9, SIGSTOP, saturation) are in
// fault_probes.cpp.
#define BOOST_TEST_MODULE test_probes
#include <signal.h>

#include <libpq-fe.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <chrono>
#include <thread>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

#include "support/agent_process.h"
#include "support/http_client.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

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
  BOOST_TEST_REQUIRE(std::system(cmd.c_str()) == 0);
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
