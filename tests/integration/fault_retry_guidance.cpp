// Retry guidance for clients (issue 10): every 503 from /health and /health/{target} names its
// reason class, in the body and in X-Pgvigil-Reason, and carries Retry-After exactly when
// pgvigil knows when things should change, consistent with the times /status shows. The real
// agent binary against a real PostgreSQL 15, one case per reason that can be produced for real.
#define BOOST_TEST_MODULE fault_retry_guidance
#include <boost/test/unit_test.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "core/wall_time.h"
#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::string yamlList(const std::vector<std::string>& argv) {
  std::string out = "[";
  for (std::size_t i = 0; i < argv.size(); ++i) out += (i ? ", \"" : "\"") + argv[i] + "\"";
  return out + "]";
}

/// A fast target "main" on `conninfo`; `restart` is the whole restart block's body.
std::string target(const std::string& conninfo, const std::string& restart) {
  return "  - name: main\n    conninfo: \"" + conninfo +
         "\"\n    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 2\n    healthy_after: "
         "1\n    restart:\n" +
         restart;
}

std::string commandRestart(const std::vector<std::string>& argv, const std::string& extra = "") {
  return "      method: command\n      command: " + yamlList(argv) +
         "\n      timeout: 30s\n      grace: 20s\n" + extra;
}

/// What one GET /health/main and /health said, with /status's target object taken right after.
struct Observed {
  int code = 0;
  std::string reason;             ///< body "reason"
  std::string header;             ///< X-Pgvigil-Reason
  std::string retryAfter;         ///< Retry-After ("" when absent)
  std::optional<WallTime> retry;  ///< body "retry_at"
  int aggregateCode = 0;
  std::string aggregateReason;
  std::string aggregateRetryAfter;
  Poco::JSON::Object::Ptr status;  ///< /status targets[0]
  std::string raw;
};

std::optional<WallTime> timeField(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  if (!o->has(key) || o->isNull(key)) return std::nullopt;
  return parseWallTime(o->getValue<std::string>(key));
}

Observed observe(AgentUnderTest& agent) {
  Observed o;
  auto one = agent.http->get("/health/main");
  o.code = one.status;
  o.raw = one.body;
  auto body = parse(one.body);
  o.reason = body->isNull("reason") ? "" : body->getValue<std::string>("reason");
  o.retry = timeField(body, "retry_at");
  o.header = one.header("X-Pgvigil-Reason");
  o.retryAfter = one.header("Retry-After");
  auto all = agent.http->get("/health");
  o.aggregateCode = all.status;
  auto allBody = parse(all.body);
  o.aggregateReason = allBody->isNull("reason") ? "" : allBody->getValue<std::string>("reason");
  o.aggregateRetryAfter = all.header("Retry-After");
  o.status = parse(agent.http->get("/status").body)->getArray("targets")->getObject(0);
  return o;
}

/// Polls until /health/main names `reason` (and, when `withRetry`, a Retry-After); the last
/// observation either way.
Observed waitReason(AgentUnderTest& agent, const std::string& reason, bool withRetry,
                    std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  Observed o;
  for (;;) {
    o = observe(agent);
    if (o.reason == reason && (!withRetry || !o.retryAfter.empty())) return o;
    if (std::chrono::steady_clock::now() >= end) return o;
    std::this_thread::sleep_for(100ms);
  }
}

/// The same instant as two snapshots convert it from the steady clock to the wall clock: they
/// may differ by the microseconds between reading the two clocks, which can move a truncated
/// millisecond by one.
bool sameInstant(std::optional<WallTime> a, std::optional<WallTime> b) {
  if (!a || !b) return !a && !b;
  const auto d = *a > *b ? *a - *b : *b - *a;
  return d <= std::chrono::milliseconds(2);
}

/// The common contract of a 503 with a reason; `expectedAt` is the /status time Retry-After
/// must follow (nullopt: no Retry-After at all).
void check503(const Observed& o, const std::string& reason, std::optional<WallTime> expectedAt) {
  BOOST_TEST_CONTEXT(o.raw) {
    BOOST_TEST(o.code == 503);
    BOOST_TEST(o.reason == reason);
    BOOST_TEST(o.header == reason);
    BOOST_TEST(o.aggregateCode == 503);
    BOOST_TEST(o.aggregateReason == reason);
    if (!expectedAt) {
      BOOST_TEST(o.retryAfter.empty());
      BOOST_TEST(!o.retry.has_value());
      BOOST_TEST(o.aggregateRetryAfter.empty());
      return;
    }
    BOOST_REQUIRE(o.retry.has_value());
    BOOST_TEST(sameInstant(o.retry, expectedAt),
               formatWallTime(*o.retry) << " vs /status " << formatWallTime(*expectedAt));
    BOOST_REQUIRE(!o.retryAfter.empty());
    const long long seconds = std::stoll(o.retryAfter);
    const double left =
        std::chrono::duration<double>(*expectedAt - std::chrono::system_clock::now()).count();
    std::cout << reason << ": Retry-After " << seconds << " s, " << left
              << " s left to the /status time" << std::endl;
    BOOST_TEST(seconds >= 1);
    // Rounded up from the snapshot's time, which is at most a moment older than ours.
    BOOST_TEST(seconds >= std::floor(left));
    BOOST_TEST(seconds <= std::ceil(left) + 2);
    BOOST_TEST(o.aggregateRetryAfter == o.retryAfter);  // one target: the same answer
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(retry_guidance)

// Alerts only (method none): a stopped server is "down", and nothing pgvigil will do says when
// it comes back: no Retry-After.
BOOST_AUTO_TEST_CASE(down_without_a_restart_method_has_no_retry_time) {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(dir, target(pg.conninfo(), "      method: none\n"));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  auto up = observe(agent);
  BOOST_TEST(up.code == 200);
  BOOST_TEST(up.reason == "");
  BOOST_TEST(up.header == "");
  pg.stopFast();
  auto o = waitReason(agent, "down", false, 15s);
  check503(o, "down", std::nullopt);
}

// A restart that fails: "down" until the next attempt, and Retry-After points at it: the
// instant restart_failed announced and /status shows as the restart's next_allowed.
BOOST_AUTO_TEST_CASE(down_after_a_failed_restart_retries_at_the_next_attempt) {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(
      dir,
      target(pg.conninfo(), commandRestart({"/bin/false"},
                                           "      backoff: { initial: 20s, max: 1m, jitter: 0% }\n"
                                           "      budget: { max: 5, window: 1h }\n")));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  pg.kill9();
  auto failed = waitEvent(*agent.process, "restart_failed", 20s);
  BOOST_REQUIRE_MESSAGE(failed, agent.process->output());
  auto o = waitReason(agent, "down", true, 10s);
  auto restart = o.status->getObject("restart");
  const auto next = timeField(restart, "next_allowed");
  BOOST_REQUIRE(next.has_value());
  const auto pos = failed->find("next_restart_at=");
  BOOST_REQUIRE_MESSAGE(pos != std::string::npos, *failed);
  const auto announced = parseWallTime(failed->substr(pos + 16, 24));
  BOOST_TEST(sameInstant(announced, next), *failed);
  BOOST_TEST(sameInstant(timeField(o.status, "next_change_at"), next));
  check503(o, "down", next);
}

// The restart is made and "succeeds", but the server is not back yet: "restarting" until the
// grace ends, Retry-After at the grace's end (/status grace_until).
BOOST_AUTO_TEST_CASE(restarting_retries_at_the_end_of_the_grace) {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(dir, target(pg.conninfo(), commandRestart({"/bin/true"})));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  pg.kill9();
  BOOST_REQUIRE_MESSAGE(waitEvent(*agent.process, "restart_succeeded", 20s),
                        agent.process->output());
  auto o = waitReason(agent, "restarting", true, 10s);
  const auto grace = timeField(o.status, "grace_until");
  BOOST_REQUIRE(grace.has_value());
  check503(o, "restarting", grace);
}

// Paused for a minute: "paused" with Retry-After at the pause's end (/status paused_until).
BOOST_AUTO_TEST_CASE(paused_retries_when_the_pause_ends) {
  PgCluster pg;
  TempDir dir;
  const std::string token = dir.write("token", "retry-token-1\n");
  auto agent = startAgent(dir, target(pg.conninfo(), commandRestart({"/bin/true"})),
                          "  token_file: " + token + "\n");
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  const std::vector<std::pair<std::string, std::string>> auth{
      {"Authorization", "Bearer retry-token-1"}};
  BOOST_REQUIRE(agent.http->request("POST", "/targets/main/pause?for=1m", auth).status == 200);
  auto end = std::chrono::steady_clock::now() + 10s;
  Observed o;
  do {
    o.code = 0;
    auto one = agent.http->get("/health/main");
    if (one.status == 503) {
      o.raw = one.body;
      auto body = parse(one.body);
      o.code = one.status;
      o.reason = body->getValue<std::string>("reason");
      o.retry = timeField(body, "retry_at");
      o.header = one.header("X-Pgvigil-Reason");
      o.retryAfter = one.header("Retry-After");
      auto all = agent.http->get("/health");
      o.aggregateCode = all.status;
      o.aggregateReason = parse(all.body)->getValue<std::string>("reason");
      o.aggregateRetryAfter = all.header("Retry-After");
      auto status = agent.http->request("GET", "/status", auth);
      o.status = parse(status.body)->getArray("targets")->getObject(0);
      break;
    }
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < end);
  BOOST_REQUIRE(o.code == 503);
  const auto until = timeField(o.status, "paused_until");
  BOOST_REQUIRE(until.has_value());
  check503(o, "paused", until);
}

// The budget spent by one failed restart: "given_up", and no Retry-After (only an operator or
// the server itself changes that).
BOOST_AUTO_TEST_CASE(given_up_has_no_retry_time) {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(
      dir, target(pg.conninfo(),
                  commandRestart({"/bin/false"}, "      budget: { max: 1, window: 1h }\n")));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  pg.kill9();
  auto failed = waitEvent(*agent.process, "restart_failed", 20s);
  BOOST_REQUIRE_MESSAGE(failed, agent.process->output());
  BOOST_TEST(failed->find("no further attempt") != std::string::npos, *failed);
  BOOST_TEST(failed->find("next_restart_at") == std::string::npos, *failed);
  BOOST_REQUIRE(waitEvent(*agent.process, "restart_given_up", 5s));
  auto o = waitReason(agent, "given_up", false, 10s);
  BOOST_TEST(o.status->getObject("restart")->isNull("next_allowed"));
  check503(o, "given_up", std::nullopt);
}

// A wrong password: "auth_or_config", never a retry time (a restart cannot cure it).
BOOST_AUTO_TEST_CASE(wrong_password_is_auth_or_config) {
  PgClusterOptions options;
  options.password = "right-pw-retry";
  PgCluster pg(options);
  TempDir dir;
  auto agent = startAgent(dir, target("host=127.0.0.1 port=" + std::to_string(pg.port()) +
                                          " dbname=postgres user=pgvigil password=wrong-pw-retry",
                                      commandRestart({"/bin/true"})));
  agent.waitUp();
  auto o = waitReason(agent, "auth_or_config", false, 15s);
  check503(o, "auth_or_config", std::nullopt);
  BOOST_TEST(o.raw.find("wrong-pw-retry") == std::string::npos);
}

// A stopped postmaster: "hung" until hang_after, Retry-After at hang_after's end (/status
// next_change_at, the moment the engine restarts it).
BOOST_AUTO_TEST_CASE(hung_retries_when_hang_after_ends) {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(
      dir, target(pg.conninfo(), commandRestart({"/bin/true"}, "      hang_after: 1m\n")));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  pg.sigstop();
  auto o = waitReason(agent, "hung", true, 15s);
  pg.sigcont();
  const auto next = timeField(o.status, "next_change_at");
  BOOST_REQUIRE(next.has_value());
  check503(o, "hung", next);
  auto deferred = waitEvent(*agent.process, "restart_deferred", 1s);
  BOOST_REQUIRE_MESSAGE(deferred, agent.process->output());
  const auto pos = deferred->find("restart_possible_at=");
  BOOST_REQUIRE_MESSAGE(pos != std::string::npos, *deferred);
  BOOST_TEST(sameInstant(parseWallTime(deferred->substr(pos + 20, 24)), next), *deferred);
}

// A standby that never accepts connections, not restarted by pgvigil: "recovering", with
// Retry-After at recovery_grace's end (/status next_change_at).
BOOST_AUTO_TEST_CASE(recovering_retries_when_recovery_grace_ends) {
  PgClusterOptions options;
  options.standby_no_hot = true;
  PgCluster pg(options);
  TempDir dir;
  auto agent = startAgent(
      dir, target(pg.conninfo(), commandRestart({"/bin/true"}, "      recovery_grace: 10m\n")));
  agent.waitUp();
  auto o = waitReason(agent, "recovering", true, 15s);
  const auto next = timeField(o.status, "next_change_at");
  BOOST_REQUIRE(next.has_value());
  check503(o, "recovering", next);
}

BOOST_AUTO_TEST_SUITE_END()
