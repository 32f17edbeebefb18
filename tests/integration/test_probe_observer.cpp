// The probes' observer against a real PostgreSQL: pgConnect reports its lookup, each phase in
// order, the TLS outcome and the login; pgQuery and the connections check report their outcome;
// a query that outlives its deadline is cancelled within the cancel bound. What the probes answer
// is the same with or without an observer.
#define BOOST_TEST_MODULE test_probe_observer
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>

#include "core/clock.h"
#include "probes/connections_check.h"
#include "probes/pg_probe.h"
#include "probes/tcp_probe.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

struct Recorded : ProbeObserver {
  int lookups = 0;
  size_t endpoints = 0;
  std::vector<Phase> phases;
  int tls_started = 0;
  int tls_settled = 0;
  bool tls_in_use = true;
  int logins = 0;
  std::vector<CheckOutcome> queries;
  void resolved(const ResolveResult& r, Micros) override {
    ++lookups;
    endpoints = r.endpoints.size();
  }
  void sessionPhase(Phase p, Micros) override { phases.push_back(p); }
  void tlsStarted(Micros) override { ++tls_started; }
  void tlsSettled(bool inUse, const std::string&, const std::string&, Micros) override {
    ++tls_settled;
    tls_in_use = inUse;
  }
  void authenticated(Micros) override { ++logins; }
  void queryDone(const CheckOutcome& o) override { queries.push_back(o); }
};

ConnInfo parse(const std::string& conninfo) {
  std::string error;
  auto info = parseConnInfo(conninfo, &error);
  BOOST_REQUIRE_MESSAGE(info.has_value(), error);
  return *info;
}

std::vector<std::string> names(const std::vector<Phase>& phases) {
  std::vector<std::string> out;
  for (Phase p : phases) out.emplace_back(toString(p));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(probe_observer)

BOOST_AUTO_TEST_CASE(a_healthy_session_reports_every_phase_in_order) {
  PgCluster pg;
  Recorded seen;
  const Deadline deadline(SystemClock::instance(), 5s);
  PgConnectOutcome s = pgConnect(parse(pg.conninfo()), {}, deadline, "query", seen);
  BOOST_REQUIRE(s.outcome.ok);
  BOOST_TEST(seen.lookups == 1);
  BOOST_TEST(seen.endpoints == 1u);
  const auto phases = names(seen.phases);
  BOOST_REQUIRE(!phases.empty());
  BOOST_TEST(phases.front() == "connect");
  BOOST_TEST(phases.back() == "query");
  BOOST_TEST((std::find(phases.begin(), phases.end(), "startup") != phases.end()));
  BOOST_TEST(seen.tls_settled == 1);
  BOOST_TEST(!seen.tls_in_use);  // the fixture runs with ssl = off
  BOOST_TEST(seen.logins == 1);

  PgQueryOutcome q = pgQuery(s.conn.get(), "SELECT 1", deadline, "query", {}, seen);
  BOOST_TEST(q.outcome.ok);
  ConnectionsOutcome c = runConnectionsCheck(s.conn.get(), deadline, {}, seen);
  BOOST_TEST(c.outcome.ok);
  BOOST_REQUIRE(seen.queries.size() == 2u);
  BOOST_TEST(seen.queries[0].check == "query");
  BOOST_TEST(seen.queries[1].check == "connections");
  BOOST_TEST(seen.queries[1].ok);
}

BOOST_AUTO_TEST_CASE(a_failed_login_reports_no_login_and_the_same_outcome) {
  PgCluster pg;
  const ConnInfo info =
      parse("host=127.0.0.1 port=" + std::to_string(pg.port()) + " dbname=nosuchdb user=postgres");
  Recorded seen;
  const Deadline deadline(SystemClock::instance(), 5s);
  PgConnectOutcome watched = pgConnect(info, {}, deadline, "query", seen);
  PgConnectOutcome plain = pgConnect(info, {}, deadline);
  BOOST_TEST(!watched.outcome.ok);
  BOOST_TEST(toString(watched.outcome.cause) == "no_database");
  BOOST_TEST(seen.logins == 0);
  BOOST_TEST(seen.tls_settled == 1);  // the server answered the startup
  BOOST_TEST(names(seen.phases).back() != "query");
  BOOST_TEST(toString(watched.outcome.cause) == toString(plain.outcome.cause));
  BOOST_TEST(toString(watched.outcome.phase) == toString(plain.outcome.phase));
  BOOST_TEST(watched.outcome.message == plain.outcome.message);
}

BOOST_AUTO_TEST_CASE(a_query_past_its_deadline_is_cancelled_within_the_bound) {
  PgCluster pg;
  Recorded seen;
  PgConnectOutcome s =
      pgConnect(parse(pg.conninfo()), {}, Deadline(SystemClock::instance(), 5s), "query");
  BOOST_REQUIRE(s.outcome.ok);
  PgProbeOptions options;
  options.cancel_timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  PgQueryOutcome q = pgQuery(s.conn.get(), "SELECT pg_sleep(30)",
                             Deadline(SystemClock::instance(), 300ms), "query", options, seen);
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(!q.outcome.ok);
  BOOST_TEST(toString(q.outcome.cause) == "timeout");
  BOOST_TEST(took < 2s);  // 300 ms deadline + at most 300 ms for the cancel, plus slack
  BOOST_REQUIRE(seen.queries.size() == 1u);
  BOOST_TEST(toString(seen.queries[0].cause) == "timeout");
}

BOOST_AUTO_TEST_SUITE_END()
