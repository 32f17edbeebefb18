#include <boost/test/unit_test.hpp>

#include <set>
#include <sstream>

#include "core/connection_holders.h"
#include "http/metrics.h"
#include "sample_status.h"

using namespace pgvigil;
using namespace pgvigil::testing;

namespace {

std::vector<std::string> linesStarting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

bool hasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(the_table_declares_the_spec_metrics_once) {
  const std::set<std::string> spec = {"pgvigil_up",
                                      "pgvigil_target_state",
                                      "pgvigil_check_success",
                                      "pgvigil_check_duration_seconds",
                                      "pgvigil_connections",
                                      "pgvigil_connections_used",
                                      "pgvigil_connections_usable",
                                      "pgvigil_connections_usage_ratio",
                                      "pgvigil_failures_total",
                                      "pgvigil_restarts_total",
                                      "pgvigil_consecutive_failures",
                                      "pgvigil_last_success_timestamp_seconds",
                                      "pgvigil_build_info",
                                      "pgvigil_start_time_seconds"};
  std::set<std::string> names;
  for (std::size_t i = 0; i < kMetricCount; ++i) {
    const MetricDef& d = kMetricDefs[i];
    BOOST_TEST(static_cast<std::size_t>(d.metric) == i);
    BOOST_TEST(names.insert(std::string(d.name)).second, d.name);
    BOOST_TEST((d.type == MetricType::kCounter) == d.name.ends_with("_total"), d.name);
    BOOST_TEST(!d.help.empty());
  }
  for (const auto& n : spec) BOOST_TEST(names.count(n) == 1u, n);
  // Beyond the first list of metrics: the last check's time, and what a blocked output made the
  // agent drop.
  BOOST_TEST(names.count("pgvigil_last_check_timestamp_seconds") == 1u);
  BOOST_TEST(names.count("pgvigil_events_dropped_total") == 1u);
  // Issue 11: the seconds the server's TLS certificate has left.
  BOOST_TEST(names.count("pgvigil_server_certificate_expiry_seconds") == 1u);
  // Issue 10: who holds the slots (top holders + other), visibility, the figures' age.
  for (const char* n :
       {"pgvigil_connections_age_seconds", "pgvigil_connections_hidden",
        "pgvigil_connections_sees_all_sessions", "pgvigil_connection_holder_sessions",
        "pgvigil_connection_holder_idle_sessions",
        "pgvigil_connection_holder_idle_in_transaction_sessions",
        "pgvigil_connection_holder_oldest_idle_seconds"})
    BOOST_TEST(names.count(n) == 1u, n);
  BOOST_TEST(names.size() == spec.size() + 3 + 7);
  BOOST_TEST(metricDef(Metric::kTargetState).labels[1] == "state");
  BOOST_TEST(metricDef(Metric::kRestartsTotal).labels[1] == "result");
}

BOOST_AUTO_TEST_CASE(target_state_is_one_for_the_current_state_only) {
  auto text = renderPrometheus(richStatus());
  auto main = linesStarting(text, "pgvigil_target_state{target=\"main\",");
  BOOST_TEST(main.size() == std::size(kAllStates));
  int ones = 0;
  for (const auto& l : main) ones += l.ends_with(" 1");
  BOOST_TEST(ones == 1);
  BOOST_TEST(hasLine(text, "pgvigil_target_state{target=\"main\",state=\"healthy\"} 1"));
  BOOST_TEST(hasLine(text, "pgvigil_target_state{target=\"replica\",state=\"unhealthy\"} 1"));
  BOOST_TEST(hasLine(text, "pgvigil_target_state{target=\"new-one\",state=\"unknown\"} 1"));
}

BOOST_AUTO_TEST_CASE(counters_list_every_cause_and_result_with_zeros) {
  auto text = renderPrometheus(richStatus());
  BOOST_TEST(linesStarting(text, "pgvigil_failures_total{target=\"main\",").size() ==
             std::size(kAllCauses));
  BOOST_TEST(hasLine(text, "pgvigil_failures_total{target=\"main\",cause=\"refused\"} 12"));
  BOOST_TEST(hasLine(text, "pgvigil_failures_total{target=\"main\",cause=\"timeout\"} 3"));
  BOOST_TEST(
      hasLine(text, "pgvigil_failures_total{target=\"main\",cause=\"too_many_connections\"} 0"));
  BOOST_TEST(hasLine(text, "pgvigil_restarts_total{target=\"main\",result=\"success\"} 4"));
  BOOST_TEST(hasLine(text, "pgvigil_restarts_total{target=\"main\",result=\"failure\"} 1"));
  BOOST_TEST(hasLine(text, "pgvigil_restarts_total{target=\"new-one\",result=\"failure\"} 0"));
}

BOOST_AUTO_TEST_CASE(round_values_follow_the_last_round) {
  auto text = renderPrometheus(richStatus());
  BOOST_TEST(hasLine(text, "pgvigil_up{target=\"main\"} 1"));
  BOOST_TEST(hasLine(text, "pgvigil_up{target=\"replica\"} 0"));
  BOOST_TEST(hasLine(text, "pgvigil_up{target=\"new-one\"} 0"));
  BOOST_TEST(hasLine(text, "pgvigil_check_success{target=\"main\",check=\"query\"} 1"));
  BOOST_TEST(hasLine(text, "pgvigil_check_success{target=\"replica\",check=\"query\"} 0"));
  BOOST_TEST(
      hasLine(text, "pgvigil_check_duration_seconds{target=\"main\",check=\"query\"} 0.0012"));
  BOOST_TEST(hasLine(text, "pgvigil_connections{target=\"main\",state=\"idle in transaction\"} 7"));
  BOOST_TEST(hasLine(text, "pgvigil_connections_used{target=\"main\"} 42"));
  BOOST_TEST(hasLine(text, "pgvigil_connections_usable{target=\"main\"} 97"));
  BOOST_TEST(hasLine(text, "pgvigil_consecutive_failures{target=\"replica\"} 4"));
  BOOST_TEST(hasLine(text, "pgvigil_last_success_timestamp_seconds{target=\"main\"} 1700000098"));
  BOOST_TEST(hasLine(text, "pgvigil_last_check_timestamp_seconds{target=\"replica\"} 1700000097"));
  BOOST_TEST(hasLine(text, "pgvigil_build_info{version=\"0.1.0\"} 1"));
  BOOST_TEST(hasLine(text, "pgvigil_start_time_seconds 1700000000"));
  // A target without a round has no per-round samples, and no connection figures.
  BOOST_TEST(linesStarting(text, "pgvigil_check_success{target=\"new-one\"").empty());
  BOOST_TEST(linesStarting(text, "pgvigil_connections_used{target=\"replica\"").empty());
  BOOST_TEST(
      linesStarting(text, "pgvigil_last_success_timestamp_seconds{target=\"new-one\"").empty());
}

BOOST_AUTO_TEST_CASE(holders_are_top_n_plus_other_whatever_the_number_of_groups) {
  auto s = manyHoldersStatus(40);  // 40 applications: the series stay kTopHolders + 1
  const auto& c = *s.targets[0].last_round->connections;
  auto text = renderPrometheus(s);
  auto series = linesStarting(text, "pgvigil_connection_holder_sessions{target=\"main\",");
  BOOST_TEST(series.size() == kTopHolders + 1);
  BOOST_TEST(hasLine(text,
                     "pgvigil_connection_holder_sessions{target=\"main\",rank=\"other\","
                     "application=\"\",user=\"\",client=\"\"} " +
                         std::to_string(c.holders.back().total)));
  BOOST_TEST(linesStarting(text, "pgvigil_connection_holder_sessions{target=\"main\",rank=\"1\",")
                 .size() == 1u);
  BOOST_TEST(linesStarting(text, "pgvigil_connection_holder_oldest_idle_seconds{target=\"main\",")
                 .size() == kTopHolders + 1);
}

BOOST_AUTO_TEST_CASE(last_known_figures_stay_with_their_age) {
  auto s = richStatus();
  auto& t = s.targets[0];
  ConnectionStats last = *t.last_round->connections;
  last.measured_at = s.now - 30s;
  t.last_connections = last;
  t.last_round->connections.reset();  // this round read none (a full server, no session)
  auto text = renderPrometheus(s);
  BOOST_TEST(hasLine(text, "pgvigil_connections_used{target=\"main\"} 42"));
  BOOST_TEST(hasLine(text, "pgvigil_connections_age_seconds{target=\"main\"} 30"));
}

BOOST_AUTO_TEST_CASE(every_metric_has_help_and_type_once) {
  auto text = renderPrometheus(richStatus());
  for (const auto& d : kMetricDefs) {
    std::string name(d.name);
    BOOST_TEST(linesStarting(text, "# HELP " + name + " ").size() == 1u, name);
    BOOST_TEST(linesStarting(text, "# TYPE " + name + " ").size() == 1u, name);
  }
}

BOOST_AUTO_TEST_CASE(label_values_are_escaped) {
  BOOST_TEST(escapeLabelValue("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  auto s = richStatus();
  s.targets[0].last_round->connections->by_state = {{"we\"ird\\state\n", 1}};
  auto text = renderPrometheus(s);
  BOOST_TEST(
      hasLine(text, "pgvigil_connections{target=\"main\",state=\"we\\\"ird\\\\state\\n\"} 1"));
}

BOOST_AUTO_TEST_CASE(certificate_expiry_is_seconds_left_now_and_only_with_tls) {
  AgentStatus status = richStatus();
  auto& round = *status.targets[0].last_round;
  round.server_cert_not_after = status.now + std::chrono::hours(24 * 10);
  auto text = renderPrometheus(status);
  BOOST_TEST(hasLine(text, "pgvigil_server_certificate_expiry_seconds{target=\"main\"} 864000"));
  // Rounds without TLS (replica) and targets without a round (new-one) have no sample.
  BOOST_TEST(linesStarting(text, "pgvigil_server_certificate_expiry_seconds{").size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
