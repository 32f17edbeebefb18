// Integration tests of the probes layer against a real PostgreSQL started by the fixture
// (tests/support/pg_cluster.h). The fault scenarios (kill -9, SIGSTOP, saturation) are in
// fault_probes.cpp.
#define BOOST_TEST_MODULE test_probes
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

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

BOOST_AUTO_TEST_SUITE_END()
