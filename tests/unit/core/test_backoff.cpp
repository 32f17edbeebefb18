// Backoff: stateless, capped, overflow-safe; jitter pinned through the random argument.
#include <boost/test/unit_test.hpp>

#include <climits>

#include "core/backoff.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

BackoffConfig cfg(Millis initial, Millis max, double multiplier, double jitter) {
  BackoffConfig c;
  c.initial = initial;
  c.max = max;
  c.multiplier = multiplier;
  c.jitter = jitter;
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(test_GrowthAndCapTable) {
  struct Row {
    BackoffConfig config;
    unsigned attempt;
    double random;
    Millis expected;
  };
  const BackoffConfig spec = cfg(5s, 5min, 2.0, 0.0);  // docs/reference.md §2 without jitter
  const Row rows[] = {
      {spec, 0, 0.5, 5s},
      {spec, 1, 0.5, 10s},
      {spec, 2, 0.5, 20s},
      {spec, 3, 0.5, 40s},
      {spec, 4, 0.5, 80s},
      {spec, 5, 0.5, 160s},
      {spec, 6, 0.5, 5min},  // 320 s capped
      {spec, 7, 0.5, 5min},
      {spec, 63, 0.5, 5min},
      {spec, 64, 0.5, 5min},
      {spec, 1000, 0.5, 5min},  // 2^1000 must not overflow
      {spec, UINT_MAX, 0.5, 5min},
      {cfg(5s, 5min, 1.0, 0.0), 1000, 0.5, 5s},    // multiplier 1: constant
      {cfg(1s, 1min, 1.5, 0.0), 2, 0.5, 2250ms},   // non-integer multiplier
      {cfg(10min, 5min, 2.0, 0.0), 0, 0.5, 5min},  // initial above max: the cap wins
      {cfg(250ms, 1h, 10.0, 0.0), 3, 0.5, 250s},
      {cfg(250ms, 1h, 10.0, 0.0), 5, 0.5, 1h},
      {cfg(0ms, 1min, 2.0, 0.0), 1000, 0.5, 0ms},
      {cfg(5s, 5min, 0.5, 0.0), 3, 0.5, 5s},  // multiplier < 1 is taken as 1
      // jitter 10%: random 0 -> -10%, 0.5 -> exact, towards 1 -> +10%
      {cfg(10s, 5min, 2.0, 0.1), 0, 0.0, 9s},
      {cfg(10s, 5min, 2.0, 0.1), 0, 0.25, 9500ms},
      {cfg(10s, 5min, 2.0, 0.1), 0, 0.5, 10s},
      {cfg(10s, 5min, 2.0, 0.1), 0, 0.75, 10500ms},
      {cfg(10s, 5min, 2.0, 0.1), 1, 0.0, 18s},
      // at the cap, jitter never goes above max
      {cfg(10s, 5min, 2.0, 0.1), 20, 0.99, 5min},
      {cfg(10s, 5min, 2.0, 0.1), 20, 0.0, 270s},
      // out-of-range random values are clamped, never trusted
      {cfg(10s, 5min, 2.0, 0.1), 0, -3.0, 9s},
      {cfg(10s, 5min, 2.0, 0.1), 0, 7.0, 11s},
  };
  int i = 0;
  for (const Row& r : rows) {
    BOOST_TEST_CONTEXT("row " << i++ << " attempt " << r.attempt << " random " << r.random) {
      BOOST_TEST(Backoff(r.config).get(r.attempt, r.random).count() == r.expected.count());
    }
  }
}

BOOST_AUTO_TEST_CASE(test_NeverDecreasesWithoutJitter) {
  Backoff b(cfg(100ms, 10min, 1.7, 0.0));
  Millis previous{0};
  for (unsigned attempt = 0; attempt < 2000; ++attempt) {
    Millis v = b.get(attempt);
    BOOST_TEST(v.count() >= previous.count());
    BOOST_TEST(v.count() <= Millis(10min).count());
    previous = v;
  }
  BOOST_TEST(previous.count() == Millis(10min).count());
}

BOOST_AUTO_TEST_CASE(test_JitterStaysWithinBounds) {
  Backoff b(cfg(20s, 5min, 2.0, 0.25));
  for (int k = 0; k < 100; ++k) {
    double r = k / 100.0;
    Millis v = b.get(1, r);  // 40 s +-25 %
    BOOST_TEST(v.count() >= Millis(30s).count());
    BOOST_TEST(v.count() < Millis(50s).count());
  }
}

BOOST_AUTO_TEST_SUITE_END()
