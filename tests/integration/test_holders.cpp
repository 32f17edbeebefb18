// Who holds the connection slots (issue 10) against a real PostgreSQL 15: holders grouped by
// application, user and client address and aged; a role outside pg_monitor is reported, never
// a silent 0; at saturation the figures keep coming from the agent's monitoring session; the
// blast radius of a restart is the sessions it cut.
#define BOOST_TEST_MODULE test_holders
#include <libpq-fe.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <iostream>
#include <memory>
#include <thread>

#include "core/config.h"
#include "core/connection_holders.h"
#include "probes/round_runner.h"
#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

/// Client sessions the test opens itself (libpq), each closed by the destructor.
class Sessions {
 public:
  ~Sessions() {
    for (PGconn* c : conns_) PQfinish(c);
  }
  /// Opens a session as `user` with `application`; returns it (for BEGIN, a query, ...).
  PGconn* open(const PgCluster& pg, const std::string& user, const std::string& application) {
    const std::string conninfo =
        pg.conninfo("user=" + user + " application_name=" + application + " connect_timeout=5");
    PGconn* c = PQconnectdb(conninfo.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string error = PQerrorMessage(c);
      PQfinish(c);
      throw std::runtime_error("cannot open a session as " + user + ": " + error);
    }
    conns_.push_back(c);
    return c;
  }
  static void exec(PGconn* c, const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    const auto st = PQresultStatus(r);
    std::string error = PQresultErrorMessage(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      throw std::runtime_error(sql + ": " + error);
  }
  std::size_t size() const { return conns_.size(); }

 private:
  std::vector<PGconn*> conns_;
};

TargetConfig targetOn(const std::string& conninfo) {
  TargetConfig t;
  t.name = "main";
  t.conninfo = conninfo;
  t.timeout = 5s;
  return t;
}

const ConnectionHolder* findHolder(const ConnectionStats& c, const std::string& application) {
  for (const auto& h : c.holders)
    if (!h.other && h.application == application) return &h;
  return nullptr;
}

std::string describe(const ConnectionStats& c) {
  std::string s = "used " + std::to_string(c.used) + "/" + std::to_string(c.usable) + "\n";
  for (const auto& h : c.holders) s += "  " + holderText(h, c.usable) + "\n";
  return s;
}

/// /status's connections object of the first target (null when it is null).
Poco::JSON::Object::Ptr connectionsOf(const std::string& body) {
  Poco::JSON::Parser parser;
  auto root = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  return root->getArray("targets")->getObject(0)->getObject("connections");
}

std::string target(const std::string& conninfo, const std::string& extra = "") {
  return "  - name: main\n    conninfo: \"" + conninfo +
         "\"\n    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 2\n    healthy_after: "
         "1\n" +
         extra;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(holders)

BOOST_AUTO_TEST_CASE(three_applications_two_users_grouped_and_aged) {
  PgCluster pg;
  pg.query("CREATE ROLE alice LOGIN");
  pg.query("CREATE ROLE bob LOGIN");
  Sessions s;
  for (int i = 0; i < 3; ++i) s.open(pg, "alice", "api");  // idle
  s.open(pg, "bob", "worker");                             // idle
  PGconn* tx = s.open(pg, "bob", "worker");
  Sessions::exec(tx, "BEGIN");
  Sessions::exec(tx, "SELECT 1");  // idle in transaction from here on
  PGconn* busy = s.open(pg, "alice", "report");
  BOOST_REQUIRE(PQsendQuery(busy, "SELECT pg_sleep(30)") == 1);  // active
  const auto opened = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2500ms);

  RoundResult r = runRound(targetOn(pg.conninfo()), SystemClock::instance());
  BOOST_TEST_REQUIRE(r.ok(), r.message);
  BOOST_REQUIRE(r.connections);
  const ConnectionStats& c = *r.connections;
  BOOST_TEST_INFO(describe(c));
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - opened).count();
  BOOST_TEST(c.used == 6);  // the probe's own session is not counted
  BOOST_TEST(c.sees_all);
  BOOST_TEST(c.hidden == 0);
  BOOST_TEST_REQUIRE(c.holders.size() == 3u);
  // Ranked by sessions: api 3, worker 2, report 1.
  BOOST_TEST(c.holders[0].application == "api");
  BOOST_TEST(c.holders[1].application == "worker");
  BOOST_TEST(c.holders[2].application == "report");

  const ConnectionHolder* api = findHolder(c, "api");
  BOOST_REQUIRE(api);
  BOOST_TEST(api->user == "alice");
  BOOST_TEST(api->client == "127.0.0.1");
  BOOST_TEST(api->total == 3);
  BOOST_TEST(api->idle == 3);
  BOOST_REQUIRE(api->oldest_idle);
  // Idle since their connect (before the 2.5 s sleep), no longer than the test has run.
  BOOST_TEST(api->oldest_idle->count() >= 2000);
  BOOST_TEST(api->oldest_idle->count() <= elapsed * 1000 + 2000);

  const ConnectionHolder* worker = findHolder(c, "worker");
  BOOST_REQUIRE(worker);
  BOOST_TEST(worker->user == "bob");
  BOOST_TEST(worker->total == 2);
  BOOST_TEST(worker->idle == 1);
  BOOST_TEST(worker->idle_in_transaction == 1);
  BOOST_REQUIRE(worker->oldest_idle_in_transaction);
  BOOST_TEST(worker->oldest_idle_in_transaction->count() >= 2000);
  BOOST_TEST(worker->oldest_idle_in_transaction->count() <= elapsed * 1000 + 2000);

  const ConnectionHolder* report = findHolder(c, "report");
  BOOST_REQUIRE(report);
  BOOST_TEST(report->active == 1);
  BOOST_TEST(!report->oldest_idle);

  // Said in words, as the events and `check` say it.
  const std::string words = topHolderText(c);
  BOOST_TEST(words.rfind("api (alice@127.0.0.1) holds 3 of ", 0) == 0, words);
  BOOST_TEST(words.find("3 idle, oldest idle ") != std::string::npos, words);
  PQrequestCancel(busy);
}

BOOST_AUTO_TEST_CASE(role_outside_pg_monitor_is_reported_never_zero) {
  PgCluster pg;
  pg.query("CREATE ROLE app LOGIN");
  pg.query("CREATE ROLE other LOGIN");
  Sessions s;
  for (int i = 0; i < 4; ++i) s.open(pg, "other", "billing");
  s.open(pg, "app", "api");
  std::this_thread::sleep_for(200ms);

  RoundResult r = runRound(targetOn(pg.conninfo("user=app")), SystemClock::instance());
  BOOST_TEST_REQUIRE(r.ok(), r.message);
  BOOST_REQUIRE(r.connections);
  const ConnectionStats& c = *r.connections;
  BOOST_TEST_INFO(describe(c));
  BOOST_TEST(!c.sees_all);
  BOOST_TEST(c.role == "app");
  // The other role's sessions are counted (pg_stat_activity lists them, restricted): 5, not 1.
  BOOST_TEST(c.used == 5);
  BOOST_TEST(c.hidden == 4);
  const ConnectionHolder* billing = findHolder(c, "billing");
  BOOST_REQUIRE(billing);
  BOOST_TEST(billing->user == "other");
  BOOST_TEST(billing->total == 4);
  BOOST_TEST(billing->hidden == 4);
  const std::string warning = visibilityWarning(c);
  BOOST_TEST(warning.find("GRANT pg_monitor TO app") != std::string::npos, warning);

  // With pg_monitor the same role sees them all.
  pg.query("GRANT pg_monitor TO app");
  RoundResult granted = runRound(targetOn(pg.conninfo("user=app")), SystemClock::instance());
  BOOST_REQUIRE(granted.connections);
  BOOST_TEST(granted.connections->sees_all);
  BOOST_TEST(granted.connections->hidden == 0);
  BOOST_TEST(granted.connections->used == 5);
}

BOOST_AUTO_TEST_CASE(agent_reports_a_limited_role_at_start) {
  PgCluster pg;
  pg.query("CREATE ROLE app LOGIN");
  Sessions s;
  for (int i = 0; i < 3; ++i) s.open(pg, "postgres", "batch");
  TempDir dir;
  auto agent = startAgent(dir, target(pg.conninfo("user=app")));
  agent.waitUp();
  auto line = waitEvent(*agent.process, "connections_visibility_limited", 10s);
  BOOST_REQUIRE_MESSAGE(line, agent.process->output());
  BOOST_TEST(line->find("GRANT pg_monitor TO app") != std::string::npos, *line);
  auto status = agent.http->get("/status");
  BOOST_TEST(status.body.find("\"sees_all_sessions\":false") != std::string::npos, status.body);
  BOOST_TEST(status.body.find("\"used\":3") != std::string::npos, status.body);
  auto metrics = agent.http->get("/metrics");
  BOOST_TEST(metrics.body.find("pgvigil_connections_sees_all_sessions{target=\"main\"} 0") !=
                 std::string::npos,
             metrics.body);
  BOOST_TEST(countEvents(*agent.process, "connections_visibility_limited") == 1u);
}

BOOST_AUTO_TEST_CASE(saturated_server_keeps_its_figures_from_the_monitoring_session) {
  PgClusterOptions options;
  // usable = 8 - 1 = 7: the agent's monitoring session takes one, the test fills the other six
  // and the superuser slot, so that no new session of any role can be opened.
  options.settings = {"max_connections=8", "superuser_reserved_connections=1"};
  options.password = "s3cret-canary-pw";
  PgCluster pg(options);
  TempDir dir;
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(pg.port()) +
                               " dbname=postgres user=pgvigil password=s3cret-canary-pw";
  auto agent = startAgent(dir, target(conninfo));
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 10s), agent.process->output());
  BOOST_REQUIRE(waitMonitorConnection(pg, 5s));
  // 7 usable slots, one of them the monitoring session's (pgvigil is no superuser): at most 6
  // others, 86 %, so the default critical 95 % can never fire, and the agent says so once.
  auto unreachable = waitEvent(*agent.process, "connections_thresholds_unreachable", 5s);
  BOOST_REQUIRE_MESSAGE(unreachable, agent.process->output());
  BOOST_TEST(unreachable->find("usable=7") != std::string::npos, *unreachable);
  BOOST_TEST(unreachable->find("set it to 85% or below") != std::string::npos, *unreachable);

  // Fill every slot: six sessions of "api" (as postgres: the password is the same) and one
  // more that only a superuser may open, in the reserved slot.
  Sessions s;
  const std::string pw = " password=s3cret-canary-pw";
  // A round's fresh session may hold a slot for a few ms: each open is retried briefly.
  auto openRetrying = [&](const std::string& application) {
    for (int attempt = 0;; ++attempt) {
      try {
        s.open(pg, "postgres", application + pw);
        return;
      } catch (const std::exception& e) {
        BOOST_REQUIRE_MESSAGE(attempt < 50, e.what());
        std::this_thread::sleep_for(50ms);
      }
    }
  };
  for (int i = 0; i < 6; ++i) openRetrying("api");
  openRetrying("reserved");
  // Nothing can connect now.
  {
    PGconn* c = PQconnectdb(pg.conninfo("connect_timeout=5" + pw).c_str());
    const bool refused = PQstatus(c) != CONNECTION_OK;
    PQfinish(c);
    BOOST_REQUIRE(refused);
  }

  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 503, 10s), agent.process->output());
  auto line = waitEvent(*agent.process, "target_unhealthy", 3s);
  BOOST_REQUIRE(line);
  BOOST_TEST(line->find("cause=too_many_connections") != std::string::npos, *line);
  // The unhealthy reason names who holds the slots.
  BOOST_TEST(line->find("api (postgres@127.0.0.1) holds 6 of 7 usable") != std::string::npos,
             *line);

  // Several rounds into the saturation the figures are still fresh, from the open session.
  std::this_thread::sleep_for(3s);
  auto status = agent.http->get("/status");
  BOOST_TEST_INFO(status.body);
  auto conns = connectionsOf(status.body);
  BOOST_REQUIRE(conns);
  BOOST_TEST(conns->getValue<std::string>("source") == "monitoring_session");
  BOOST_TEST(conns->getValue<bool>("stale") == false);
  BOOST_TEST(conns->getValue<double>("age_s") < 2.5);  // read by a round of the last 2 s
  BOOST_TEST(conns->getValue<int>("used") == 7);       // 6 api + 1 reserved
  BOOST_TEST(conns->getArray("holders")->getObject(0)->getValue<std::string>("application") ==
             "api");
  auto metrics = agent.http->get("/metrics");
  BOOST_TEST_INFO(metrics.body);
  BOOST_TEST(metrics.body.find("pgvigil_connections_used{target=\"main\"} 7") != std::string::npos);
  BOOST_TEST(metrics.body.find("pgvigil_connection_holder_sessions{target=\"main\",rank=\"1\","
                               "application=\"api\",user=\"postgres\",client=\"127.0.0.1\"} 6") !=
             std::string::npos);
  BOOST_TEST(agent.process->output().find("s3cret-canary-pw") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(restart_blast_radius_is_the_sessions_it_cut) {
  PgCluster pg;
  Sessions s;
  for (int i = 0; i < 4; ++i) s.open(pg, "postgres", "victim");
  s.open(pg, "postgres", "cron");
  TempDir dir;
  const std::string restart =
      "    restart:\n      method: command\n      command: [\"" + std::string(PGVIGIL_SOURCE_DIR) +
      "/scripts/pg-restart\", \"--fast-timeout\", \"3\", " +
      "\"--immediate-timeout\", \"2\", \"--kill-timeout\", \"3\", \"--start-timeout\", \"20\", \"" +
      pg.dataDir() + "\", \"-l\", \"" + pg.logPath() +
      "\"]\n      timeout: 30s\n      grace: 20s\n      backoff: { initial: 1s, max: 10s }\n";
  auto agent = startAgent(dir, target(pg.conninfo(), restart));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  BOOST_REQUIRE(waitMonitorConnection(pg, 5s));
  std::this_thread::sleep_for(1500ms);  // a round with the figures of all five sessions

  // Which sessions the server had just before (what the kill cuts).
  const std::string before = pg.query(
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND "
      "application_name IN ('victim', 'cron')");
  BOOST_REQUIRE(before == "5");
  const auto from = agent.process->lineCount();
  pg.kill9();
  auto requested = waitEvent(*agent.process, "restart_requested", 15s, from);
  BOOST_REQUIRE_MESSAGE(requested, agent.process->output());
  BOOST_TEST(requested->find("sessions_cut=5") != std::string::npos, *requested);
  BOOST_TEST(requested->find("applications=victim,cron") != std::string::npos, *requested);
  BOOST_TEST(requested->find("cuts 5 client sessions (victim 4, cron 1)") != std::string::npos,
             *requested);

  // Up again: the outage clients saw is said, and kept in the restart history.
  auto up = agent.process->waitForLine(
      [](const std::string& l) {
        return l.find("event=target_healthy") != std::string::npos &&
               l.find("outage=") != std::string::npos;
      },
      40s, from);
  BOOST_REQUIRE_MESSAGE(up, agent.process->output());
  BOOST_TEST(up->find("clients were without a server for ") != std::string::npos, *up);
  auto status = agent.http->get("/status");
  BOOST_TEST(status.body.find("\"sessions_cut\":5") != std::string::npos, status.body);
  BOOST_TEST(status.body.find("\"outage_ms\":") != std::string::npos, status.body);
  BOOST_TEST(status.body.find("\"outage_ms\":null") == std::string::npos, status.body);
}

BOOST_AUTO_TEST_SUITE_END()
