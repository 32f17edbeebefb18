// Scheduler with a FakeClock: jitter, no overlap, confirm interval, runNow, remove in flight,
// thousands of targets.
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <string>

#include "core/clock.h"
#include "core/scheduler.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

Random01 fixed(double v) {
  return [v] { return v; };
}

/// A deterministic random source (a small LCG), so "random" jitter is reproducible.
Random01 lcg(std::uint64_t seed) {
  return [state = seed]() mutable {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return double(state >> 11) / double(1ull << 53);
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scheduler)

BOOST_AUTO_TEST_CASE(test_FirstRoundIsJitteredWithinOneInterval) {
  FakeClock clock;
  Scheduler s(fixed(0.5));
  s.add("a", 10s, clock.now());
  BOOST_TEST((s.dueOf("a") == clock.now() + 5s));
  BOOST_TEST((s.nextDue() == clock.now() + 5s));
  BOOST_TEST(s.tick(clock.now()).empty());
  clock.advance(4999ms);
  BOOST_TEST(s.tick(clock.now()).empty());
  clock.advance(1ms);
  auto due = s.tick(clock.now());
  BOOST_TEST(due.size() == 1u);
  BOOST_TEST(due.at(0) == "a");
}

BOOST_AUTO_TEST_CASE(test_JitterSpreadsTargets) {
  FakeClock clock;
  std::vector<double> values{0.0, 0.25, 0.5, 0.75};
  std::size_t i = 0;
  Scheduler s([&] { return values[i++ % values.size()]; });
  for (const char* id : {"a", "b", "c", "d"}) s.add(id, 4s, clock.now());
  BOOST_TEST((s.dueOf("a") == clock.now()));
  BOOST_TEST((s.dueOf("b") == clock.now() + 1s));
  BOOST_TEST((s.dueOf("c") == clock.now() + 2s));
  BOOST_TEST((s.dueOf("d") == clock.now() + 3s));
  BOOST_TEST(s.tick(clock.now()).size() == 1u);
  clock.advance(2s);
  auto due = s.tick(clock.now());
  BOOST_TEST(due.size() == 2u);
  BOOST_TEST(due.at(0) == "b");  // earliest first
  BOOST_TEST(due.at(1) == "c");
}

BOOST_AUTO_TEST_CASE(test_NoOverlapAndNextDueFromStart) {
  FakeClock clock;
  Scheduler s(fixed(0.0));
  s.add("a", 5s, clock.now());
  const SteadyTime start = clock.now();
  BOOST_TEST(s.tick(clock.now()).size() == 1u);
  BOOST_TEST(s.inFlight("a"));
  BOOST_TEST(!s.nextDue().has_value());
  // The round hangs way past its interval: the target is never returned again meanwhile.
  for (int i = 0; i < 20; ++i) {
    clock.advance(1s);
    BOOST_TEST(s.tick(clock.now()).empty());
  }
  BOOST_TEST(s.inFlightCount() == 1u);
  // It finished late: the next one is due at once, not in the past, and not twice.
  BOOST_TEST(s.done("a", clock.now()));
  BOOST_TEST((s.dueOf("a") == clock.now()));
  BOOST_TEST(s.tick(clock.now()).size() == 1u);
  // A quick round: next due = its start + interval.
  const SteadyTime second = clock.now();
  clock.advance(300ms);
  BOOST_TEST(s.done("a", clock.now()));
  BOOST_TEST((s.dueOf("a") == second + 5s));
  BOOST_TEST(!s.done("a", clock.now()));  // not in flight any more
  (void)start;
}

BOOST_AUTO_TEST_CASE(test_ConfirmIntervalAfterAFailedRound) {
  Scheduler::Options options;
  options.confirmInterval = 50ms;
  Scheduler s(fixed(0.0), options);
  BOOST_TEST(s.confirmInterval(5s).count() == 50);
  BOOST_TEST(s.confirmInterval(1min).count() == 50);  // as fast at a long interval
  BOOST_TEST(s.confirmInterval(20ms).count() == 20);  // never longer than the interval

  FakeClock clock;
  s.add("a", 5s, clock.now());
  s.tick(clock.now());
  const SteadyTime start = clock.now();
  clock.advance(20ms);
  s.done("a", clock.now(), /*confirmSoon=*/true);
  BOOST_TEST((s.dueOf("a") == start + 50ms));
  BOOST_TEST(s.tick(start + 49ms).empty());
  BOOST_TEST(s.tick(start + 50ms).size() == 1u);
  // A round slower than the confirm interval is followed at once, never overlapped.
  clock.advance(800ms);
  s.done("a", clock.now(), /*confirmSoon=*/true);
  BOOST_TEST((s.dueOf("a") == clock.now()));
  // Once the change is decided, the normal interval again.
  s.tick(clock.now());
  const SteadyTime third = clock.now();
  s.done("a", clock.now(), /*confirmSoon=*/false);
  BOOST_TEST((s.dueOf("a") == third + 5s));
}

BOOST_AUTO_TEST_CASE(test_RunNowWhenIdle) {
  FakeClock clock;
  Scheduler s(fixed(0.0));
  s.add("a", 30s, clock.now());
  s.tick(clock.now());
  s.done("a", clock.now());
  clock.advance(1s);
  BOOST_TEST(s.runNow("a", clock.now()));
  BOOST_TEST((s.nextDue() == clock.now()));
  auto due = s.tick(clock.now());
  BOOST_TEST(due.size() == 1u);
  BOOST_TEST(!s.runNow("nope", clock.now()));
}

BOOST_AUTO_TEST_CASE(test_RunNowWhileInFlightRunsRightAfter) {
  FakeClock clock;
  Scheduler s(fixed(0.0));
  s.add("a", 30s, clock.now());
  s.tick(clock.now());
  BOOST_TEST(s.runNow("a", clock.now()));
  BOOST_TEST(s.tick(clock.now()).empty());  // never two at once
  clock.advance(2s);
  s.done("a", clock.now());
  BOOST_TEST((s.dueOf("a") == clock.now()));
  BOOST_TEST(s.tick(clock.now()).size() == 1u);
  s.done("a", clock.now());  // and after that the normal interval again
  BOOST_TEST((s.dueOf("a") == clock.now() + 30s));
}

BOOST_AUTO_TEST_CASE(test_RunNowNeverDelays) {
  FakeClock clock;
  Scheduler s(fixed(0.0));
  s.add("a", 30s, clock.now());  // due now already
  clock.advance(5s);
  s.runNow("a", clock.now());
  BOOST_TEST((s.dueOf("a") == clock.now() - 5s));
}

BOOST_AUTO_TEST_CASE(test_RemoveWhileInFlight) {
  FakeClock clock;
  Scheduler s(fixed(0.0));
  s.add("a", 5s, clock.now());
  s.add("b", 5s, clock.now());
  BOOST_TEST(s.tick(clock.now()).size() == 2u);
  BOOST_TEST(s.remove("a"));
  BOOST_TEST(!s.contains("a"));
  BOOST_TEST(s.size() == 1u);
  BOOST_TEST(!s.remove("a"));
  BOOST_TEST(!s.runNow("a", clock.now()));
  clock.advance(1s);
  BOOST_TEST(s.done("a", clock.now()));  // the late report is accepted and dropped
  BOOST_TEST(!s.contains("a"));
  BOOST_TEST(s.done("b", clock.now()));
  for (int i = 0; i < 10; ++i) {
    clock.advance(5s);
    for (const auto& id : s.tick(clock.now())) {
      BOOST_TEST(id == "b");
      s.done(id, clock.now());
    }
  }
  BOOST_TEST(s.inFlightCount() == 0u);
}

BOOST_AUTO_TEST_CASE(test_ReaddWhileOldRoundInFlightWaitsForIt) {
  FakeClock clock;
  Scheduler s(fixed(0.0));
  s.add("a", 5s, clock.now());
  s.tick(clock.now());
  s.remove("a");
  s.add("a", 10s, clock.now());  // a reload that removed and re-added it
  BOOST_TEST(s.contains("a"));
  BOOST_TEST(s.inFlight("a"));
  clock.advance(20s);
  BOOST_TEST(s.tick(clock.now()).empty());  // still one in flight: never two
  s.done("a", clock.now());
  BOOST_TEST(s.tick(clock.now()).size() == 1u);
  s.done("a", clock.now());
  BOOST_TEST((s.dueOf("a") == clock.now() + 10s));  // the new interval
}

BOOST_AUTO_TEST_CASE(test_ReaddedTargetRunsRightAfterTheOldRound) {
  FakeClock clock;
  Scheduler s(fixed(0.0));
  s.add("a", 10s, clock.now());
  s.tick(clock.now());
  s.remove("a");
  s.add("a", 10s, clock.now());
  clock.advance(1s);
  s.done("a", clock.now());                   // the old round's verdict is dropped by the caller
  BOOST_TEST((s.dueOf("a") == clock.now()));  // so the new config gets one at once
  BOOST_TEST(s.tick(clock.now()).size() == 1u);
}

BOOST_AUTO_TEST_CASE(test_RemoveIdle) {
  FakeClock clock;
  Scheduler s(fixed(0.5));
  s.add("a", 5s, clock.now());
  BOOST_TEST(s.remove("a"));
  BOOST_TEST(s.size() == 0u);
  BOOST_TEST(!s.nextDue().has_value());
  clock.advance(1min);
  BOOST_TEST(s.tick(clock.now()).empty());
}

BOOST_AUTO_TEST_CASE(test_UpdateInterval) {
  FakeClock clock;
  Scheduler s(fixed(0.0));
  s.add("a", 60s, clock.now());
  const SteadyTime start = clock.now();
  s.tick(clock.now());
  s.done("a", clock.now());
  BOOST_TEST((s.dueOf("a") == start + 60s));
  clock.advance(10s);
  BOOST_TEST(s.update("a", 20s, clock.now()));
  BOOST_TEST((s.dueOf("a") == start + 20s));
  BOOST_TEST(s.update("a", 5s, clock.now()));  // start + 5 s has passed: due now
  BOOST_TEST((s.dueOf("a") == clock.now()));
  // update while in flight: done() uses the new interval
  s.tick(clock.now());
  const SteadyTime second = clock.now();
  s.update("a", 7s, clock.now());
  s.done("a", clock.now());
  BOOST_TEST((s.dueOf("a") == second + 7s));
  BOOST_TEST(!s.update("zzz", 1s, clock.now()));
  // add() of an existing name is an update, not a second entry
  s.add("a", 9s, clock.now());
  BOOST_TEST(s.size() == 1u);
  BOOST_TEST((s.dueOf("a") == second + 9s));
}

BOOST_AUTO_TEST_CASE(test_UpdateBeforeFirstRound) {
  FakeClock clock;
  Scheduler s(fixed(0.9));
  s.add("a", 100s, clock.now());  // first due at +90 s
  s.update("a", 10s, clock.now());
  BOOST_TEST((s.dueOf("a") == clock.now() + 10s));
}

BOOST_AUTO_TEST_CASE(test_ThousandsOfTargets) {
  FakeClock clock;
  Scheduler s(lcg(42));
  const int n = 5000;
  std::map<std::string, Millis> intervals;
  for (int i = 0; i < n; ++i) {
    std::string id = "t" + std::to_string(i);
    Millis interval = Millis{1000 + (i % 10) * 1000};  // 1 s .. 10 s
    intervals[id] = interval;
    s.add(id, interval, clock.now());
  }
  BOOST_TEST(s.size() == std::size_t(n));

  // Rounds take 300 ms; run 60 s of simulated time in 100 ms steps. Never two rounds of one
  // target at once, every round finishes, and each target runs about 60 s / interval times.
  std::map<std::string, int> runs;
  std::map<std::string, SteadyTime> lastStart;
  std::multimap<SteadyTime, std::string> finishing;
  std::set<std::string> running;
  const SteadyTime end = clock.now() + 60s;
  bool overlap = false, early = false;
  while (clock.now() < end) {
    clock.advance(100ms);
    for (auto it = finishing.begin(); it != finishing.end() && it->first <= clock.now();) {
      BOOST_REQUIRE(s.done(it->second, clock.now()));
      running.erase(it->second);
      it = finishing.erase(it);
    }
    for (auto& id : s.tick(clock.now())) {
      if (!running.insert(id).second) overlap = true;
      auto last = lastStart.find(id);
      if (last != lastStart.end() && clock.now() - last->second < intervals[id]) early = true;
      lastStart[id] = clock.now();
      ++runs[id];
      finishing.emplace(clock.now() + 300ms, id);
    }
  }
  BOOST_TEST(!overlap);
  BOOST_TEST(!early);
  BOOST_TEST(runs.size() == std::size_t(n));
  BOOST_TEST(s.inFlightCount() == running.size());
  for (const auto& [id, count] : runs) {
    const int expected = int(60s / intervals[id]);
    BOOST_TEST_CONTEXT(id) {
      BOOST_TEST(count >= expected - 1);
      BOOST_TEST(count <= expected + 1);
    }
  }
  // Jitter spread the first rounds: no 100 ms step started more than a few percent of them.
  // (Checked on a fresh scheduler so the steady state does not blur it.)
  Scheduler fresh(lcg(7));
  for (int i = 0; i < n; ++i) fresh.add("t" + std::to_string(i), 10s, clock.now());
  std::size_t maxBatch = 0;
  for (int step = 0; step < 100; ++step) {
    clock.advance(100ms);
    maxBatch = std::max(maxBatch, fresh.tick(clock.now()).size());
  }
  BOOST_TEST(fresh.inFlightCount() == std::size_t(n));
  BOOST_TEST(maxBatch < std::size_t(n / 50));  // uniform would be n / 100 per step
}

BOOST_AUTO_TEST_CASE(max_start_spread_bounds_the_first_rounds) {
  FakeClock clock;
  Scheduler::Options options;
  options.maxStartSpread = 2s;
  Scheduler s(lcg(3), options);
  for (int i = 0; i < 200; ++i) s.add("t" + std::to_string(i), 60s, clock.now());
  clock.advance(1s);
  const auto early = s.tick(clock.now()).size();
  BOOST_TEST(early > 50u);   // about half within the first second...
  BOOST_TEST(early < 150u);  // ...but spread, not all at once
  clock.advance(1s);
  BOOST_TEST(s.tick(clock.now()).size() == 200u - early);  // all within the 2 s cap, not 60 s
}

BOOST_AUTO_TEST_SUITE_END()
