#define BOOST_TEST_MODULE pgvigil_core
#include <boost/test/unit_test.hpp>

#include "core/types.h"

using namespace pgvigil;

BOOST_AUTO_TEST_SUITE(types)

BOOST_AUTO_TEST_CASE(cause_names_round_trip) {
  for (Cause c : kAllCauses) {
    auto name = toString(c);
    BOOST_TEST(!name.empty());
    BOOST_TEST((causeFromString(name) == c));
  }
  BOOST_TEST(!causeFromString("nonsense").has_value());
}

BOOST_AUTO_TEST_CASE(only_down_or_hung_causes_are_restartable) {
  int restartable = 0;
  for (Cause c : kAllCauses) restartable += causeIsDownOrHung(c) ? 1 : 0;
  BOOST_TEST(restartable == 3);
  BOOST_TEST(!causeIsDownOrHung(Cause::kTooManyConnections));
  BOOST_TEST(!causeIsDownOrHung(Cause::kStartingUp));
}

BOOST_AUTO_TEST_CASE(state_names_round_trip) {
  for (TargetState s : kAllStates) BOOST_TEST((stateFromString(toString(s)) == s));
  BOOST_TEST(toString(TargetState::kGivenUp) == "given_up");
}

BOOST_AUTO_TEST_SUITE_END()
