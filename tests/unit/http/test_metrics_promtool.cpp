// The exposition checked by Prometheus' own `promtool check metrics` (a Linux program started
// through popen: tests/windows/unit/CMakeLists.txt leaves this file out on Windows, where the
// rest of test_metrics.cpp runs).
#include <boost/test/unit_test.hpp>

#include "http/metrics.h"
#include "promtool.h"
#include "sample_status.h"

using namespace pgvigil;
using namespace pgvigil::testing;

BOOST_AUTO_TEST_SUITE(metrics_promtool)

BOOST_AUTO_TEST_CASE(promtool_accepts_a_rich_exposition) {
  auto s = richStatus();
  s.targets[0].last_round->connections->by_state["we\"ird\\state\n"] = 2;  // escaping, too
  auto r = promtoolCheck(renderPrometheus(s));
  BOOST_TEST(r.exit_code == 0, r.output);
  BOOST_TEST(r.output.empty(), "promtool complained: " << r.output);
}

BOOST_AUTO_TEST_CASE(promtool_accepts_top_n_holders_plus_other) {
  auto r = promtoolCheck(renderPrometheus(manyHoldersStatus(40)));
  BOOST_TEST(r.exit_code == 0, r.output);
}

BOOST_AUTO_TEST_CASE(promtool_catches_a_broken_exposition) {
  // The checks above must be able to fail: a counter without _total and a duplicate TYPE.
  auto r = promtoolCheck("# TYPE x counter\nx 1\n# TYPE x counter\nx 2\n");
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(!r.output.empty());
}

BOOST_AUTO_TEST_SUITE_END()
