#include <boost/test/unit_test.hpp>
#include <map>
#include <string>

#include "probes/conninfo.h"

using namespace pgvigil;

namespace {
const std::string kCanary = "Canary-s3cr3t-Pw";

std::string param(const ConnectParams& p, const std::string& key) {
  for (size_t i = 0; i < p.keys.size(); ++i)
    if (p.keys[i] == key) return p.values[i];
  return "<absent>";
}
}  // namespace

BOOST_AUTO_TEST_SUITE(conninfo)

BOOST_AUTO_TEST_CASE(parses_keyword_strings) {
  std::string err;
  auto info =
      parseConnInfo("host=db.example port=6543 dbname=app user=mon password=" + kCanary, &err);
  BOOST_TEST_REQUIRE(info.has_value(), err);
  BOOST_TEST(info->host() == "db.example");
  BOOST_TEST(info->port() == 6543);
  BOOST_TEST(info->dbname() == "app");
  BOOST_TEST(info->user() == "mon");
  BOOST_TEST(info->params.at("password") == kCanary);
  BOOST_TEST(!info->isUnixSocket());
}

BOOST_AUTO_TEST_CASE(parses_uris_with_percent_encoding_and_lists) {
  std::string err;
  auto info = parseConnInfo(
      "postgresql://mon:Canary-s3cr3t%2DPw@h1:5433,h2:5434/app%20db?"
      "sslmode=require&application_name=x",
      &err);
  BOOST_TEST_REQUIRE(info.has_value(), err);
  BOOST_TEST(info->host() == "h1");
  BOOST_TEST(info->port() == 5433);
  BOOST_TEST(info->dbname() == "app db");
  BOOST_TEST(info->params.at("password") == kCanary);
  BOOST_TEST(info->params.at("sslmode") == "require");
}

BOOST_AUTO_TEST_CASE(unix_sockets_and_defaults) {
  std::string err;
  auto empty = parseConnInfo("dbname=postgres", &err);
  BOOST_TEST_REQUIRE(empty.has_value());
  BOOST_TEST(empty->host() == "");
  BOOST_TEST(empty->port() == 5432);
  BOOST_TEST(empty->isUnixSocket());
  auto dir = parseConnInfo("host=/var/run/postgresql port=5433", &err);
  BOOST_TEST(dir->isUnixSocket());
  auto abstract = parseConnInfo("host=@pg", &err);
  BOOST_TEST(abstract->isUnixSocket());
  auto addr = parseConnInfo("hostaddr=127.0.0.1", &err);
  BOOST_TEST(addr->hostaddr() == "127.0.0.1");
  BOOST_TEST(!addr->isUnixSocket());
  auto uriSocket = parseConnInfo("postgresql://%2Ftmp%2Fpg/app", &err);
  BOOST_TEST_REQUIRE(uriSocket.has_value(), err);
  BOOST_TEST(uriSocket->host() == "/tmp/pg");
  BOOST_TEST(uriSocket->isUnixSocket());
}

BOOST_AUTO_TEST_CASE(parse_errors_are_values_and_never_show_a_secret) {
  std::string err;
  // Issue 11: the rejected option's name is shown (only values are masked)...
  BOOST_TEST(!parseConnInfo("host=db nosuchkeyword=1", &err).has_value());
  BOOST_TEST(err == "invalid connection option \"nosuchkeyword\"", err);
  err.clear();
  // ...unless it is the second half of a password with a space spliced into the string, or a
  // piece of a password the string spells out.
  BOOST_TEST(!parseConnInfo("host=db password=x " + kCanary + "=1", &err).has_value());
  BOOST_TEST(err == "invalid connection option \"*****\"", err);
  err.clear();
  BOOST_TEST(!parseConnInfo("host=db password=" + kCanary + " x=1", &err).has_value());
  BOOST_TEST(err.find(kCanary) == std::string::npos, err);
  err.clear();
  BOOST_TEST(!parseConnInfo("postgresql://u:" + kCanary + "@h/db?" + kCanary + "=1", &err));
  BOOST_TEST(err.find(kCanary) == std::string::npos, err);
  err.clear();
  // A password typed without '=' would be quoted back by libpq's parser.
  BOOST_TEST(!parseConnInfo("host=db " + kCanary, &err).has_value());
  BOOST_TEST(!err.empty());
  BOOST_TEST(err.find(kCanary) == std::string::npos);
  err.clear();
  // libpq quotes the whole URI back in this one.
  BOOST_TEST(!parseConnInfo("postgresql://u:" + kCanary + "@[::1/db", &err).has_value());
  BOOST_TEST(!err.empty());
  BOOST_TEST(err.find(kCanary) == std::string::npos, err);
  err.clear();
  BOOST_TEST(!parseConnInfo("postgresql://u:" + kCanary + "@h/db?nosuch=1", &err).has_value());
  BOOST_TEST(err.find(kCanary) == std::string::npos, err);
  err.clear();
  BOOST_TEST(!parseConnInfo("host='unterminated password=" + kCanary, &err).has_value());
  BOOST_TEST(err.find(kCanary) == std::string::npos);
  // Known keywords stay readable in errors.
  err.clear();
  BOOST_TEST(!parseConnInfo("port", &err).has_value());
  BOOST_TEST(err.find("port") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(redaction_masks_passwords_in_every_form) {
  for (const std::string& s :
       {"host=h password=" + kCanary, "host=h password='" + kCanary + " x'",
        "postgresql://u:" + kCanary + "@h/db", "postgresql://u@h/db?password=" + kCanary,
        "host=h sslpassword=" + kCanary + " sslmode=verify-full"}) {
    std::string red = redactConnInfo(s);
    BOOST_TEST(red.find(kCanary) == std::string::npos, red);
    BOOST_TEST(red.find("*****") != std::string::npos, red);
  }
  BOOST_TEST(redactConnInfo("host=h port=5432 user=mon password=" + kCanary) ==
             "user=mon password=***** host=h port=5432");
  BOOST_TEST(redactConnInfo("host=h dbname='my db'") == "dbname='my db' host=h");
  // Unparsable: keywords and URI parameter names shown, every value and stray word masked.
  BOOST_TEST(redactConnInfo("host=h " + kCanary) == "host=***** *****");
  BOOST_TEST(redactConnInfo("host=h colour=blue password=" + kCanary) ==
             "host=***** colour=***** password=*****");
  BOOST_TEST(redactConnInfo("host=h password=x " + kCanary + "=1") ==
             "host=***** password=***** *****=*****");
  BOOST_TEST(redactConnInfo("host=h password='" + kCanary) == "host=***** password=*****");
  BOOST_TEST(redactConnInfo("postgresql://u:" + kCanary + "@h:5432/db?schema=public&colour=1") ==
             "postgresql://*****?schema=*****&colour=*****");
  // Issue 11: an empty ${DB_PORT} makes the password the port's value ("port= password=x" is
  // port='password=x' to libpq); it must not come out in the port either.
  for (const std::string& s :
       {"host=h port= password=" + kCanary + " dbname=app",
        "host=h port= password='" + kCanary + "' dbname=app", "host=h dbname= password=" + kCanary,
        "host=h user= sslpassword=" + kCanary}) {
    std::string red = redactConnInfo(s);
    BOOST_TEST(red.find(kCanary) == std::string::npos, red);
    BOOST_TEST(red.find("*****") != std::string::npos, red);
  }
}

BOOST_AUTO_TEST_CASE(connect_params_carry_the_probe_settings) {
  std::string err;
  auto info = parseConnInfo(
      "host=h user=mon password=" + kCanary + " application_name=theirs options='-c work_mem=1MB'",
      &err);
  BOOST_TEST_REQUIRE(info.has_value());
  ConnectParams p = buildConnectParams(*info, "pgvigil", 3, 2500);
  BOOST_TEST(p.keys.size() == p.values.size());
  BOOST_TEST(param(p, "application_name") == "pgvigil");
  BOOST_TEST(param(p, "connect_timeout") == "3");
  BOOST_TEST(param(p, "options") == "-c work_mem=1MB -c statement_timeout=2500");
  BOOST_TEST(param(p, "host") == "h");
  BOOST_TEST(param(p, "password") == kCanary);  // libpq needs it; it is never printed
  int names = 0;
  for (const auto& k : p.keys) names += k == "application_name";
  BOOST_TEST(names == 1);

  auto bare = parseConnInfo("host=h", &err);
  ConnectParams q = buildConnectParams(*bare, "pgvigil", 0, 0);
  BOOST_TEST(param(q, "connect_timeout") == "2");  // 0 would mean forever, 1 means 2 anyway
  BOOST_TEST(param(q, "options") == "<absent>");
  ConnectParams r = buildConnectParams(*info, "", 1, 0);
  BOOST_TEST(param(r, "application_name") == "theirs");
}

BOOST_AUTO_TEST_CASE(test_GssEncryptionOnlyWhenAskedFor) {
  std::string err;
  auto bare = parseConnInfo("host=h", &err);
  BOOST_TEST(param(buildConnectParams(*bare, "p", 3, 0, Env::none()), "gssencmode") == "disable");
  // The user's choice stands: in the conninfo, through a service file, or in the environment.
  auto asked = parseConnInfo("host=h gssencmode=require", &err);
  BOOST_TEST(param(buildConnectParams(*asked, "p", 3, 0, Env::none()), "gssencmode") == "require");
  auto service = parseConnInfo("service=prod", &err);
  BOOST_TEST(param(buildConnectParams(*service, "p", 3, 0, Env::none()), "gssencmode") ==
             "<absent>");
  BOOST_TEST(param(buildConnectParams(*bare, "p", 3, 0, Env::fromMap({{"PGGSSENCMODE", "prefer"}})),
                   "gssencmode") == "<absent>");
  BOOST_TEST(param(buildConnectParams(*bare, "p", 3, 0, Env::fromMap({{"PGSERVICE", "prod"}})),
                   "gssencmode") == "<absent>");
}

BOOST_AUTO_TEST_SUITE_END()
