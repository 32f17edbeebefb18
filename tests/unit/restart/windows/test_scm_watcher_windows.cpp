// The Windows service watcher's wiring: restart.method windows-service gets ScmServiceWatcher.
// Its behaviour against a real SCM is tested under Wine by scm_driver.exe (wine_scm), its rule by
// tests/unit/restart/test_scm_stop_rule.cpp.
#include <boost/test/unit_test.hpp>

#include "restart/restarter.h"
#include "restart/windows/scm_watcher.h"

BOOST_AUTO_TEST_SUITE(scm_watcher_windows)

BOOST_AUTO_TEST_CASE(windows_service_gets_the_scm_watcher) {
  pgvigil::RestartConfig config;
  config.method = pgvigil::RestartMethod::kWindowsService;
  config.service = "postgresql-x64-15";
  auto watcher = pgvigil::makeServiceWatcher(config);
  BOOST_REQUIRE(watcher);
  BOOST_TEST(dynamic_cast<pgvigil::ScmServiceWatcher*>(watcher.get()) != nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
