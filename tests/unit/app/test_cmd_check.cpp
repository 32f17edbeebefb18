// `pgvigil check`'s verdicts and output, from hand-made RoundResults (no Postgres, no network).
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "app/cmd_check.h"
#include "core/clock.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

TargetConfig target(const std::string& name) {
  TargetConfig t;
  t.name = name;
  t.conninfo = "host=127.0.0.1 port=5432 dbname=postgres user=pgvigil password=canary-S3cret";
  return t;
}

CheckOutcome outcome(const std::string& check, bool ok, Micros latency, Cause cause = Cause::kNone,
                     Phase phase = Phase::kNone, const std::string& message = "") {
  CheckOutcome c;
  c.check = check;
  c.ok = ok;
  c.latency = latency;
  c.cause = cause;
  c.phase = phase;
  c.message = message;
  return c;
}

ConnectionStats stats(int used, int usable) {
  ConnectionStats s;
  s.used = used;
  s.usable = usable;
  s.max_connections = usable + 3;
  s.superuser_reserved = 3;
  s.by_state = {{"active", 1}, {"idle", used - 1}};
  return s;
}

RoundResult healthy(int used = 5, int usable = 97) {
  RoundResult r;
  r.verdict = Verdict::kOk;
  r.latency = 2345us;
  r.checks = {outcome("tcp", true, 210us), outcome("query", true, 1800us),
              outcome("connections", true, 300us)};
  r.connections = stats(used, usable);
  r.server_version = "15.8";
  return r;
}

RoundResult refused() {
  RoundResult r;
  r.verdict = Verdict::kFailed;
  r.cause = Cause::kRefused;
  r.phase = Phase::kConnect;
  r.latency = 300us;
  r.message = "connection refused on 127.0.0.1:5432";
  r.checks = {outcome("tcp", false, 300us, Cause::kRefused, Phase::kConnect,
                      "connection refused on 127.0.0.1:5432")};
  return r;
}

RoundResult atWarn() {
  RoundResult r = healthy(80, 97);
  r.verdict = Verdict::kDegraded;
  r.connections_warn = true;
  r.degraded_reason = "connections at 82% (warn 80%)";
  return r;
}

RoundResult atCritical() {
  RoundResult r = healthy(95, 97);
  r.verdict = Verdict::kDegraded;
  r.connections_warn = true;
  r.connections_critical = true;
  r.degraded_reason = "connections at 98% (critical 95%)";
  return r;
}

CheckReport report(std::vector<std::pair<std::string, RoundResult>> rounds) {
  CheckReport rep;
  rep.checked_at = WallTime{std::chrono::milliseconds{1'700'000'000'123}};
  for (auto& [name, round] : rounds) rep.targets.push_back({target(name), round});
  return rep;
}

std::string firstLine(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cmd_check)

BOOST_AUTO_TEST_CASE(exit_code_follows_the_nagios_convention) {
  BOOST_TEST(int(statusOf(healthy())) == 0);
  BOOST_TEST(int(statusOf(atWarn())) == 1);
  BOOST_TEST(int(statusOf(atCritical())) == 2);
  BOOST_TEST(int(statusOf(refused())) == 2);
  RoundResult internal = refused();
  internal.cause = Cause::kInternal;
  BOOST_TEST(int(statusOf(internal)) == 3);
  // A slow round is degraded without any connection flag.
  RoundResult slow = healthy();
  slow.verdict = Verdict::kDegraded;
  slow.degraded_reason = "slow: 2.1s";
  BOOST_TEST(int(statusOf(slow)) == 1);
}

BOOST_AUTO_TEST_CASE(every_failure_cause_is_critical_except_internal) {
  for (Cause c : kAllCauses) {
    RoundResult r = refused();
    r.cause = c;
    BOOST_TEST(int(statusOf(r)) == (c == Cause::kInternal ? 3 : 2), toString(c));
  }
}

BOOST_AUTO_TEST_CASE(worst_target_wins_with_critical_above_unknown_above_warning) {
  BOOST_TEST(int(statusOf(report({{"a", healthy()}, {"b", atWarn()}}))) == 1);
  BOOST_TEST(int(statusOf(report({{"a", atWarn()}, {"b", refused()}, {"c", healthy()}}))) == 2);
  RoundResult internal = refused();
  internal.cause = Cause::kInternal;
  BOOST_TEST(int(statusOf(report({{"a", atWarn()}, {"b", internal}}))) == 3);
  BOOST_TEST(int(statusOf(report({{"a", refused()}, {"b", internal}}))) == 2);
  BOOST_TEST(int(worse(NagiosStatus::kUnknown, NagiosStatus::kWarning)) == 3);
}

BOOST_AUTO_TEST_CASE(config_errors_and_empty_reports_are_unknown) {
  CheckReport rep;
  rep.errors = {"config: /x.yaml:3:5: unknown key 'intervall' (did you mean 'interval'?)",
                "/x.yaml:9:1: second"};
  BOOST_TEST(int(statusOf(rep)) == 3);
  std::string text = renderCheckText(rep);
  BOOST_TEST(firstLine(text) ==
             "PGVIGIL UNKNOWN - config: /x.yaml:3:5: unknown key 'intervall' (did you mean "
             "'interval'?) (+1 more)");
  BOOST_TEST(text.find("/x.yaml:9:1: second\n") != std::string::npos);
  BOOST_TEST(int(statusOf(CheckReport{})) == 3);
}

BOOST_AUTO_TEST_CASE(one_liner_for_a_refused_target) {
  std::string line = nagiosLine(report({{"main", refused()}}));
  BOOST_TEST(line ==
             "PGVIGIL CRITICAL - main: connection refused on 127.0.0.1:5432 | "
             "main_latency=0.000300s;;3.000000;0 main_tcp_time=0.000300s;;;0");
}

BOOST_AUTO_TEST_CASE(one_liner_for_a_healthy_target_has_connection_perfdata) {
  std::string line = nagiosLine(report({{"main", healthy()}}));
  BOOST_TEST(line ==
             "PGVIGIL OK - main: ok in 2.3ms, connections 5/97 (5%) | "
             "main_latency=0.002345s;;3.000000;0 main_tcp_time=0.000210s;;;0 "
             "main_query_time=0.001800s;;;0 main_connections_time=0.000300s;;;0 "
             "main_connections_used=5;;;0;97 main_connections_usage=5.15%;80;95;0;100");
}

BOOST_AUTO_TEST_CASE(one_liner_lists_problems_first_and_counts_the_rest) {
  std::string line = nagiosLine(report({{"a", healthy()}, {"b", atWarn()}, {"c", refused()}}));
  BOOST_TEST(line.rfind("PGVIGIL CRITICAL - c: connection refused on 127.0.0.1:5432; "
                        "b: connections at 82% (warn 80%) (1 more ok) | a_latency=",
                        0) == 0);
  // Every target's perfdata is present, in config order.
  BOOST_TEST(line.find("a_latency=") < line.find("b_latency="));
  BOOST_TEST(line.find("b_latency=") < line.find("c_latency="));
}

BOOST_AUTO_TEST_CASE(one_liner_without_a_degraded_reason_explains_the_threshold) {
  RoundResult r = atCritical();
  r.degraded_reason.clear();
  std::string line = nagiosLine(report({{"main", r}}));
  BOOST_TEST(line.rfind("PGVIGIL CRITICAL - main: connections at 98% of 97 usable (critical 95%) |",
                        0) == 0);
}

BOOST_AUTO_TEST_CASE(a_pipe_in_a_message_cannot_break_the_perfdata) {
  RoundResult r = refused();
  r.message = "query failed: a | b";
  std::string line = nagiosLine(report({{"main", r}}));
  BOOST_TEST(line.find(" | ") == line.rfind(" | "));
  BOOST_TEST(line.find("a / b") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(perfdata_labels_are_quoted_when_needed) {
  BOOST_TEST(perfdataItem("main_latency", "0.1", "s") == "main_latency=0.1s;;;");
  BOOST_TEST(perfdataItem("my db", "1", "", "2", "3", "0", "9") == "'my db'=1;2;3;0;9");
  BOOST_TEST(perfdataItem("it's", "1") == "'it''s'=1;;;");
}

BOOST_AUTO_TEST_CASE(target_line_shows_each_check_and_what_did_not_run) {
  TargetReport r{target("main"), refused()};
  BOOST_TEST(targetLine(r) ==
             "main: CRITICAL - connection refused on 127.0.0.1:5432 - tcp: FAIL refused (connect) "
             "0.3ms; query: not run; connections: not run");
  TargetReport detailed{target("main"), refused()};
  detailed.round.checks[0].message = "connect(127.0.0.1:5432): Connection refused";
  BOOST_TEST(targetLine(detailed).find("0.3ms connect(127.0.0.1:5432): Connection refused;") !=
             std::string::npos);
  TargetReport ok{target("main"), atWarn()};
  BOOST_TEST(targetLine(ok) ==
             "main: WARNING - connections at 82% (warn 80%) - tcp: OK 0.2ms; query: OK 1.8ms; "
             "connections: OK 0.3ms, 80/97 (82%) [active=1 idle=79] WARNING (>= 80%)");
}

BOOST_AUTO_TEST_CASE(disabled_checks_are_not_listed_as_not_run) {
  TargetConfig t = target("main");
  t.tcp_check = false;
  t.connections.enabled = false;
  RoundResult r = healthy();
  r.checks = {outcome("query", true, 1800us)};
  r.connections.reset();
  std::string line = targetLine({t, r});
  BOOST_TEST(line == "main: OK - ok in 2.3ms - query: OK 1.8ms");
}

BOOST_AUTO_TEST_CASE(json_carries_every_figure_and_no_password) {
  std::string json = renderCheckJson(report({{"main", atWarn()}, {"down", refused()}}));
  BOOST_TEST(json.find("canary-S3cret") == std::string::npos);
  BOOST_TEST(json.back() == '\n');
  BOOST_TEST(json.find('\n') == json.size() - 1);  // one line

  Poco::JSON::Parser parser;
  auto root = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
  BOOST_TEST(root->getValue<std::string>("status") == "CRITICAL");
  BOOST_TEST(root->getValue<int>("exit_code") == 2);
  BOOST_TEST(root->getValue<std::string>("checked_at") == "2023-11-14T22:13:20.123Z");
  auto targets = root->getArray("targets");
  BOOST_REQUIRE(targets->size() == 2);

  auto main = targets->getObject(0);
  BOOST_TEST(main->getValue<std::string>("name") == "main");
  BOOST_TEST(main->getValue<std::string>("status") == "WARNING");
  BOOST_TEST(main->getValue<int>("exit_code") == 1);
  BOOST_TEST(main->getValue<std::string>("verdict") == "degraded");
  BOOST_TEST(main->isNull("cause"));
  BOOST_TEST(main->getValue<double>("latency_seconds") == 0.002345);
  auto conns = main->getObject("connections");
  BOOST_TEST(conns->getValue<int>("used") == 80);
  BOOST_TEST(conns->getValue<int>("usable") == 97);
  BOOST_TEST(conns->getValue<int>("max_connections") == 100);
  BOOST_TEST(conns->getValue<int>("superuser_reserved") == 3);
  BOOST_TEST(conns->getObject("by_state")->getValue<int>("idle") == 79);
  BOOST_TEST(conns->getValue<double>("ratio") == 0.8247);
  BOOST_TEST(conns->getValue<bool>("at_warn") == true);
  BOOST_TEST(conns->getValue<bool>("at_critical") == false);
  auto checks = main->getArray("checks");
  BOOST_REQUIRE(checks->size() == 3);
  BOOST_TEST(checks->getObject(1)->getValue<std::string>("check") == "query");
  BOOST_TEST(checks->getObject(1)->getValue<std::string>("status") == "ok");
  BOOST_TEST(checks->getObject(1)->getValue<double>("latency_seconds") == 0.0018);

  auto down = targets->getObject(1);
  BOOST_TEST(down->getValue<std::string>("cause") == "refused");
  BOOST_TEST(down->getValue<std::string>("phase") == "connect");
  BOOST_TEST(down->isNull("connections"));
  auto downChecks = down->getArray("checks");
  BOOST_REQUIRE(downChecks->size() == 3);
  BOOST_TEST(downChecks->getObject(0)->getValue<std::string>("cause") == "refused");
  BOOST_TEST(downChecks->getObject(0)->getValue<std::string>("phase") == "connect");
  BOOST_TEST(downChecks->getObject(2)->getValue<std::string>("status") == "skipped");
  BOOST_TEST(down->getValue<std::string>("conninfo").find("password=") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(text_output_never_shows_the_password) {
  RoundResult r = refused();
  std::ostringstream out;
  int code = printCheck(report({{"main", r}}), OutputFormat::kText, out);
  BOOST_TEST(code == 2);
  BOOST_TEST(out.str().find("canary-S3cret") == std::string::npos);
  BOOST_TEST(out.str().find("\nmain: CRITICAL") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(collect_runs_every_target_concurrently_in_config_order) {
  Config config;
  config.targets = {target("a"), target("b"), target("c")};
  // Each round waits until all three are in flight: only concurrent rounds can all get there.
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0;
  int maxInFlight = 0;
  FakeClock clock;
  RoundRunner runner = [&](const TargetConfig& t, const Clock&) {
    std::unique_lock lock(m);
    maxInFlight = std::max(maxInFlight, ++arrived);
    cv.notify_all();
    cv.wait_for(lock, 10s, [&] { return arrived == 3; });
    return t.name == "b" ? atWarn() : healthy();
  };
  CheckReport rep = collectCheck(config, "", runner, clock);
  BOOST_REQUIRE(rep.targets.size() == 3);
  BOOST_TEST(rep.targets[0].target.name == "a");
  BOOST_TEST(rep.targets[1].target.name == "b");
  BOOST_TEST(rep.targets[2].target.name == "c");
  BOOST_TEST(maxInFlight == 3);
  BOOST_TEST(int(statusOf(rep)) == 1);
  BOOST_TEST((rep.checked_at == clock.wallNow()));
}

BOOST_AUTO_TEST_CASE(collect_one_target_and_an_unknown_one) {
  Config config;
  config.path = "/etc/pgvigil/pgvigil.yaml";
  config.targets = {target("a"), target("b")};
  std::vector<std::string> ran;
  RoundRunner runner = [&](const TargetConfig& t, const Clock&) {
    ran.push_back(t.name);
    return healthy();
  };
  FakeClock clock;
  CheckReport one = collectCheck(config, "b", runner, clock);
  BOOST_REQUIRE(one.targets.size() == 1);
  BOOST_TEST(one.targets[0].target.name == "b");
  BOOST_TEST(ran == std::vector<std::string>{"b"});

  CheckReport unknown = collectCheck(config, "nope", runner, clock);
  BOOST_TEST(unknown.targets.empty());
  BOOST_TEST(int(statusOf(unknown)) == 3);
  BOOST_TEST(
      firstLine(renderCheckText(unknown)) ==
      "PGVIGIL UNKNOWN - no target named 'nope' in /etc/pgvigil/pgvigil.yaml (targets: a, b)");
  BOOST_TEST(ran.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_throwing_round_is_an_internal_error_and_unknown) {
  Config config;
  config.targets = {target("a")};
  RoundRunner runner = [](const TargetConfig&, const Clock&) -> RoundResult {
    throw std::runtime_error("boom");
  };
  FakeClock clock;
  CheckReport rep = collectCheck(config, "", runner, clock);
  BOOST_REQUIRE(rep.targets.size() == 1);
  BOOST_TEST(toString(rep.targets[0].round.cause) == "internal");
  BOOST_TEST(int(statusOf(rep)) == 3);
  BOOST_TEST(nagiosLine(rep).rfind("PGVIGIL UNKNOWN - a: internal error: boom |", 0) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
