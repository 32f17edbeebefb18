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

BOOST_AUTO_TEST_CASE(test_PasswordPatternsMaskedEvenWhenNotToldTheSecret) {
  Redactor r;
  AlertEvent e;
  e.msg = "connect to host=db password=unknown1 failed";
  e.fields = {{"uri", "postgresql://app:unknown2@db/postgres"}};
  AlertEvent out = r.apply(e);
  BOOST_TEST(out.msg == "connect to host=db password=***** failed");
  BOOST_TEST(out.fields[0].second == "postgresql://app:*****@db/postgres");
  e.fields = {{"PGPASSWORD", "x"},
              {"api_token", "y"},
              {"client_secret", "z"},
              {"user", "bob"},
              {"password", ""}};
  out = r.apply(e);
  BOOST_TEST(out.fields[0].second == "*****");
  BOOST_TEST(out.fields[1].second == "*****");
  BOOST_TEST(out.fields[2].second == "*****");
  BOOST_TEST(out.fields[3].second == "bob");
  BOOST_TEST(out.fields[4].second == "");
}

BOOST_AUTO_TEST_CASE(test_ApplyKnownChangesOnlyKnownSecrets) {
  Redactor r;
  r.setSecrets({"k3y"});
  BOOST_TEST(r.applyKnown(R"(msg="password=abc k3y")") == R"(msg="password=abc *****")");
}

BOOST_AUTO_TEST_SUITE_END()
