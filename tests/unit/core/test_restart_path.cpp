// A target's restart path as the preflight checks and the attempts find it (issue 10): one event
// per change, never one per check.
#include <boost/test/unit_test.hpp>

#include "core/restart_path.h"

using namespace pgvigil;

namespace {
const WallTime kT0{std::chrono::seconds{1'700'000'000}};
}

BOOST_AUTO_TEST_SUITE(restart_path)

BOOST_AUTO_TEST_CASE(only_changes_make_events) {
  RestartPathWatch w;
  BOOST_TEST(!w.status().has_value());
  BOOST_TEST(!w.update("main", RestartMethod::kDocker, {true, ""}, kT0).has_value());
  BOOST_TEST(w.status()->ok);
  auto broken = w.update("main", RestartMethod::kDocker, {false, "no socket"}, kT0);
  BOOST_TEST_REQUIRE(broken.has_value());
  BOOST_TEST(broken->event == "restart_path_broken");
  BOOST_TEST(broken->target == "main");
  BOOST_TEST((broken->cause == Cause::kNone));
  BOOST_TEST((broken->fields[0] == std::pair<std::string, std::string>{"method", "docker"}));
  BOOST_TEST((broken->fields[1] == std::pair<std::string, std::string>{"problem", "no socket"}));
  BOOST_TEST(w.broken());
  BOOST_TEST(!w.update("main", RestartMethod::kDocker, {false, "no socket"}, kT0).has_value());
  BOOST_TEST(w.update("main", RestartMethod::kDocker, {false, "no container"}, kT0).has_value());
  auto ok = w.update("main", RestartMethod::kDocker, {true, ""}, kT0 + std::chrono::seconds(30));
  BOOST_TEST_REQUIRE(ok.has_value());
  BOOST_TEST(ok->event == "restart_path_ok");
  BOOST_TEST((ok->level == EventLevel::kInfo));
  BOOST_TEST((w.status()->checked_at == kT0 + std::chrono::seconds(30)));
  BOOST_TEST(w.status()->problem.empty());
  BOOST_TEST(!w.update("main", RestartMethod::kDocker, {true, ""}, kT0).has_value());
}

// A reload replaced the broken path with one that works: its ok is announced (the broken one
// was), and /status forgets the old path until the new one is checked.
BOOST_AUTO_TEST_CASE(a_new_path_after_a_broken_one_announces_its_ok) {
  RestartPathWatch w;
  BOOST_TEST(w.update("main", RestartMethod::kCommand, {false, "not executable"}, kT0).has_value());
  w.reset();
  BOOST_TEST(!w.status().has_value());
  BOOST_TEST(!w.broken());
  auto ok = w.update("main", RestartMethod::kSystemd, {true, ""}, kT0);
  BOOST_TEST_REQUIRE(ok.has_value());
  BOOST_TEST(ok->fields[0].second == "systemd");
}

// A check that could not tell (ok, not conclusive) does not clear what a refused attempt found:
// no restart_path_ok between two refused attempts.
BOOST_AUTO_TEST_CASE(an_inconclusive_ok_keeps_a_broken_path_broken) {
  RestartPathWatch w;
  BOOST_TEST(
      w.update("main", RestartMethod::kSystemd, {false, "permission denied"}, kT0).has_value());
  BOOST_TEST(!w.update("main", RestartMethod::kSystemd, {true, "", false}, kT0).has_value());
  BOOST_TEST(w.broken());
  BOOST_TEST(w.status()->problem == "permission denied");
  BOOST_TEST(w.update("main", RestartMethod::kSystemd, {true, "", true}, kT0).has_value());
  BOOST_TEST(!w.broken());
  RestartPathWatch fresh;  // nothing known: an inconclusive ok shows as ok
  BOOST_TEST(!fresh.update("main", RestartMethod::kSystemd, {true, "", false}, kT0).has_value());
  BOOST_TEST(fresh.status()->ok);
}

BOOST_AUTO_TEST_CASE(path_failures_are_the_results_that_never_reached_the_restarter) {
  using R = RestartOutcome::Result;
  for (R r : {R::kUnreachable, R::kNotFound, R::kPermissionDenied, R::kSpawnFailed})
    BOOST_TEST(restartResultIsPathFailure(r), toString(r));
  for (R r : {R::kSucceeded, R::kFailed, R::kTimedOut, R::kOperatorStopped})
    BOOST_TEST(!restartResultIsPathFailure(r), toString(r));
  BOOST_TEST(toString(Cause::kRestarterUnreachable) == "restarter_unreachable");
  BOOST_TEST((causeFromString("restarter_unreachable") == Cause::kRestarterUnreachable));
  for (Cause c : kAllCauses) BOOST_TEST((c != Cause::kRestarterUnreachable));
}

BOOST_AUTO_TEST_SUITE_END()
