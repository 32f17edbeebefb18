// RestartBudget: at most max restarts in any sliding window.
#include <boost/test/unit_test.hpp>

#include "core/restart_budget.h"

using namespace pgvigil;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(restart_budget)

BOOST_AUTO_TEST_CASE(test_AllowsUpToMaxInWindow) {
  const SteadyTime t0{10h};
  RestartBudget b(3, 1h);
  BOOST_TEST(b.allow(t0));
  BOOST_TEST(b.used(t0) == 0);
  BOOST_TEST((b.nextAllowed(t0) == t0));
  b.record(t0);
  b.record(t0 + 10min);
  BOOST_TEST(b.allow(t0 + 20min));
  b.record(t0 + 20min);
  BOOST_TEST(b.used(t0 + 20min) == 3);
  BOOST_TEST(!b.allow(t0 + 20min));
  BOOST_TEST(!b.allow(t0 + 59min));
  // The oldest leaves the window one hour after it was made.
  BOOST_TEST((b.nextAllowed(t0 + 30min) == t0 + 1h));
  BOOST_TEST(!b.allow(t0 + 1h - 1ms));
  BOOST_TEST(b.allow(t0 + 1h));
  BOOST_TEST(b.used(t0 + 1h) == 2);
  BOOST_TEST(b.used(t0 + 1h + 20min) == 0);
}

BOOST_AUTO_TEST_CASE(test_AllowIsPure) {
  const SteadyTime t0{10h};
  RestartBudget b(1, 10min);
  for (int i = 0; i < 5; ++i) BOOST_TEST(b.allow(t0));
  b.record(t0);
  for (int i = 0; i < 5; ++i) BOOST_TEST(!b.allow(t0 + 1min));
  BOOST_TEST(b.used(t0 + 1min) == 1);
}

BOOST_AUTO_TEST_CASE(test_SlidingWindowNotFixedBuckets) {
  // 2 per hour: restarts at 0:50 and 1:10 are within one hour, even though a fixed 1-hour
  // bucket would split them.
  const SteadyTime t0{10h};
  RestartBudget b(2, 1h);
  b.record(t0 + 50min);
  b.record(t0 + 70min);
  BOOST_TEST(!b.allow(t0 + 80min));
  BOOST_TEST((b.nextAllowed(t0 + 80min) == t0 + 110min));
  BOOST_TEST(b.allow(t0 + 110min));
}

BOOST_AUTO_TEST_CASE(test_KeepsOnlyTheNewestMax) {
  const SteadyTime t0{10h};
  RestartBudget b(3, 1h);
  for (int i = 0; i < 100; ++i) b.record(t0 + std::chrono::minutes(i));
  BOOST_TEST(b.times().size() == 3u);
  BOOST_TEST((b.times().front() == t0 + 97min));
  BOOST_TEST(b.used(t0 + 99min) == 3);
}

BOOST_AUTO_TEST_CASE(test_RestoreSortsAndTrims) {
  const SteadyTime t0{10h};
  RestartBudget b(2, 1h);
  b.restore({t0 + 30min, t0 + 10min, t0 + 20min});
  BOOST_TEST(b.times().size() == 2u);
  BOOST_TEST((b.times().front() == t0 + 20min));
  BOOST_TEST(!b.allow(t0 + 40min));
  b.clear();
  BOOST_TEST(b.allow(t0 + 40min));
}

BOOST_AUTO_TEST_CASE(test_SetLimitsKeepsHistory) {
  const SteadyTime t0{10h};
  RestartBudget b(5, 1h);
  b.record(t0);
  b.record(t0 + 1min);
  BOOST_TEST(b.allow(t0 + 2min));
  b.setLimits(2, 1h);
  BOOST_TEST(!b.allow(t0 + 2min));
  b.setLimits(2, 1min);
  BOOST_TEST(b.allow(t0 + 2min));
  BOOST_TEST(b.max() == 2);
}

BOOST_AUTO_TEST_CASE(test_ZeroNeverAllows) {
  RestartBudget b(0, 1h);
  const SteadyTime t0{10h};
  BOOST_TEST(!b.allow(t0));
  BOOST_TEST((b.nextAllowed(t0) == SteadyTime::max()));
}

BOOST_AUTO_TEST_SUITE_END()
