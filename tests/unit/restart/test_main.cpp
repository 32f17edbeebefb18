// The restart layer's unit test runner (one per layer). Suites live in the other files here.
#define BOOST_TEST_MODULE pgvigil_restart
#include <boost/test/unit_test.hpp>

#include "restart/restarter.h"

BOOST_AUTO_TEST_SUITE(make_restarter)

BOOST_AUTO_TEST_CASE(test_MethodNoneHasNoRestarterAndNoWatcher) {
  pgvigil::RestartConfig config;
  config.method = pgvigil::RestartMethod::kNone;
  BOOST_TEST(!pgvigil::makeRestarter(config, pgvigil::SystemClock::instance()));
  BOOST_TEST(!pgvigil::makeServiceWatcher(config));
}

BOOST_AUTO_TEST_CASE(test_CommandGetsItsRestarter) {
  pgvigil::RestartConfig config;
  config.method = pgvigil::RestartMethod::kCommand;
  config.command = {"/bin/true"};
  auto command = pgvigil::makeRestarter(config, pgvigil::SystemClock::instance());
  BOOST_REQUIRE(command);
  BOOST_TEST(command->method() == "command");
  BOOST_TEST(!pgvigil::makeServiceWatcher(config));
}

BOOST_AUTO_TEST_CASE(test_DockerGetsItsRestarterAndWatcher) {
  pgvigil::RestartConfig config;
  config.method = pgvigil::RestartMethod::kDocker;
  config.container = "pg";
  auto docker = pgvigil::makeRestarter(config, pgvigil::SystemClock::instance());
  BOOST_REQUIRE(docker);
  BOOST_TEST(docker->method() == "docker");
  BOOST_TEST(static_cast<bool>(pgvigil::makeServiceWatcher(config)));
}

BOOST_AUTO_TEST_SUITE_END()
