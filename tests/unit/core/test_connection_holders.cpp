// Who holds the slots (issue 10): ranking into top N + other, the words events and `check` use,
// thresholds that cannot fire, the blast radius of a restart, and the visibility warning.
#include <boost/test/unit_test.hpp>

#include "core/connection_holders.h"
#include "core/supervisor_events.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

ConnectionHolder holder(std::string app, std::string user, std::string client, int total,
                        int idle = 0) {
  ConnectionHolder h;
  h.application = std::move(app);
  h.user = std::move(user);
  h.client = std::move(client);
  h.total = total;
  h.idle = idle;
  return h;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(connection_holders)

BOOST_AUTO_TEST_CASE(ranks_by_sessions_and_folds_the_rest_into_other) {
  std::vector<ConnectionHolder> hs;
  for (int i = 1; i <= 8; ++i) {
    ConnectionHolder h =
        holder("app" + std::to_string(i), "u", "10.0.0." + std::to_string(i), i, i);
    h.oldest_idle = Millis(i * 1000);
    hs.push_back(h);
  }
  rankHolders(hs, 5);
  BOOST_TEST_REQUIRE(hs.size() == 6u);  // top 5 + other
  BOOST_TEST(hs[0].application == "app8");
  BOOST_TEST(hs[4].application == "app4");
  BOOST_TEST(hs[5].other);
  BOOST_TEST(hs[5].groups == 3);  // app1..app3
  BOOST_TEST(hs[5].total == 6);
  BOOST_TEST(hs[5].idle == 6);
  BOOST_TEST_REQUIRE(hs[5].oldest_idle.has_value());
  BOOST_TEST(hs[5].oldest_idle->count() == 3000);  // the oldest of the folded ones
}

BOOST_AUTO_TEST_CASE(an_other_row_from_the_query_is_merged_and_kept_last) {
  std::vector<ConnectionHolder> hs = {holder("b", "u", "", 2), holder("a", "u", "", 2)};
  ConnectionHolder other;
  other.other = true;
  other.groups = 4;
  other.total = 9;  // more than any named one: still last
  hs.insert(hs.begin(), other);
  rankHolders(hs, 5);
  BOOST_TEST_REQUIRE(hs.size() == 3u);
  BOOST_TEST(hs[0].application == "a");  // ties by application
  BOOST_TEST(hs[1].application == "b");
  BOOST_TEST(hs[2].other);
  BOOST_TEST(hs[2].groups == 4);
  BOOST_TEST(hs[2].total == 9);
  std::vector<ConnectionHolder> few = {holder("x", "u", "", 1)};
  rankHolders(few, 5);
  BOOST_TEST(few.size() == 1u);  // no empty `other`
}

BOOST_AUTO_TEST_CASE(says_who_holds_how_many_in_words) {
  ConnectionHolder h = holder("api", "appuser", "10.0.0.5", 21, 18);
  h.oldest_idle = 41min + 30s;
  h.active = 1;
  h.idle_in_transaction = 2;
  h.oldest_idle_in_transaction = 3min + 5s;
  BOOST_TEST(holderText(h, 97) ==
             "api (appuser@10.0.0.5) holds 21 of 97 usable; 18 idle, oldest idle 41m; 2 idle in "
             "transaction, oldest 3m; 1 active");
  ConnectionHolder young = holder("", "bob", "local", 1, 1);
  young.oldest_idle = 12500ms;
  BOOST_TEST(holderText(young, 7) ==
             "(no application_name) (bob@local) holds 1 of 7 usable; 1 idle, oldest idle 12s");
  ConnectionHolder other;
  other.other = true;
  other.groups = 12;
  other.total = 30;
  BOOST_TEST(holderName(other) == "other (12 groups)");
  ConnectionStats c;
  BOOST_TEST(topHolderText(c).empty());
  c.usable = 97;
  c.holders = {h};
  BOOST_TEST(topHolderText(c).rfind("api (appuser@10.0.0.5) holds 21 of 97 usable", 0) == 0);
}

BOOST_AUTO_TEST_CASE(a_role_that_cannot_see_others_gets_the_grant_remedy) {
  ConnectionStats c;
  c.used = 14;
  c.hidden = 13;
  c.role = "app";
  BOOST_TEST(visibilityWarning(c).empty());  // sees_all by default
  c.sees_all = false;
  BOOST_TEST(visibilityWarning(c) ==
             "role app cannot see other users' sessions (13 of 14 hidden: counted, but with no "
             "state, address or query); GRANT pg_monitor TO app");
  BOOST_TEST(grantRemedy("App-User") == "GRANT pg_monitor TO \"App-User\"");
  BOOST_TEST(grantRemedy("we\"ird") == "GRANT pg_monitor TO \"we\"\"ird\"");
}

BOOST_AUTO_TEST_CASE(thresholds_that_cannot_fire_on_a_small_server) {
  ConnectionsCheckConfig cfg;  // warn 80%, critical 95%
  ConnectionStats c;
  c.usable = 17;  // at most 16 others: 94.1%
  auto why = unreachableThresholds(c, cfg);
  BOOST_TEST_REQUIRE(why.has_value());
  BOOST_TEST(*why ==
             "critical 95% needs 17 of 17 usable slots, but at most 16 other sessions can be "
             "counted (the monitoring session holds one slot): it can never fire; set it to 94% "
             "or below");
  c.usable = 20;  // 19/20 = 95%: reachable
  BOOST_TEST(!unreachableThresholds(c, cfg).has_value());
  c.usable = 3;  // 2/3 = 66%: neither warn nor critical
  why = unreachableThresholds(c, cfg);
  BOOST_TEST_REQUIRE(why.has_value());
  BOOST_TEST(why->find("critical 95% needs 3 and warn 80% needs 3 of 3 usable") == 0u, *why);
  c.superuser = true;  // its sessions fall back to the reserved slots
  BOOST_TEST(!unreachableThresholds(c, cfg).has_value());
  c.superuser = false;
  c.usable = 0;
  BOOST_TEST(!unreachableThresholds(c, cfg).has_value());
}

BOOST_AUTO_TEST_CASE(blast_radius_names_sessions_and_applications) {
  ConnectionStats c;
  BOOST_TEST(blastRadiusText(c) == "no client sessions");
  c.used = 14;
  c.holders = {holder("api", "u", "a", 9), holder("worker", "u", "b", 4),
               holder("api", "v", "c", 1)};
  BOOST_TEST(blastRadiusText(c) == "14 client sessions (api 9, worker 4, api 1)");
  BOOST_TEST(blastRadiusApplications(c) == "api,worker");
  ConnectionHolder other;
  other.other = true;
  other.total = 1;
  c.holders.push_back(other);
  BOOST_TEST(blastRadiusApplications(c) == "api,worker,other");
}

BOOST_AUTO_TEST_CASE(connection_events_name_the_top_holder) {
  ConnectionStats c;
  c.used = 90;
  c.usable = 97;
  c.holders = {holder("api", "appuser", "10.0.0.5", 21, 18)};
  c.holders[0].oldest_idle = 41min;
  supervisor_events::EventBase base{WallTime{}, "main", Cause::kNone};
  AlertEvent e = supervisor_events::connectionsWarning(base, c, 0.8);
  BOOST_TEST(e.msg.find("; api (appuser@10.0.0.5) holds 21 of 97 usable; 18 idle, oldest idle "
                        "41m") != std::string::npos,
             e.msg);
  bool named = false;
  for (const auto& [k, v] : e.fields)
    named = named || (k == "top_holder" && v == "api (appuser@10.0.0.5)");
  BOOST_TEST(named);

  supervisor_events::RestartRequest r;
  r.reason = "auto";
  r.why = "down";
  c.measured_at = WallTime{} + 1h;
  r.clients = &c;
  AlertEvent req = supervisor_events::restartRequested(base, r);
  BOOST_TEST(req.msg.find("; cuts 90 client sessions (api 21)") != std::string::npos, req.msg);
  bool cut = false;
  for (const auto& [k, v] : req.fields) cut = cut || (k == "sessions_cut" && v == "90");
  BOOST_TEST(cut);
}

BOOST_AUTO_TEST_SUITE_END()
