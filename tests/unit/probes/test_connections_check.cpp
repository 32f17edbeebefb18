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

namespace {
using Row = std::vector<std::optional<std::string>>;
Row holderRow(const char* kind, std::optional<std::string> app, std::optional<std::string> user,
              std::optional<std::string> client, const char* n, const char* act, const char* idl,
              const char* iit, const char* hid, std::optional<std::string> oi,
              std::optional<std::string> oiit, const char* groups) {
  return {std::string(kind),
          app,
          user,
          client,
          std::string(n),
          std::string(act),
          std::string(idl),
          std::string(iit),
          std::string(hid),
          oi,
          oiit,
          std::string(groups)};
}
Row settingsRow(const char* byState, const char* seesAll, const char* role, const char* su) {
  return {std::string("s"), std::string(byState), std::string("100"), std::string("3"),
          std::string("0"), std::string(seesAll), std::string(role),  std::string(su),
          std::nullopt,     std::nullopt,         std::nullopt,       std::nullopt};
}
}  // namespace

BOOST_AUTO_TEST_CASE(parses_holders_ranked_with_ages_and_visibility) {
  std::vector<Row> rows = {
      holderRow("h", "worker", "bob", "10.0.0.7", "2", "0", "1", "1", "0", "12.5", "3.25", "1"),
      holderRow("h", "api", "alice", "10.0.0.5", "3", "1", "2", "0", "0", "2460.0", std::nullopt,
                "1"),
      holderRow("h", "", "carol", "", "4", "0", "0", "0", "4", std::nullopt, std::nullopt, "1"),
      holderRow("o", std::nullopt, std::nullopt, std::nullopt, "5", "1", "4", "0", "0", "99",
                std::nullopt, "3"),
      settingsRow("active=2,idle=7,idle in transaction=1,unknown=4", "false", "app", "off")};
  auto s = parseConnectionsRows(rows);
  BOOST_TEST_REQUIRE(s.has_value());
  BOOST_TEST(s->used == 14);
  BOOST_TEST(s->usable == 97);
  BOOST_TEST(!s->sees_all);
  BOOST_TEST(s->role == "app");
  BOOST_TEST(!s->superuser);
  BOOST_TEST(s->hidden == 4);
  BOOST_TEST_REQUIRE(s->holders.size() == 4u);
  BOOST_TEST(s->holders[0].user == "carol");  // 4 sessions, hidden ones included
  BOOST_TEST(s->holders[0].hidden == 4);
  BOOST_TEST(s->holders[1].application == "api");
  BOOST_TEST(s->holders[1].oldest_idle->count() == 2460000);
  BOOST_TEST(!s->holders[1].oldest_idle_in_transaction.has_value());
  BOOST_TEST(s->holders[2].application == "worker");
  BOOST_TEST(s->holders[2].oldest_idle_in_transaction->count() == 3250);
  BOOST_TEST(s->holders[3].other);
  BOOST_TEST(s->holders[3].groups == 3);
  BOOST_TEST(s->holders[3].total == 5);

  // No holders at all (an empty server): still the settings.
  auto empty = parseConnectionsRows({settingsRow("", "true", "postgres", "on")});
  BOOST_TEST_REQUIRE(empty.has_value());
  BOOST_TEST(empty->used == 0);
  BOOST_TEST(empty->superuser);
  BOOST_TEST(empty->holders.empty());
}

BOOST_AUTO_TEST_CASE(rejects_answers_it_cannot_read) {
  using Rows = std::vector<Row>;
  BOOST_TEST(!parseConnectionsRows(Rows{}));  // no settings row
  Rows bad = {
      holderRow("h", "a", "u", "", "x", "0", "0", "0", "0", std::nullopt, std::nullopt, "1"),
      settingsRow("", "true", "r", "off")};
  BOOST_TEST(!parseConnectionsRows(bad));
  Rows twoSettings = {settingsRow("", "true", "r", "off"), settingsRow("", "true", "r", "off")};
  BOOST_TEST(!parseConnectionsRows(twoSettings));
  Rows shortRow = {Row{std::string("s")}};
  BOOST_TEST(!parseConnectionsRows(shortRow));
  Rows unknownKind = {settingsRow("", "true", "r", "off"), Row(12, std::string("z"))};
  BOOST_TEST(!parseConnectionsRows(unknownKind));
  // An age that is not a number is "unknown", not a failure.
  Rows age = {holderRow("h", "a", "u", "", "1", "0", "1", "0", "0", "soon", std::nullopt, "1"),
              settingsRow("idle=1", "true", "r", "off")};
  auto s = parseConnectionsRows(age);
  BOOST_TEST_REQUIRE(s.has_value());
  BOOST_TEST(!s->holders[0].oldest_idle.has_value());
}

BOOST_AUTO_TEST_CASE(query_excludes_the_given_session_and_bounds_the_holders) {
  const std::string q = connectionsQuery(150004, 4242);
  BOOST_TEST(q.find("pid <> 4242") != std::string::npos);
  BOOST_TEST(q.find("rk <= 5") != std::string::npos);
  BOOST_TEST(q.find("pg_read_all_stats") != std::string::npos);
  BOOST_TEST(q.find("backend_type IS NULL AND usesysid IS NOT NULL AND datid IS NOT NULL") !=
             std::string::npos);
}
