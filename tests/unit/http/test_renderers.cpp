#include <boost/test/unit_test.hpp>

#include "http/json_writer.h"
#include "http/renderers.h"
#include "json_helpers.h"
#include "sample_status.h"

using namespace pgvigil;
using namespace pgvigil::testing;

BOOST_AUTO_TEST_SUITE(renderers)

BOOST_AUTO_TEST_CASE(health_is_200_only_when_every_target_is_up) {
  AgentStatus s = richStatus();
  s.targets.resize(1);  // main, healthy
  auto r = renderHealth(s);
  BOOST_TEST(r.code == 200);
  auto o = parseObject(r.body);
  BOOST_TEST(o->getValue<std::string>("status") == "healthy");
  BOOST_TEST(o->getObject("targets")->getValue<std::string>("main") == "healthy");
  BOOST_TEST(o->getValue<std::string>("checked_at") == "2023-11-14T22:14:58.000Z");
  BOOST_TEST(o->getValue<bool>("stale") == false);

  s.targets[0].state = TargetState::kDegraded;
  r = renderHealth(s);
  BOOST_TEST(r.code == 200);
  BOOST_TEST(parseObject(r.body)->getValue<std::string>("status") == "degraded");

  for (TargetState bad : {TargetState::kUnknown, TargetState::kUnhealthy, TargetState::kRestarting,
                          TargetState::kStartingUp, TargetState::kGivenUp, TargetState::kPaused}) {
    s.targets[0].state = bad;
    r = renderHealth(s);
    BOOST_TEST(r.code == 503, toString(bad));
    BOOST_TEST(parseObject(r.body)->getValue<std::string>("status") == "unhealthy");
  }
}

BOOST_AUTO_TEST_CASE(health_lists_every_target_and_fails_for_one_down) {
  auto r = renderHealth(richStatus());
  BOOST_TEST(r.code == 503);
  auto targets = parseObject(r.body)->getObject("targets");
  BOOST_TEST(targets->size() == 3u);
  BOOST_TEST(targets->getValue<std::string>("replica") == "unhealthy");
  BOOST_TEST(targets->getValue<std::string>("new-one") == "unknown");
}

BOOST_AUTO_TEST_CASE(health_with_no_targets_is_200) {
  AgentStatus s;
  s.now = at(1000);
  BOOST_TEST(renderHealth(s).code == 200);
}

BOOST_AUTO_TEST_CASE(health_target_answers_for_one_and_404_for_unknown) {
  auto s = richStatus();
  auto r = renderHealthTarget(s, "main");
  BOOST_TEST(r.code == 200);
  auto o = parseObject(r.body);
  BOOST_TEST(o->getValue<std::string>("status") == "healthy");
  BOOST_TEST(o->getValue<std::string>("target") == "main");
  BOOST_TEST(o->isNull("cause"));
  r = renderHealthTarget(s, "replica");
  BOOST_TEST(r.code == 503);
  BOOST_TEST(parseObject(r.body)->getValue<std::string>("cause") == "refused");
  r = renderHealthTarget(s, "nope");
  BOOST_TEST(r.code == 404);
  BOOST_TEST(parseObject(r.body)->has("error"));
}

namespace {
std::string header(const Rendered& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<none>";
}
}  // namespace

// Issue 10: a 503 names its reason class in the body and X-Pgvigil-Reason, and carries
// Retry-After (whole seconds, rounded up) only when a time of change is known; a 200 has none.
BOOST_AUTO_TEST_CASE(health_503_carries_reason_and_retry_after) {
  auto s = richStatus();
  auto ok = renderHealthTarget(s, "main");
  BOOST_TEST(ok.code == 200);
  BOOST_TEST(ok.headers.empty());
  BOOST_TEST(parseObject(ok.body)->isNull("reason"));
  BOOST_TEST(parseObject(ok.body)->isNull("retry_at"));

  TargetStatus& replica = s.targets[1];  // unhealthy, refused
  auto down = renderHealthTarget(s, "replica");
  BOOST_TEST(down.code == 503);
  BOOST_TEST(parseObject(down.body)->getValue<std::string>("reason") == "down");
  BOOST_TEST(parseObject(down.body)->isNull("retry_at"));
  BOOST_TEST(header(down, "X-Pgvigil-Reason") == "down");
  BOOST_TEST(header(down, "Retry-After") == "<none>");

  replica.next_change_at = s.now + 12300ms;  // the backoff's end
  down = renderHealthTarget(s, "replica");
  BOOST_TEST(header(down, "Retry-After") == "13");
  BOOST_TEST(parseObject(down.body)->getValue<std::string>("retry_at") ==
             "2023-11-14T22:15:12.300Z");

  replica.state = TargetState::kPaused;
  replica.paused_until = s.now + 30min;
  auto paused = renderHealthTarget(s, "replica");
  BOOST_TEST(header(paused, "X-Pgvigil-Reason") == "paused");
  BOOST_TEST(header(paused, "Retry-After") == "1800");

  // The aggregate: the first target that is not up names the reason, every one is listed;
  // Retry-After only when every one has a time (new-one, with no verdict yet, has none).
  auto all = renderHealth(s);
  BOOST_TEST(all.code == 503);
  auto o = parseObject(all.body);
  BOOST_TEST(o->getValue<std::string>("reason") == "paused");
  BOOST_TEST(o->getObject("reasons")->getValue<std::string>("replica") == "paused");
  BOOST_TEST(o->getObject("reasons")->getValue<std::string>("new-one") == "starting");
  BOOST_TEST(!o->getObject("reasons")->has("main"));
  BOOST_TEST(o->isNull("retry_at"));
  BOOST_TEST(header(all, "Retry-After") == "<none>");
  BOOST_TEST(header(all, "X-Pgvigil-Reason") == "paused");
  s.targets.resize(2);
  s.targets.push_back(richTarget("third", TargetState::kUnhealthy, s.now - 1s));
  s.targets.back().next_change_at = s.now + 5s;
  all = renderHealth(s);
  BOOST_TEST(header(all, "Retry-After") == "1800");  // the latest of 30 min and 5 s
  BOOST_TEST(parseObject(all.body)->getObject("reasons")->getValue<std::string>("third") == "down");
}

BOOST_AUTO_TEST_CASE(stale_means_older_than_two_intervals) {
  auto s = richStatus();
  TargetStatus& t = s.targets[0];
  t.last_round->checked_at = s.now - 10s;  // exactly two intervals: not yet
  BOOST_TEST(freshness(t, s).stale == false);
  t.last_round->checked_at = s.now - 10001ms;
  BOOST_TEST(freshness(t, s).stale == true);
  BOOST_TEST(freshness(t, s).checked_at.has_value());
}

BOOST_AUTO_TEST_CASE(a_target_without_a_round_is_stale_only_once_the_round_is_overdue) {
  auto s = richStatus();
  TargetStatus& t = s.targets[2];
  BOOST_TEST(freshness(t, s).stale == true);  // agent up 100 s, interval 5 s
  BOOST_TEST(!freshness(t, s).checked_at);
  s.now = s.started_at + 3s;
  BOOST_TEST(freshness(t, s).stale == false);
}

BOOST_AUTO_TEST_CASE(overall_freshness_is_the_oldest_part) {
  auto s = richStatus();
  s.targets.resize(2);
  auto f = freshness(s);
  BOOST_REQUIRE(f.checked_at);
  BOOST_TEST((*f.checked_at == s.now - 3s));  // replica's, the older one
  BOOST_TEST(f.stale == false);
  s.targets[1].last_round->checked_at = s.now - 60s;
  BOOST_TEST(freshness(s).stale == true);
  s = richStatus();  // with the target that has no round yet
  BOOST_TEST(!freshness(s).checked_at);
  auto o = parseObject(renderHealth(s).body);
  BOOST_TEST(o->isNull("checked_at"));
  BOOST_TEST(o->getValue<bool>("stale") == true);
}

BOOST_AUTO_TEST_CASE(livez_follows_the_scheduler) {
  auto s = richStatus();
  BOOST_TEST(renderLivez(s).code == 200);
  s.ticking = false;
  auto r = renderLivez(s);
  BOOST_TEST(r.code == 503);
  auto o = parseObject(r.body);
  BOOST_TEST(o->getValue<std::string>("status") == "stalled");
  BOOST_TEST(o->has("checked_at"));
  BOOST_TEST(o->has("stale"));
}

BOOST_AUTO_TEST_CASE(status_has_the_agent_and_every_detail_of_a_target) {
  auto r = renderStatus(richStatus());
  BOOST_TEST(r.code == 200);
  auto o = parseObject(r.body);
  auto agent = o->getObject("agent");
  BOOST_TEST(agent->getValue<std::string>("version") == "0.1.0");
  BOOST_TEST(agent->getValue<std::string>("config_path") == "/etc/pgvigil/pgvigil.yaml");
  BOOST_TEST(agent->getValue<double>("uptime_seconds") == 100.0);
  BOOST_TEST(o->has("checked_at"));
  BOOST_TEST(o->has("stale"));
  auto targets = o->getArray("targets");
  BOOST_REQUIRE(targets->size() == 3u);

  auto main = targets->getObject(0);
  BOOST_TEST(main->getValue<std::string>("name") == "main");
  BOOST_TEST(main->getValue<std::string>("state") == "healthy");
  BOOST_TEST(main->getValue<std::string>("since") == "2023-11-14T22:13:58.000Z");
  BOOST_TEST(main->isNull("cause"));
  BOOST_TEST(main->getValue<bool>("stale") == false);
  auto round = main->getObject("last_round");
  BOOST_TEST(round->getValue<double>("latency_ms") == 2.5);
  auto checks = round->getArray("checks");
  BOOST_REQUIRE(checks->size() == 3u);
  BOOST_TEST(checks->getObject(1)->getValue<std::string>("check") == "query");
  BOOST_TEST(checks->getObject(1)->getValue<double>("latency_ms") == 1.2);
  auto conn = main->getObject("connections");
  BOOST_TEST(conn->getValue<int>("used") == 42);
  BOOST_TEST(conn->getValue<int>("usable") == 97);
  BOOST_TEST(conn->getObject("by_state")->getValue<int>("idle in transaction") == 7);
  auto restart = main->getObject("restart");
  BOOST_TEST(restart->getValue<std::string>("method") == "systemd");
  BOOST_TEST(restart->getObject("budget")->getValue<int>("used") == 2);
  BOOST_TEST(restart->getObject("budget")->getValue<int>("max") == 5);
  BOOST_TEST(restart->getValue<std::string>("next_allowed") == "2023-11-14T22:15:38.000Z");
  auto history = restart->getArray("history");
  BOOST_REQUIRE(history->size() == 2u);
  BOOST_TEST(history->getObject(0)->getValue<std::string>("result") ==
             "succeeded");  // newest first
  BOOST_TEST(history->getObject(0)->getValue<int>("took_ms") == 2300);
  BOOST_TEST(main->isNull("paused_until"));

  auto replica = targets->getObject(1);
  BOOST_TEST(replica->getValue<std::string>("cause") == "refused");
  BOOST_TEST(replica->getObject("last_round")->getValue<std::string>("phase") == "connect");
  BOOST_TEST(replica->isNull("connections"));

  auto fresh = targets->getObject(2);
  BOOST_TEST(fresh->isNull("last_round"));
  BOOST_TEST(fresh->isNull("checked_at"));
  BOOST_TEST(fresh->getValue<bool>("stale") == true);
}

BOOST_AUTO_TEST_CASE(status_names_the_holders_and_keeps_the_last_figures_with_their_age) {
  AgentStatus s = richStatus();
  auto& t = s.targets[1];  // replica: its last round read no figures
  ConnectionStats c;
  c.used = 14;
  c.usable = 17;
  c.role = "app";
  c.sees_all = false;
  c.hidden = 4;
  c.from_monitor = true;
  c.measured_at = s.now - std::chrono::seconds(30);
  ConnectionHolder api;
  api.application = "api";
  api.user = "appuser";
  api.client = "10.0.0.5";
  api.total = 10;
  api.idle = 9;
  api.oldest_idle = std::chrono::minutes(41);
  ConnectionHolder other;
  other.other = true;
  other.groups = 3;
  other.total = 4;
  c.holders = {api, other};
  t.last_connections = c;
  auto o = parseObject(renderStatus(s).body);
  auto conn = o->getArray("targets")->getObject(1)->getObject("connections");
  BOOST_REQUIRE(conn);
  BOOST_TEST(conn->getValue<int>("used") == 14);
  BOOST_TEST(conn->getValue<bool>("stale") == true);
  BOOST_TEST(conn->getValue<double>("age_s") == 30.0);
  BOOST_TEST(conn->getValue<std::string>("source") == "monitoring_session");
  BOOST_TEST(conn->getValue<bool>("sees_all_sessions") == false);
  BOOST_TEST(conn->getValue<std::string>("visibility_warning").find("GRANT pg_monitor TO app") !=
             std::string::npos);
  BOOST_TEST(conn->getValue<std::string>("top_holder") ==
             "api (appuser@10.0.0.5) holds 10 of 17 usable; 9 idle, oldest idle 41m");
  auto holders = conn->getArray("holders");
  BOOST_REQUIRE(holders->size() == 2u);
  BOOST_TEST(holders->getObject(0)->getValue<int>("sessions") == 10);
  BOOST_TEST(holders->getObject(0)->getValue<double>("oldest_idle_s") == 2460.0);
  BOOST_TEST(holders->getObject(0)->isNull("oldest_idle_in_transaction_s"));
  BOOST_TEST(holders->getObject(1)->getValue<std::string>("application") == "other");
  BOOST_TEST(holders->getObject(1)->getValue<int>("groups") == 3);
  auto blast =
      o->getArray("targets")->getObject(1)->getObject("restart")->getObject("blast_radius");
  BOOST_REQUIRE(blast);
  BOOST_TEST(blast->getValue<int>("sessions") == 14);
  BOOST_TEST(blast->getValue<std::string>("text") == "14 client sessions (api 10, other 4)");
  // The healthy target's figures are its round's own: fresh.
  auto mainConn = o->getArray("targets")->getObject(0)->getObject("connections");
  BOOST_TEST(mainConn->getValue<bool>("stale") == false);
}

BOOST_AUTO_TEST_CASE(status_metrics_come_from_the_metric_table) {
  auto o = parseObject(renderStatus(richStatus()).body);
  auto metrics = o->getArray("targets")->getObject(0)->getObject("metrics");
  BOOST_TEST(metrics->getValue<double>("up") == 1.0);
  BOOST_TEST(metrics->getObject("failures_total")->getValue<double>("refused") == 12.0);
  BOOST_TEST(metrics->getObject("failures_total")->getValue<double>("dns") == 0.0);
  BOOST_TEST(metrics->getObject("restarts_total")->getValue<double>("success") == 4.0);
  BOOST_TEST(metrics->getObject("target_state")->getValue<double>("healthy") == 1.0);
  BOOST_TEST(metrics->getValue<double>("connections_usage_ratio") == 42.0 / 97.0);
  BOOST_TEST(!metrics->has("build_info"));  // agent-wide, not per target
}

BOOST_AUTO_TEST_CASE(status_metrics_are_each_targets_own) {
  auto targets = parseObject(renderStatus(richStatus()).body)->getArray("targets");
  auto replica = targets->getObject(1)->getObject("metrics");
  BOOST_TEST(replica->getValue<double>("up") == 0.0);
  BOOST_TEST(replica->getObject("target_state")->getValue<double>("unhealthy") == 1.0);
  BOOST_TEST(replica->getObject("target_state")->getValue<double>("healthy") == 0.0);
  BOOST_TEST(replica->getValue<double>("consecutive_failures") == 4.0);
  BOOST_TEST(!replica->has("connections"));  // its round has no connection figures
  auto fresh = targets->getObject(2)->getObject("metrics");
  BOOST_TEST(!fresh->has("check_success"));  // no round yet
  BOOST_TEST(fresh->getObject("target_state")->size() == 8);
  BOOST_TEST(fresh->getObject("restarts_total")->getValue<double>("success") == 0.0);
}

BOOST_AUTO_TEST_CASE(events_keep_the_provider_order_and_flatten_fields) {
  AlertEvent older;
  older.ts = at(1'700'000'050'000);
  older.event = "target_unhealthy";
  older.level = EventLevel::kError;
  older.target = "main";
  older.state = TargetState::kUnhealthy;
  older.previous_state = TargetState::kHealthy;
  older.cause = Cause::kRefused;
  older.msg = "connection refused";
  AlertEvent newer;
  newer.ts = at(1'700'000'060'123);
  newer.event = "restart_requested";
  newer.target = "main";
  newer.msg = "restarting";
  newer.fields = {{"attempt", "1"}, {"event", "forged"}};
  AlertEvent agentWide;
  agentWide.ts = at(1'700'000'070'000);
  agentWide.event = "config_loaded";
  agentWide.msg = "loaded";

  auto r = renderEvents({agentWide, newer, older}, at(1'700'000'100'000));
  BOOST_TEST(r.code == 200);
  auto o = parseObject(r.body);
  BOOST_TEST(o->getValue<bool>("stale") == false);
  auto events = o->getArray("events");
  BOOST_REQUIRE(events->size() == 3u);
  BOOST_TEST(events->getObject(0)->isNull("target"));
  BOOST_TEST(events->getObject(1)->getValue<std::string>("ts") == "2023-11-14T22:14:20.123Z");
  BOOST_TEST(events->getObject(1)->getValue<std::string>("attempt") == "1");
  BOOST_TEST(events->getObject(1)->getValue<std::string>("event") == "restart_requested");
  auto e = events->getObject(2);
  BOOST_TEST(e->getValue<std::string>("level") == "error");
  BOOST_TEST(e->getValue<std::string>("state") == "unhealthy");
  BOOST_TEST(e->getValue<std::string>("previous_state") == "healthy");
  BOOST_TEST(e->getValue<std::string>("cause") == "refused");
}

BOOST_AUTO_TEST_CASE(strings_are_escaped_into_valid_json) {
  auto s = richStatus();
  s.targets[1].last_round->message = "quote \" backslash \\ newline \n tab \t bell \x07 <b>";
  s.config_path = "C:\\ProgramData\\pgvigil\\pgvigil.yaml";
  auto o = parseObject(renderStatus(s).body);
  BOOST_TEST(o->getObject("agent")->getValue<std::string>("config_path") == s.config_path);
  BOOST_TEST(o->getArray("targets")
                 ->getObject(1)
                 ->getObject("last_round")
                 ->getValue<std::string>("message") == s.targets[1].last_round->message);
}

BOOST_AUTO_TEST_CASE(json_writer_formats_numbers_and_times) {
  JsonWriter w;
  w.beginArray().value(0.1).value(std::int64_t{-5}).value(std::uint64_t{18446744073709551615ull});
  w.value(1.0 / 0.0).null().value(true).time(at(-1)).endArray();
  BOOST_TEST(w.str() ==
             "[0.1,-5,18446744073709551615,null,null,true,\"1969-12-31T23:59:59.999Z\"]");
  BOOST_TEST(formatWallTime(at(1'700'000'000'007)) == "2023-11-14T22:13:20.007Z");
}

BOOST_AUTO_TEST_CASE(error_bodies_are_json) {
  auto r = renderError(404, "no \"such\" thing");
  BOOST_TEST(r.code == 404);
  BOOST_TEST(parseObject(r.body)->getValue<std::string>("error") == "no \"such\" thing");
}

BOOST_AUTO_TEST_CASE(status_names_the_server_certificate_expiry_of_a_tls_round) {
  AgentStatus s = richStatus();
  s.targets[0].last_round->server_cert_not_after = s.now + std::chrono::hours(24);
  auto targets = parseObject(renderStatus(s).body)->getArray("targets");
  BOOST_TEST(targets->getObject(0)
                 ->getObject("last_round")
                 ->getValue<std::string>("server_certificate_not_after") ==
             "2023-11-15T22:15:00.000Z");
  // Without TLS the field is there, and null.
  BOOST_TEST(
      targets->getObject(1)->getObject("last_round")->isNull("server_certificate_not_after"));
}

// Issue 10: each target's restart_path, null until checked (or for method none).
BOOST_AUTO_TEST_CASE(status_shows_the_restart_path) {
  AgentStatus s = richStatus();
  s.targets[0].restart_path = RestartPathStatus{true, s.now, ""};
  s.targets[1].restart_path = RestartPathStatus{false, s.now, "container 'replica' does not exist"};
  auto targets = parseObject(renderStatus(s).body)->getArray("targets");
  auto ok = targets->getObject(0)->getObject("restart_path");
  BOOST_TEST(ok->getValue<bool>("ok"));
  BOOST_TEST(ok->isNull("problem"));
  BOOST_TEST(ok->getValue<std::string>("checked_at") == "2023-11-14T22:15:00.000Z");
  auto broken = targets->getObject(1)->getObject("restart_path");
  BOOST_TEST(!broken->getValue<bool>("ok"));
  BOOST_TEST(broken->getValue<std::string>("problem") == "container 'replica' does not exist");
  BOOST_TEST(targets->getObject(2)->isNull("restart_path"));
}

BOOST_AUTO_TEST_SUITE_END()
