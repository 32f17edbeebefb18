// Secret masking in free text, keyword conninfo strings and URIs: the password never survives.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "core/redact.h"

using namespace pgvigil;

BOOST_AUTO_TEST_SUITE(redact)

BOOST_AUTO_TEST_CASE(keyword_conninfo) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"host=db password=secret dbname=app", "host=db password=***** dbname=app"},
      {"password=secret", "password=*****"},
      {"host=db password = secret", "host=db password = *****"},
      {"host=db password='se cret x' user=u", "host=db password='*****' user=u"},
      {R"(host=db password='it\'s' user=u)", "host=db password='*****' user=u"},
      {"host=db PASSWORD=Secret", "host=db PASSWORD=*****"},
      {"host=db Password=Secret", "host=db Password=*****"},
      {"sslpassword=keypass host=db", "sslpassword=***** host=db"},
      {"PGPASSWORD=abc pg_ctl start", "PGPASSWORD=***** pg_ctl start"},
      {"passwd=abc", "passwd=*****"},
      // libpq skips blanks after '=': the password here is "user=u".
      {"host=db password= user=u", "host=db password= *****"},
      {"host=db password=", "host=db password="},  // nothing to hide
  };
  for (const auto& c : cases) BOOST_TEST(redactSecrets(c.in, {}) == c.out);
}

BOOST_AUTO_TEST_CASE(uris) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"postgresql://user:secret@host:5432/db", "postgresql://user:*****@host:5432/db"},
      {"postgres://user:secret@host/db", "postgres://user:*****@host/db"},
      {"POSTGRESQL://user:secret@host/db", "POSTGRESQL://user:*****@host/db"},
      {"postgresql://user:p%40ss@h1,h2/db?sslmode=require",
       "postgresql://user:*****@h1,h2/db?sslmode=require"},
      {"postgresql://user:p@ss@host/db", "postgresql://user:*****@host/db"},
      {"postgresql://user@host/db", "postgresql://user@host/db"},
      {"postgresql://host/db", "postgresql://host/db"},
      {"postgresql://h/db?sslmode=require&password=secret&application_name=a",
       "postgresql://h/db?sslmode=require&password=*****&application_name=a"},
      {"postgresql://h/db?password=secret#frag", "postgresql://h/db?password=*****#frag"},
      {"connect to postgresql://u:secret@h/db failed: timeout",
       "connect to postgresql://u:*****@h/db failed: timeout"},
  };
  for (const auto& c : cases) BOOST_TEST(redactSecrets(c.in, {}) == c.out);
}

BOOST_AUTO_TEST_CASE(free_text_and_known_secrets) {
  // libpq's own messages mention the word without a value: they stay readable.
  std::string fatal = R"(FATAL:  password authentication failed for user "bob")";
  BOOST_TEST(redactSecrets(fatal, {}) == fatal);
  BOOST_TEST(redactSecrets("fe_sendauth: no password supplied", {}) ==
             "fe_sendauth: no password supplied");
  // A known secret is masked wherever it stands, also without any keyword.
  BOOST_TEST(redactSecrets("restart failed: hunter2 rejected (hunter2)", {"hunter2"}) ==
             "restart failed: ***** rejected (*****)");
  // The longest known secret wins where they overlap; empty ones are ignored.
  BOOST_TEST(redactSecrets("abcdef", {"", "abc", "abcdef"}) == "*****");
  // JSON and YAML shapes.
  BOOST_TEST(redactSecrets(R"({"user": "u", "password": "abc"})", {}) ==
             R"({"user": "u", "password": "*****"})");
  BOOST_TEST(redactSecrets("password: abc\nhost: x", {}) == "password: *****\nhost: x");
  BOOST_TEST(redactSecrets(R"({"password":"abc"})", {}) == R"({"password":"*****"})");
  // An ${ENV} reference names a variable, it holds no secret.
  std::string hint = "write ${PGPASSWORD:-default} or ${DB_PASSWORD} to give a fallback";
  BOOST_TEST(redactSecrets(hint, {}) == hint);
  BOOST_TEST(redactSecrets("Authorization: Bearer tok3n-value", {}) ==
             "Authorization: Bearer *****");
  BOOST_TEST(redactSecrets("nothing to see here", {"zzz"}) == "nothing to see here");
}

BOOST_AUTO_TEST_CASE(redaction_is_idempotent_and_keeps_quotes) {
  // An unquoted value runs to the next blank, as in libpq (a password may hold a '"').
  BOOST_TEST(redactSecrets(R"(conninfo: "host=db password=se"cret" # x)", {}) ==
             R"(conninfo: "host=db password=***** # x)");
  // A value masked before (config show masks the conninfo, then the whole text) keeps its
  // closing quote on the second pass.
  std::string once = R"(conninfo: "host=db password=*****"  # pgvigil.yaml:3:15)";
  BOOST_TEST(redactSecrets(once, {}) == once);
  BOOST_TEST(redactSecrets(redactSecrets("a password=x b", {}), {}) == "a password=***** b");
  std::string uri = "postgresql://u:*****@h/db";
  BOOST_TEST(redactSecrets(uri, {}) == uri);
}

BOOST_AUTO_TEST_CASE(conninfo_secrets_are_extracted_as_written_and_decoded) {
  auto s = connInfoSecrets("host=db password=plain user=u");
  BOOST_TEST(s == std::vector<std::string>{"plain"});
  s = connInfoSecrets(R"(host=db password='it\'s here' user=u)");
  BOOST_TEST((s == std::vector<std::string>{R"(it\'s here)", "it's here"}));
  s = connInfoSecrets("postgresql://u:p%40ss@host/db?sslpassword=k%2Fey&sslmode=require");
  BOOST_TEST((s == std::vector<std::string>{"p%40ss", "p@ss", "k%2Fey", "k/ey"}));
  BOOST_TEST(connInfoSecrets("host=db user=u").empty());
  BOOST_TEST(connInfoSecrets("postgresql://u@host/db").empty());
  // A password that is only a known secret (no pattern around it) is still masked.
  std::string text = "the server said: p@ss is wrong";
  BOOST_TEST(redactSecrets(text, connInfoSecrets("postgresql://u:p%40ss@h/d")) ==
             "the server said: ***** is wrong");
}

BOOST_AUTO_TEST_SUITE_END()
