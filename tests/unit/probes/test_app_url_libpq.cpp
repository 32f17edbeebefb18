// Application URLs (issue 11) judged by libpq itself: what core/app_url.h makes of Prisma, JDBC
// and node-postgres URLs parses with PQconninfoParse to the expected keywords; the core's list
// of libpq keywords covers this libpq's; libpq's own errors name the parameter, not the value.
#include <libpq-fe.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <map>
#include <memory>
#include <string>

#include "core/app_url.h"
#include "probes/conninfo.h"

using namespace pgvigil;

namespace {
const std::string kCanary = "Canary-Lq-51ee";

struct Expect {
  std::string url;
  std::map<std::string, std::string> params;  ///< a subset of what libpq parses
};
}  // namespace

BOOST_AUTO_TEST_SUITE(app_url_libpq)

BOOST_AUTO_TEST_CASE(the_core_knows_every_libpq_keyword) {
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> defaults(PQconndefaults(),
                                                                        &PQconninfoFree);
  BOOST_TEST_REQUIRE(defaults != nullptr);
  const auto& known = libpqKeywords();
  for (auto* o = defaults.get(); o->keyword; ++o)
    BOOST_TEST((std::find(known.begin(), known.end(), o->keyword) != known.end()), o->keyword);
}

BOOST_AUTO_TEST_CASE(normalised_application_urls_parse_with_libpq) {
  const std::vector<Expect> cases = {
      {"postgresql://app:" + kCanary +
           "@localhost:5432/booking?schema=public&connection_limit=5&pool_timeout=10"
           "&sslmode=require&pgbouncer=true",
       {{"host", "localhost"},
        {"port", "5432"},
        {"dbname", "booking"},
        {"user", "app"},
        {"password", kCanary},
        {"sslmode", "require"}}},
      {"jdbc:postgresql://db:5433/app?user=app&password=" + kCanary +
           "&ssl=true&loginTimeout=10&currentSchema=s",
       {{"host", "db"},
        {"port", "5433"},
        {"user", "app"},
        {"password", kCanary},
        {"sslmode", "require"}}},
      {"postgres://u:" + kCanary + "@h/app?ssl=false&max=20",
       {{"host", "h"}, {"user", "u"}, {"dbname", "app"}}},
      {"postgresql://app:p%40ss" + kCanary + "@h/app?schema=x", {{"password", "p@ss" + kCanary}}},
      {"postgresql://app:" + kCanary + "@[::1]:6432/app?pool_timeout=3",
       {{"host", "::1"}, {"port", "6432"}}},
      {"postgresql://app:" + kCanary + "@%2Fvar%2Frun%2Fpostgresql/app",
       {{"host", "/var/run/postgresql"}}},
      {"postgresql://app:" + kCanary + "@/app?host=/tmp&schema=s", {{"host", "/tmp"}}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.url) {
      AppUrl u = normalizeAppUrl(c.url);
      BOOST_TEST_REQUIRE(u.ok());
      std::string err;
      auto info = parseConnInfo(u.conninfo, &err);
      BOOST_TEST_REQUIRE(info.has_value(), err);
      for (const auto& [k, v] : c.params) BOOST_TEST(info->params[k] == v, k);
      const std::string red = redactConnInfo(u.conninfo);
      BOOST_TEST(red.find(kCanary) == std::string::npos, red);
    }
  }
}

BOOST_AUTO_TEST_CASE(libpq_uri_errors_name_the_parameter_and_mask_values) {
  std::string err;
  // The raw Prisma URL: libpq names the parameter it rejects (it was "*****").
  BOOST_TEST(!parseConnInfo("postgresql://app:" + kCanary + "@h/app?schema=public", &err));
  BOOST_TEST(err == "invalid URI query parameter: \"schema\"", err);
  err.clear();
  BOOST_TEST(!parseConnInfo("postgresql://h/app?password=" + kCanary + "&" + kCanary + "=1", &err));
  BOOST_TEST(err.find(kCanary) == std::string::npos, err);
  err.clear();
  BOOST_TEST(!parseConnInfo("postgresql://h/app?sslmode=%zz" + kCanary, &err));
  BOOST_TEST(err.find(kCanary) == std::string::npos, err);
}

BOOST_AUTO_TEST_SUITE_END()
