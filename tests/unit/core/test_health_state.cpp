// HealthState: rise/fall hysteresis, degraded, starting_up, timeout runs.
#include <boost/test/unit_test.hpp>

#include "core/health_state.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

RoundResult good() {
  RoundResult r;
  r.verdict = Verdict::kOk;
  return r;
}
RoundResult degraded() {
  RoundResult r;
  r.verdict = Verdict::kDegraded;
  r.degraded_reason = "connections at 83% (warn 80%)";
  return r;
}
RoundResult failed(Cause c) {
  RoundResult r;
  r.verdict = Verdict::kFailed;
  r.cause = c;
  return r;
}

/// Feeds rounds 5 s apart.
struct Feeder {
  HealthState h{2, 3};  // healthy_after 2, unhealthy_after 3
  SteadyTime now{1h};
  HealthTransition feed(const RoundResult& r) {
    now += 5s;
    RoundResult copy = r;
    if (copy.started == SteadyTime{}) copy.started = now - 1s;
    return h.onRound(copy, now);
  }
  void feedN(const RoundResult& r, int n) {
    for (int i = 0; i < n; ++i) feed(r);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(health_state)

BOOST_AUTO_TEST_CASE(test_UnknownBeforeTheFirstRound) {
  HealthState h(2, 3);
  BOOST_TEST(toString(h.state()) == "unknown");
  BOOST_TEST(!h.since().has_value());
  BOOST_TEST(h.consecutiveFailures() == 0);
  BOOST_TEST(toString(h.cause()) == "");
}

BOOST_AUTO_TEST_CASE(test_FirstGoodRoundIsHealthyAtOnce) {
  Feeder f;
  auto t = f.feed(good());
  BOOST_TEST(toString(t.kind) == "changed");
  BOOST_TEST(toString(t.previous) == "unknown");
  BOOST_TEST(toString(t.current) == "healthy");
  BOOST_TEST((f.h.since() == f.now));
  BOOST_TEST(toString(f.feed(good()).kind) == "unchanged");
}

BOOST_AUTO_TEST_CASE(test_FirstDegradedRoundIsDegradedAtOnce) {
  Feeder f;
  auto t = f.feed(degraded());
  BOOST_TEST(toString(t.current) == "degraded");
}

BOOST_AUTO_TEST_CASE(test_FromUnknownFailuresNeedUnhealthyAfter) {
  Feeder f;
  auto t = f.feed(failed(Cause::kRefused));
  BOOST_TEST(toString(t.kind) == "pending");
  BOOST_TEST(toString(f.h.state()) == "unknown");
  BOOST_TEST(toString(f.feed(failed(Cause::kRefused)).kind) == "pending");
  t = f.feed(failed(Cause::kRefused));
  BOOST_TEST(toString(t.kind) == "changed");
  BOOST_TEST(toString(t.previous) == "unknown");
  BOOST_TEST(toString(t.current) == "unhealthy");
  BOOST_TEST(toString(f.h.cause()) == "refused");
  // Seen failing from the start: now recovery needs healthy_after rounds.
  BOOST_TEST(toString(f.feed(good()).kind) == "pending");
  BOOST_TEST(toString(f.feed(good()).current) == "healthy");
}

BOOST_AUTO_TEST_CASE(test_UnknownThenGoodAfterSomeFailuresIsHealthyAtOnce) {
  Feeder f;
  f.feedN(failed(Cause::kRefused), 2);
  auto t = f.feed(good());
  BOOST_TEST(toString(t.kind) == "changed");
  BOOST_TEST(toString(t.current) == "healthy");
}

BOOST_AUTO_TEST_CASE(test_FallHysteresis) {
  Feeder f;
  f.feed(good());
  BOOST_TEST(toString(f.feed(failed(Cause::kRefused)).kind) == "pending");
  BOOST_TEST(f.h.consecutiveFailures() == 1);
  BOOST_TEST(toString(f.feed(failed(Cause::kReset)).kind) == "pending");
  BOOST_TEST(toString(f.h.state()) == "healthy");
  auto t = f.feed(failed(Cause::kRefused));
  BOOST_TEST(toString(t.kind) == "changed");
  BOOST_TEST(toString(t.previous) == "healthy");
  BOOST_TEST(toString(t.current) == "unhealthy");
  BOOST_TEST(f.h.consecutiveFailures() == 3);
  BOOST_TEST(toString(f.h.cause()) == "refused");
  BOOST_TEST((f.h.since() == f.now));
  // More failures: unchanged, the count goes on, the cause follows the latest round.
  t = f.feed(failed(Cause::kReset));
  BOOST_TEST(toString(t.kind) == "unchanged");
  BOOST_TEST(f.h.consecutiveFailures() == 4);
  BOOST_TEST(toString(f.h.cause()) == "reset");
}

BOOST_AUTO_TEST_CASE(test_AGoodRoundResetsTheFailureCount) {
  Feeder f;
  f.feed(good());
  f.feedN(failed(Cause::kRefused), 2);
  BOOST_TEST(toString(f.feed(good()).kind) == "unchanged");
  BOOST_TEST(f.h.consecutiveFailures() == 0);
  f.feedN(failed(Cause::kRefused), 2);
  BOOST_TEST(toString(f.h.state()) == "healthy");
  BOOST_TEST(toString(f.feed(failed(Cause::kRefused)).current) == "unhealthy");
}

BOOST_AUTO_TEST_CASE(test_RiseHysteresis) {
  Feeder f;
  f.feed(good());
  f.feedN(failed(Cause::kRefused), 3);
  auto t = f.feed(good());
  BOOST_TEST(toString(t.kind) == "pending");
  BOOST_TEST(toString(f.h.state()) == "unhealthy");
  BOOST_TEST(toString(f.h.cause()) == "refused");  // kept until it is up
  BOOST_TEST(f.h.consecutiveSuccesses() == 1);
  t = f.feed(good());
  BOOST_TEST(toString(t.kind) == "changed");
  BOOST_TEST(toString(t.previous) == "unhealthy");
  BOOST_TEST(toString(t.current) == "healthy");
  BOOST_TEST(toString(f.h.cause()) == "");
}

BOOST_AUTO_TEST_CASE(test_RiseInterruptedByAFailure) {
  Feeder f;
  f.feed(good());
  f.feedN(failed(Cause::kRefused), 3);
  f.feed(good());
  BOOST_TEST(toString(f.feed(failed(Cause::kRefused)).kind) == "unchanged");
  BOOST_TEST(toString(f.feed(good()).kind) == "pending");
  BOOST_TEST(toString(f.feed(good()).kind) == "changed");
}

BOOST_AUTO_TEST_CASE(test_FlappingNeverChangesState) {
  Feeder f;
  f.feed(good());
  int changes = 0;
  for (int i = 0; i < 50; ++i) {
    changes += f.feed(failed(Cause::kRefused)).changed();
    changes += f.feed(good()).changed();
  }
  BOOST_TEST(changes == 0);
  BOOST_TEST(toString(f.h.state()) == "healthy");
  // and the other way round: an unhealthy target flapping stays unhealthy
  f.feedN(failed(Cause::kRefused), 3);
  for (int i = 0; i < 50; ++i) {
    changes += f.feed(good()).changed();
    changes += f.feed(failed(Cause::kTimeout)).changed();
  }
  BOOST_TEST(changes == 0);
  BOOST_TEST(toString(f.h.state()) == "unhealthy");
}

BOOST_AUTO_TEST_CASE(test_DegradedFollowsEachGoodRound) {
  Feeder f;
  f.feed(good());
  auto t = f.feed(degraded());
  BOOST_TEST(toString(t.kind) == "changed");
  BOOST_TEST(toString(t.current) == "degraded");
  BOOST_TEST(toString(f.feed(degraded()).kind) == "unchanged");
  t = f.feed(good());
  BOOST_TEST(toString(t.current) == "healthy");
  // degraded -> unhealthy uses the fall threshold like healthy does
  f.feed(degraded());
  f.feedN(failed(Cause::kRefused), 2);
  BOOST_TEST(toString(f.h.state()) == "degraded");
  t = f.feed(failed(Cause::kRefused));
  BOOST_TEST(toString(t.previous) == "degraded");
  BOOST_TEST(toString(t.current) == "unhealthy");
  // and a recovery lands on whatever the last round says
  f.feed(good());
  t = f.feed(degraded());
  BOOST_TEST(toString(t.current) == "degraded");
}

BOOST_AUTO_TEST_CASE(test_StartingUpIsEnteredAtOnce) {
  Feeder f;
  f.feed(good());
  auto t = f.feed(failed(Cause::kShuttingDown));
  BOOST_TEST(toString(t.kind) == "changed");
  BOOST_TEST(toString(t.current) == "starting_up");
  BOOST_TEST(toString(f.h.cause()) == "shutting_down");
  const SteadyTime began = f.now - 1s;  // the round's start
  BOOST_TEST((f.h.startingUpSince() == began));
  // shutting down, then starting up: one run, the start is kept
  BOOST_TEST(toString(f.feed(failed(Cause::kStartingUp)).kind) == "unchanged");
  f.feedN(failed(Cause::kStartingUp), 10);
  BOOST_TEST((f.h.startingUpSince() == began));
  BOOST_TEST(f.h.consecutiveFailures() == 12);
  BOOST_TEST(toString(f.h.state()) == "starting_up");
  // back up: healthy_after good rounds
  BOOST_TEST(toString(f.feed(good()).kind) == "pending");
  BOOST_TEST(!f.h.startingUpSince().has_value());
  BOOST_TEST(toString(f.feed(good()).current) == "healthy");
}

BOOST_AUTO_TEST_CASE(test_StartingUpFromUnknownThenUpIsAtOnce) {
  Feeder f;
  BOOST_TEST(toString(f.feed(failed(Cause::kStartingUp)).current) == "starting_up");
  BOOST_TEST(toString(f.feed(good()).current) == "healthy");
}

BOOST_AUTO_TEST_CASE(test_StartingUpThenDown) {
  Feeder f;
  f.feed(good());
  f.feed(failed(Cause::kStartingUp));
  // It crashed during recovery: refused. The failure count includes the starting_up round.
  BOOST_TEST(toString(f.feed(failed(Cause::kRefused)).kind) == "pending");
  BOOST_TEST(!f.h.startingUpSince().has_value());
  auto t = f.feed(failed(Cause::kRefused));
  BOOST_TEST(toString(t.kind) == "changed");
  BOOST_TEST(toString(t.previous) == "starting_up");
  BOOST_TEST(toString(t.current) == "unhealthy");
  // and unhealthy -> starting_up at once again
  BOOST_TEST(toString(f.feed(failed(Cause::kStartingUp)).current) == "starting_up");
}

BOOST_AUTO_TEST_CASE(test_TimeoutRunStartsAtTheFirstTimeout) {
  Feeder f;
  f.feed(good());
  BOOST_TEST(!f.h.timeoutSince().has_value());
  f.feed(failed(Cause::kTimeout));
  const SteadyTime first = f.now - 1s;
  BOOST_TEST((f.h.timeoutSince() == first));
  f.feedN(failed(Cause::kTimeout), 5);
  BOOST_TEST((f.h.timeoutSince() == first));
  // another cause breaks the run
  f.feed(failed(Cause::kRefused));
  BOOST_TEST(!f.h.timeoutSince().has_value());
  f.feed(failed(Cause::kTimeout));
  BOOST_TEST((f.h.timeoutSince() == f.now - 1s));
  // and a good round breaks it too
  f.feed(good());
  BOOST_TEST(!f.h.timeoutSince().has_value());
}

BOOST_AUTO_TEST_CASE(test_TimeoutRunWithoutRoundStartUsesNow) {
  HealthState h(2, 3);
  SteadyTime now{2h};
  h.onRound(failed(Cause::kTimeout), now);
  BOOST_TEST((h.timeoutSince() == now));
}

BOOST_AUTO_TEST_CASE(test_FailedRoundWithoutCauseIsInternal) {
  Feeder f;
  f.feed(failed(Cause::kNone));
  BOOST_TEST(toString(f.h.cause()) == "internal");
}

BOOST_AUTO_TEST_CASE(test_RestartDoneBelievesTheNextGoodRound) {
  Feeder f;
  f.feed(good());
  f.feedN(failed(Cause::kRefused), 4);
  f.h.restartDone();
  BOOST_TEST(f.h.consecutiveFailures() == 0);
  BOOST_TEST(toString(f.h.state()) == "unhealthy");
  f.feedN(failed(Cause::kRefused), 5);  // still down during the grace
  auto t = f.feed(good());
  BOOST_TEST(toString(t.kind) == "changed");
  BOOST_TEST(toString(t.current) == "healthy");
}

BOOST_AUTO_TEST_CASE(test_ForceUnhealthyAndResetFailures) {
  Feeder f;
  f.feed(good());
  f.h.restartDone();
  f.feedN(failed(Cause::kRefused), 2);
  auto t = f.h.forceUnhealthy(f.now);
  BOOST_TEST(toString(t.kind) == "changed");
  BOOST_TEST(toString(t.current) == "unhealthy");
  BOOST_TEST(f.h.consecutiveFailures() == 0);
  // believed at once no longer: healthy_after rounds again
  BOOST_TEST(toString(f.feed(good()).kind) == "pending");
  BOOST_TEST(toString(f.feed(good()).current) == "healthy");
  // a server that answers "starting up" stays starting_up
  f.feed(failed(Cause::kStartingUp));
  BOOST_TEST(toString(f.h.forceUnhealthy(f.now).kind) == "unchanged");
  BOOST_TEST(toString(f.h.state()) == "starting_up");
  BOOST_TEST(f.h.startingUpSince().has_value());
}

BOOST_AUTO_TEST_CASE(test_ThresholdsOfOne) {
  HealthState h(1, 1);
  SteadyTime now{1h};
  h.onRound(good(), now);
  BOOST_TEST(toString(h.onRound(failed(Cause::kRefused), now).current) == "unhealthy");
  BOOST_TEST(toString(h.onRound(good(), now).current) == "healthy");
}

BOOST_AUTO_TEST_CASE(test_SetThresholdsKeepsState) {
  Feeder f;
  f.feed(good());
  f.feedN(failed(Cause::kRefused), 2);
  f.h.setThresholds(5, 5);
  f.feedN(failed(Cause::kRefused), 2);
  BOOST_TEST(toString(f.h.state()) == "healthy");
  BOOST_TEST(toString(f.feed(failed(Cause::kRefused)).current) == "unhealthy");
  f.h.setThresholds(0, -1);  // nonsense is clamped to 1
  BOOST_TEST(f.h.healthyAfter() == 1);
  BOOST_TEST(toString(f.feed(good()).current) == "healthy");
}

BOOST_AUTO_TEST_SUITE_END()
