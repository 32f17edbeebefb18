// The queries shipped next to the agent (packaging/grafana/pgvigil-dashboard.json and
// packaging/prometheus/pgvigil-rules.yml) name only metrics the agent really exports
// (kMetricDefs, the one table /metrics is rendered from), and the dashboard covers what an
// operator looks at first: health, restarts, probe latency, connections.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "http/metrics.h"

using namespace pgvigil;

namespace {

std::string readSource(const std::string& relative) {
  std::ifstream in(std::string(PGVIGIL_SOURCE_DIR) + "/" + relative);
  BOOST_REQUIRE_MESSAGE(in, relative + " not found");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> exportedNames() {
  std::set<std::string> names;
  for (const auto& def : kMetricDefs) names.emplace(def.name);
  return names;
}

/// Every pgvigil_* identifier in text.
std::set<std::string> namesIn(const std::string& text) {
  static const std::regex kName("pgvigil_[a-z_]+");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kName);
       it != std::sregex_iterator(); ++it)
    names.insert(it->str());
  return names;
}

/// The "expr" strings of the dashboard's panel targets.
std::vector<std::string> dashboardExprs(const std::string& json) {
  static const std::regex kExpr(R"re("expr"\s*:\s*"((?:[^"\\]|\\.)*)")re");
  std::vector<std::string> exprs;
  for (auto it = std::sregex_iterator(json.begin(), json.end(), kExpr);
       it != std::sregex_iterator(); ++it)
    exprs.push_back((*it)[1].str());
  return exprs;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shipped_queries)

BOOST_AUTO_TEST_CASE(dashboard_queries_name_only_exported_metrics) {
  const std::string json = readSource("packaging/grafana/pgvigil-dashboard.json");
  const auto exprs = dashboardExprs(json);
  BOOST_REQUIRE_GE(exprs.size(), 10u);
  const auto exported = exportedNames();
  for (const auto& expr : exprs) {
    const auto names = namesIn(expr);
    BOOST_CHECK_MESSAGE(!names.empty(), "a panel query names no pgvigil metric: " << expr);
    for (const auto& name : names)
      BOOST_CHECK_MESSAGE(exported.count(name),
                          "the dashboard queries " << name << ", which the agent does not export");
  }
  // Also the template variables and anything else in the file.
  for (const auto& name : namesIn(json))
    BOOST_CHECK_MESSAGE(exported.count(name), "the dashboard names " << name << ", not exported");
}

BOOST_AUTO_TEST_CASE(dashboard_covers_health_restarts_latency_and_connections) {
  std::set<std::string> queried;
  for (const auto& expr : dashboardExprs(readSource("packaging/grafana/pgvigil-dashboard.json")))
    for (const auto& name : namesIn(expr)) queried.insert(name);
  for (const char* needed :
       {"pgvigil_target_state", "pgvigil_up", "pgvigil_restarts_total",
        "pgvigil_check_duration_seconds", "pgvigil_connections_used", "pgvigil_connections_usable",
        "pgvigil_connections_usage_ratio", "pgvigil_connections"})
    BOOST_CHECK_MESSAGE(queried.count(needed), "no dashboard panel shows " << needed);
}

BOOST_AUTO_TEST_CASE(alert_rules_name_only_exported_metrics) {
  const std::string rules = readSource("packaging/prometheus/pgvigil-rules.yml");
  const auto names = namesIn(rules);
  BOOST_REQUIRE_GE(names.size(), 3u);
  const auto exported = exportedNames();
  for (const auto& name : names)
    BOOST_CHECK_MESSAGE(exported.count(name), "a rule uses " << name << ", not exported");
}

BOOST_AUTO_TEST_CASE(the_name_check_catches_a_wrong_name) {
  // The check above can fail: a misspelt metric is not in the table.
  BOOST_CHECK(!exportedNames().count("pgvigil_connection_used"));
  BOOST_CHECK_EQUAL(namesIn("rate(pgvigil_restarts_total[5m]) + pgvigil_upp").size(), 2u);
}

BOOST_AUTO_TEST_SUITE_END()
