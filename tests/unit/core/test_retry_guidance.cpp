// The reason class and retry time a 503 from /health carries (core/retry_guidance), on every
// state and cause the health model can produce.
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <string>

#include "core/retry_guidance.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

std::string classOf(TargetState s, Cause c, bool inGrace = false) {
  auto r = reasonClass(s, c, inGrace);
  return r ? std::string(toString(*r)) : std::string("<up>");
}

const WallTime kNow{std::chrono::seconds{1'800'000'000}};

}  // namespace

BOOST_AUTO_TEST_SUITE(retry_guidance)

BOOST_AUTO_TEST_CASE(names_are_the_nine_classes) {
  std::set<std::string> names;
  for (ReasonClass r : kAllReasonClasses) names.insert(std::string(toString(r)));
  BOOST_TEST((names == std::set<std::string>{"down", "hung", "starting", "recovering", "restarting",
                                             "saturated", "auth_or_config", "paused", "given_up"}));
}

// Every state x cause x grace: up states have no class, the overlay states win over the cause,
// unhealthy is decided by the cause.
BOOST_AUTO_TEST_CASE(every_state_and_cause) {
  const std::map<Cause, std::string> unhealthy{
      {Cause::kNone, "down"},
      {Cause::kRefused, "down"},
      {Cause::kTimeout, "hung"},
      {Cause::kReset, "down"},
      {Cause::kDns, "down"},
      {Cause::kTls, "auth_or_config"},
      {Cause::kStartingUp, "recovering"},
      {Cause::kShuttingDown, "down"},
      {Cause::kTooManyConnections, "saturated"},
      {Cause::kAuthFailed, "auth_or_config"},
      {Cause::kNoDatabase, "auth_or_config"},
      {Cause::kQueryError, "auth_or_config"},
      {Cause::kInternal, "down"},
      {Cause::kRestarterUnreachable, "down"},
  };
  // every round cause, none, and restarter_unreachable (an event's cause, outside kAllCauses)
  BOOST_REQUIRE(unhealthy.size() == std::size(kAllCauses) + 2);
  for (bool grace : {false, true}) {
    for (const auto& [cause, expected] : unhealthy) {
      BOOST_TEST_CONTEXT("cause " << toString(cause) << " grace " << grace) {
        BOOST_TEST(classOf(TargetState::kHealthy, cause, grace) == "<up>");
        BOOST_TEST(classOf(TargetState::kDegraded, cause, grace) == "<up>");
        BOOST_TEST(classOf(TargetState::kPaused, cause, grace) == "paused");
        BOOST_TEST(classOf(TargetState::kGivenUp, cause, grace) == "given_up");
        BOOST_TEST(classOf(TargetState::kRestarting, cause, grace) == "restarting");
        BOOST_TEST(classOf(TargetState::kUnknown, cause, grace) == "starting");
        const std::string want =
            cause == Cause::kStartingUp && grace ? std::string("starting") : expected;
        BOOST_TEST(classOf(TargetState::kUnhealthy, cause, grace) == want);
        // starting_up: pgvigil's own restart coming up, or recovery on its own; a server
        // shutting down shows as starting_up but is on its way down.
        const std::string startingUp = cause == Cause::kShuttingDown ? "down"
                                       : grace                       ? "starting"
                                                                     : "recovering";
        BOOST_TEST(classOf(TargetState::kStartingUp, cause, grace) == startingUp);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(retry_time_comes_from_the_matching_deadline) {
  TargetStatus t;
  t.paused_until = kNow + 300s;
  t.grace_until = kNow + 20s;
  t.next_change_at = kNow + 7s;

  t.state = TargetState::kHealthy;
  BOOST_TEST(!retryGuidance(t).has_value());

  t.state = TargetState::kPaused;
  auto g = retryGuidance(t);
  BOOST_REQUIRE(g.has_value());
  BOOST_TEST(toString(g->reason) == "paused");
  BOOST_TEST((g->retry_at == kNow + 300s));

  t.state = TargetState::kRestarting;
  g = retryGuidance(t);
  BOOST_TEST((g->retry_at == kNow + 20s));

  t.state = TargetState::kStartingUp;
  t.cause = Cause::kStartingUp;
  g = retryGuidance(t);
  BOOST_TEST(toString(g->reason) == "starting");
  BOOST_TEST((g->retry_at == kNow + 20s));

  t.grace_until.reset();
  g = retryGuidance(t);
  BOOST_TEST(toString(g->reason) == "recovering");
  BOOST_TEST((g->retry_at == kNow + 7s));  // recovery_grace's end

  t.state = TargetState::kUnhealthy;
  for (Cause c : {Cause::kRefused, Cause::kTimeout}) {
    t.cause = c;
    g = retryGuidance(t);
    BOOST_TEST((g->retry_at == kNow + 7s));  // backoff or hang_after end
  }
  for (Cause c : {Cause::kTooManyConnections, Cause::kAuthFailed}) {
    t.cause = c;
    BOOST_TEST(!retryGuidance(t)->retry_at.has_value());  // nothing pgvigil does changes it
  }
  t.state = TargetState::kGivenUp;
  BOOST_TEST(!retryGuidance(t)->retry_at.has_value());
  t.state = TargetState::kPaused;
  t.paused_until.reset();
  BOOST_TEST(!retryGuidance(t)->retry_at.has_value());  // paused until resumed
}

BOOST_AUTO_TEST_CASE(retry_after_is_whole_seconds_rounded_up_at_least_one) {
  BOOST_TEST(retryAfterSeconds(kNow + 5s, kNow) == 5);
  BOOST_TEST(retryAfterSeconds(kNow + 5001ms, kNow) == 6);
  BOOST_TEST(retryAfterSeconds(kNow + 1ms, kNow) == 1);
  BOOST_TEST(retryAfterSeconds(kNow, kNow) == 1);
  BOOST_TEST(retryAfterSeconds(kNow - 10s, kNow) == 1);
  BOOST_TEST(retryAfterSeconds(kNow + std::chrono::hours(24 * 365), kNow) == 31'536'000);
}

BOOST_AUTO_TEST_SUITE_END()
