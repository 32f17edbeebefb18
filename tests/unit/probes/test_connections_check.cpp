#include <boost/test/unit_test.hpp>

#include "probes/connections_check.h"

using namespace pgvigil;

BOOST_AUTO_TEST_SUITE(connections_check)

BOOST_AUTO_TEST_CASE(query_asks_reserved_connections_only_on_16_and_later) {
  BOOST_TEST(connectionsQuery(150004).find("reserved_connections')") ==
             connectionsQuery(150004).find("superuser_reserved_connections')") + 10);
  BOOST_TEST(connectionsQuery(160002).find("current_setting('reserved_connections')") !=
             std::string::npos);
  BOOST_TEST(connectionsQuery(150004).find("current_setting('reserved_connections')") ==
             std::string::npos);
  BOOST_TEST(connectionsQuery(150004).find("'client backend'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(parses_counts_by_state_and_usable_slots) {
  auto s = parseConnectionsRow(std::string("active=3,idle=5,idle in transaction=1"),
                               std::string("100"), std::string("3"), std::string("2"));
  BOOST_TEST_REQUIRE(s.has_value());
  BOOST_TEST(s->used == 9);
  BOOST_TEST(s->usable == 95);
  BOOST_TEST(s->max_connections == 100);
  BOOST_TEST(s->superuser_reserved == 3);
  BOOST_TEST(s->reserved == 2);
  BOOST_TEST(s->by_state.at("active") == 3);
  BOOST_TEST(s->by_state.at("idle in transaction") == 1);
  auto none =
      parseConnectionsRow(std::string(""), std::string("10"), std::string("3"), std::string("0"));
  BOOST_TEST_REQUIRE(none.has_value());
  BOOST_TEST(none->used == 0);
  BOOST_TEST(none->usable == 7);
  BOOST_TEST(
      !parseConnectionsRow(std::nullopt, std::string("10"), std::string("3"), std::string("0")));
  BOOST_TEST(!parseConnectionsRow(std::string("idle=x"), std::string("10"), std::string("3"),
                                  std::string("0")));
  BOOST_TEST(!parseConnectionsRow(std::string(""), std::string("ten"), std::string("3"),
                                  std::string("0")));
}

BOOST_AUTO_TEST_CASE(judges_against_usable_slots) {
  ConnectionsCheckConfig cfg;  // warn 80%, critical 95%
  ConnectionStats s;
  s.usable = 100;
  s.used = 79;
  auto j = judgeConnections(s, cfg);
  BOOST_TEST(!j.warn);
  BOOST_TEST(!j.critical);
  BOOST_TEST(j.reason.empty());
  s.used = 80;
  j = judgeConnections(s, cfg);
  BOOST_TEST(j.warn);
  BOOST_TEST(!j.critical);
  BOOST_TEST(j.reason == "connections at 80% (80 of 100 usable; warn 80%)");
  s.used = 95;
  j = judgeConnections(s, cfg);
  BOOST_TEST(j.warn);
  BOOST_TEST(j.critical);
  BOOST_TEST(j.reason == "connections at 95% (95 of 100 usable; critical 95%)");
  // 7 usable, 6 used = 85.7%: warn, floor in the text.
  s.usable = 7;
  s.used = 6;
  j = judgeConnections(s, cfg);
  BOOST_TEST(j.warn);
  BOOST_TEST(!j.critical);
  BOOST_TEST(j.reason.find("85%") != std::string::npos);
  // No usable slots but clients: full.
  s.usable = 0;
  s.used = 1;
  BOOST_TEST(judgeConnections(s, cfg).critical);
}

BOOST_AUTO_TEST_SUITE_END()
