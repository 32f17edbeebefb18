#include <boost/test/unit_test.hpp>
#include <cstdlib>

#include "probes/pg_probe.h"
#include "probes/tcp_probe.h"
#include "unit/core/scoped_env.h"

using namespace pgvigil;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(pg_probe)

BOOST_AUTO_TEST_CASE(libpq_states_map_to_phases) {
  BOOST_TEST(toString(phaseOfConnStatus(CONNECTION_STARTED, false)) == "connect");
  BOOST_TEST(toString(phaseOfConnStatus(CONNECTION_NEEDED, false)) == "connect");
  BOOST_TEST(toString(phaseOfConnStatus(CONNECTION_MADE, false)) == "startup");
  BOOST_TEST(toString(phaseOfConnStatus(CONNECTION_SSL_STARTUP, false)) == "startup");
  BOOST_TEST(toString(phaseOfConnStatus(CONNECTION_GSS_STARTUP, false)) == "startup");
  BOOST_TEST(toString(phaseOfConnStatus(CONNECTION_AWAITING_RESPONSE, false)) == "startup");
  BOOST_TEST(toString(phaseOfConnStatus(CONNECTION_AWAITING_RESPONSE, true)) == "auth");
  BOOST_TEST(toString(phaseOfConnStatus(CONNECTION_AUTH_OK, false)) == "auth");
  BOOST_TEST(toString(phaseOfConnStatus(CONNECTION_CHECK_WRITABLE, false)) == "auth");
  BOOST_TEST(toString(phaseOfConnStatus(CONNECTION_OK, false)) == "query");
}

BOOST_AUTO_TEST_CASE(messages_are_cleaned_of_prefixes_codes_and_locations) {
  BOOST_TEST(cleanPgMessage("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  "
                            "57P03: the database system is starting up\nLOCATION:  "
                            "ProcessStartupPacket, postmaster.c:2461\n") ==
             "the database system is starting up");
  BOOST_TEST(cleanPgMessage("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  "
                            "the database system is not accepting connections\nDETAIL:  Hot "
                            "standby mode is disabled.\n") ==
             "the database system is not accepting connections (Hot standby mode is disabled.)");
  BOOST_TEST(cleanPgMessage("ERROR:  42P01: relation \"nope\" does not exist\nLINE 1: SELECT * "
                            "FROM nope\n                      ^\n") ==
             "relation \"nope\" does not exist");
  BOOST_TEST(cleanPgMessage("server closed the connection unexpectedly\n\tThis probably means "
                            "the server terminated abnormally\n") ==
             "server closed the connection unexpectedly");
  BOOST_TEST(cleanPgMessage("") == "unknown error");
}

BOOST_AUTO_TEST_CASE(durations_print_for_humans) {
  BOOST_TEST(formatSeconds(Micros{3'000'000}) == "3.0s");
  BOOST_TEST(formatSeconds(Micros{3'049'000}) == "3.0s");
  BOOST_TEST(formatSeconds(Micros{12'345}) == "12.3ms");
}

BOOST_AUTO_TEST_CASE(endpoints_follow_libpq_defaults_without_network) {
  FakeClock clock;
  Deadline deadline(clock, 1s);
  std::string err;
  auto socket = parseConnInfo("host=/tmp/pgdir port=6000", &err);
  auto r = resolveEndpoints(*socket, deadline);
  BOOST_TEST_REQUIRE(r.endpoints.size() == 1u);
  BOOST_TEST(r.endpoints[0].unix_socket);
  BOOST_TEST(r.endpoints[0].display() == "/tmp/pgdir/.s.PGSQL.6000");
  auto v6 = parseConnInfo("host=::1 port=7000", &err);
  r = resolveEndpoints(*v6, deadline);
  BOOST_TEST_REQUIRE(r.endpoints.size() == 1u);
  BOOST_TEST(r.endpoints[0].display() == "[::1]:7000");
  auto addr = parseConnInfo("host=name.invalid hostaddr=127.0.0.1", &err);
  r = resolveEndpoints(*addr, deadline);
  BOOST_TEST(r.endpoints[0].display() == "127.0.0.1:5432");  // hostaddr: no lookup at all
  {
    pgvigil::testing::ScopedEnv port("PGPORT", "6543");
    pgvigil::testing::ScopedEnv host("PGHOST", "/run/pgx");
    auto bare = parseConnInfo("dbname=x", &err);
    r = resolveEndpoints(*bare, deadline);
    BOOST_TEST(r.endpoints[0].display() == "/run/pgx/.s.PGSQL.6543");
  }
}

BOOST_AUTO_TEST_SUITE_END()
