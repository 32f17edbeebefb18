#include <boost/test/unit_test.hpp>

#include "events/redactor.h"

using namespace pgvigil;

BOOST_AUTO_TEST_SUITE(redactor)

BOOST_AUTO_TEST_CASE(test_EveryOccurrenceIsMasked) {
  Redactor r;
  BOOST_TEST(r.empty());
  BOOST_TEST(r.apply("nothing to hide") == "nothing to hide");
  r.setSecrets({"s3cret", "", "tok"});
  BOOST_TEST(!r.empty());
  BOOST_TEST(r.apply("a s3cret and s3cret again, tok") == "a ***** and ***** again, *****");
  BOOST_TEST(r.apply("") == "");
}

BOOST_AUTO_TEST_CASE(test_LongerSecretMaskedWhole) {
  Redactor r;
  r.setSecrets({"pass", "password123"});
  BOOST_TEST(r.apply("pw=password123 p=pass") == "pw=***** p=*****");
}

BOOST_AUTO_TEST_CASE(test_EventStringsAreMasked) {
  Redactor r;
  r.setSecrets({"hunter2"});
  AlertEvent e;
  e.event = "restart_failed";
  e.target = "main";
  e.msg = "exited 1: hunter2";
  e.fields = {{"output", "PGPASSWORD=hunter2"}, {"hunter2", "key"}};
  AlertEvent out = r.apply(e);
  BOOST_TEST(out.msg == "exited 1: *****");
  BOOST_TEST(out.fields[0].second == "PGPASSWORD=*****");
  BOOST_TEST(out.fields[1].first == "*****");
  BOOST_TEST(out.target == "main");
  r.setSecrets({});
  BOOST_TEST(r.apply(e).msg == e.msg);
}

BOOST_AUTO_TEST_SUITE_END()
