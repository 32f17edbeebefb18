// runGuarded: the guard of every thread body (systemd watcher, probe helpers). A throw is caught,
// reported as an internal error, and never reaches std::terminate.
#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/guarded.h"

using namespace pgvigil;

BOOST_AUTO_TEST_SUITE(guarded)

BOOST_AUTO_TEST_CASE(throws_are_caught_and_reported) {
  struct Case {
    const char* name;
    std::function<void()> body;
    bool ok;
    std::string report;  ///< "" when nothing is reported
  } cases[] = {
      {"returns", [] {}, true, ""},
      {"runtime_error", [] { throw std::runtime_error("bus went away"); }, false,
       "watcher: internal error: bus went away"},
      {"bad_alloc", [] { throw std::bad_alloc(); }, false,
       "watcher: internal error: std::bad_alloc"},
      {"int", [] { throw 42; }, false, "watcher: internal error: unknown exception"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      std::vector<std::string> reports;
      const bool ok =
          runGuarded("watcher", c.body, [&](const std::string& m) { reports.push_back(m); });
      BOOST_TEST(ok == c.ok);
      if (c.report.empty()) {
        BOOST_TEST(reports.empty());
      } else {
        BOOST_TEST_REQUIRE(reports.size() == 1u);
        BOOST_TEST(reports[0] == c.report);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_throwing_reporter_or_none_does_not_escape) {
  bool ok = true;
  BOOST_CHECK_NO_THROW(ok = runGuarded(
                           "x", [] { throw std::runtime_error("a"); },
                           [](const std::string&) { throw std::logic_error("b"); }));
  BOOST_TEST(!ok);
  BOOST_CHECK_NO_THROW(ok = runGuarded(
                           "x", [] { throw 1; }, nullptr));
  BOOST_TEST(!ok);
}

// The way the watcher uses it: a thread whose body throws on its first turns keeps running
// (here: until its third turn succeeds), reports each failure, and ends cleanly.
BOOST_AUTO_TEST_CASE(a_thread_body_survives_and_reports) {
  std::vector<std::string> reports;
  int turns = 0;
  std::thread t([&] {
    bool done = false;
    while (!done) {
      done = runGuarded(
          "systemd watcher for pg.service",
          [&] {
            if (++turns < 3) throw std::runtime_error("turn " + std::to_string(turns));
          },
          [&](const std::string& m) { reports.push_back(m); });
    }
  });
  t.join();  // no std::terminate
  BOOST_TEST(turns == 3);
  BOOST_TEST_REQUIRE(reports.size() == 2u);
  BOOST_TEST(reports[0] == "systemd watcher for pg.service: internal error: turn 1");
  BOOST_TEST(reports[1] == "systemd watcher for pg.service: internal error: turn 2");
}

BOOST_AUTO_TEST_SUITE_END()
