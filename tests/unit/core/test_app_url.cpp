// Application URLs (issue 11) as a table: Prisma, JDBC, node-postgres, percent-encoded passwords,
// IPv6 and unix-socket hosts, each to the conninfo the probe gets, the parameters it drops and
// the errors; then the same through the loader and `config show`, and the structured fields.
// A canary password is in every input and must never come out of an error or `config show`.
#include <boost/test/unit_test.hpp>

#include "core/app_url.h"
#include "core/config_loader.h"

using namespace pgvigil;

namespace {

const std::string kCanary = "Canary-u7Rl-2b9";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "|") + s;
  return out;
}

std::string ignoredOf(const AppUrl& u) {
  std::string out;
  for (const auto& p : u.ignored) out += (out.empty() ? "" : "|") + p.name + "=" + p.owner;
  return out;
}

struct UrlCase {
  std::string in;
  std::string conninfo;  ///< expected when there are no errors
  std::string ignored;   ///< name=owner|...
  std::string error;     ///< a substring of the joined errors; "" for none
};

std::string pw() {
  return kCanary;
}

LoadResult load(const std::string& target, const Env& env = Env::none()) {
  return loadConfigString("targets:\n  - name: app\n" + target, "t.yaml", env);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(app_url)

BOOST_AUTO_TEST_CASE(application_urls_as_a_table) {
  const std::vector<UrlCase> cases = {
      // Prisma: its own parameters dropped, libpq's (sslmode, connect_timeout) kept.
      {"postgresql://app:" + pw() +
           "@localhost:5432/booking?schema=public&connection_limit=5"
           "&pool_timeout=10&sslmode=require&pgbouncer=true",
       "postgresql://app:" + pw() + "@localhost:5432/booking?sslmode=require",
       "schema=Prisma|connection_limit=Prisma|pool_timeout=Prisma|pgbouncer=Prisma", ""},
      {"postgres://app:" + pw() +
           "@db/app?connect_timeout=5&socket_timeout=3"
           "&statement_cache_size=0&sslaccept=accept_invalid_certs",
       "postgres://app:" + pw() + "@db/app?connect_timeout=5",
       "socket_timeout=Prisma|statement_cache_size=Prisma|sslaccept=Prisma", ""},
      // JDBC: the prefix goes; ssl=true is libpq's own (sslmode=require); its params dropped.
      {"jdbc:postgresql://db:5433/app?user=app&password=" + pw() +
           "&ssl=true&loginTimeout=10&currentSchema=booking",
       "postgresql://db:5433/app?user=app&password=" + pw() + "&ssl=true",
       "loginTimeout=JDBC|currentSchema=JDBC", ""},
      {"JDBC:postgresql://db/app?ApplicationName=x&password=" + pw(),
       "postgresql://db/app?password=" + pw(), "ApplicationName=JDBC", ""},
      // node-postgres: ssl=false is not libpq's; dropped and named, like its pool settings.
      {"postgres://u:" + pw() + "@h/app?ssl=false&max=20&idleTimeoutMillis=30000",
       "postgres://u:" + pw() + "@h/app",
       "ssl=JDBC, node-postgres|max=node-postgres|"
       "idleTimeoutMillis=node-postgres",
       ""},
      // Percent-encoded password and parameter names: names decoded for matching, the URL kept.
      {"postgresql://app:p%40ss" + pw() + "@h/app?sch%65ma=public",
       "postgresql://app:p%40ss" + pw() + "@h/app", "schema=Prisma", ""},
      // IPv6 and unix-socket hosts pass through untouched.
      {"postgresql://app:" + pw() + "@[::1]:5432/app?pool_timeout=3",
       "postgresql://app:" + pw() + "@[::1]:5432/app", "pool_timeout=Prisma", ""},
      {"postgresql://app:" + pw() + "@%2Fvar%2Frun%2Fpostgresql/app",
       "postgresql://app:" + pw() + "@%2Fvar%2Frun%2Fpostgresql/app", "", ""},
      {"postgresql://app:" + pw() + "@localhost/app?host=/tmp&schema=s",
       "postgresql://app:" + pw() + "@localhost/app?host=/tmp", "schema=Prisma", ""},
      // No query at all.
      {"postgresql://h/app", "postgresql://h/app", "", ""},
      // Unknown parameters are errors that name the parameter, never its value.
      {"postgresql://app:" + pw() + "@h/app?schemma=" + pw(), "", "",
       "unknown URL parameter 'schemma'"},
      {"postgresql://h/app?sslmdoe=require&password=" + pw(), "", "",
       "unknown URL parameter 'sslmdoe': neither a libpq keyword nor one Prisma, JDBC or "
       "node-postgres uses; did you mean 'sslmode'?"},
      {"postgresql://h/app?" + pw(), "", "", "URL parameter 1 has no '='"},
      {"postgresql://h/app?a%ZZ=1", "", "", "URL parameter 1 has a name that is not a plain word"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.in) {
      AppUrl u = normalizeAppUrl(c.in);
      BOOST_TEST(u.is_url);
      if (c.error.empty()) {
        BOOST_TEST(u.ok(), join(u.errors));
        BOOST_TEST(u.conninfo == c.conninfo);
        BOOST_TEST(ignoredOf(u) == c.ignored);
      } else {
        BOOST_TEST(contains(join(u.errors), c.error), join(u.errors));
        BOOST_TEST(!contains(join(u.errors), kCanary));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(keyword_strings_are_not_urls) {
  AppUrl u = normalizeAppUrl("host=h password=" + kCanary);
  BOOST_TEST(!u.is_url);
  BOOST_TEST(u.ok());
  BOOST_TEST(u.conninfo == "host=h password=" + kCanary);
}

BOOST_AUTO_TEST_CASE(url_and_conninfo_urls_through_the_loader_and_config_show) {
  Env env = Env::fromMap({{"DATABASE_URL", "postgresql://app:" + kCanary +
                                               "@localhost:5432/booking?schema=public"
                                               "&connection_limit=5&sslmode=require"}});
  for (const std::string key : {"url", "conninfo"}) {
    BOOST_TEST_CONTEXT(key) {
      auto r = load("    " + key + ": ${DATABASE_URL}\n", env);
      BOOST_TEST_REQUIRE(r.ok(), formatErrors(r.errors));
      const TargetConfig& t = r.config->targets[0];
      BOOST_TEST(t.conninfo ==
                 "postgresql://app:" + kCanary + "@localhost:5432/booking?sslmode=require");
      BOOST_TEST(t.ignored_params.size() == 2u);
      std::string shown = renderEffectiveConfig(*r.config);
      BOOST_TEST(!contains(shown, kCanary), shown);
      BOOST_TEST(contains(shown, "# URL parameter 'schema' ignored: used by Prisma"), shown);
      BOOST_TEST(contains(shown, "# URL parameter 'connection_limit' ignored: used by Prisma"));
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_url_parameters_are_errors_at_the_value) {
  auto r = load("    url: \"postgresql://app:" + kCanary + "@h/app?colour=" + kCanary + "\"\n");
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].toString() ==
             "t.yaml:3:10: targets[0].url: unknown URL parameter 'colour': neither a libpq "
             "keyword nor one Prisma, JDBC or node-postgres uses");
  auto notUrl = load("    url: host=h\n");
  BOOST_TEST_REQUIRE(notUrl.errors.size() == 1u);
  BOOST_TEST(contains(notUrl.errors[0].toString(), "t.yaml:3:10: targets[0].url: expected a URL"));
}

BOOST_AUTO_TEST_CASE(structured_fields_build_a_quoted_conninfo) {
  Env env = Env::fromMap({{"DB_HOST", "db.example"},
                          {"DB_PORT", "5433"},
                          {"DB_PASSWORD", "it's a " + kCanary + "\\x"}});
  auto r = load(
      "    host: ${DB_HOST}\n    port: ${DB_PORT}\n    dbname: my db\n    user: app\n"
      "    password: ${DB_PASSWORD}\n",
      env);
  BOOST_TEST_REQUIRE(r.ok(), formatErrors(r.errors));
  const TargetConfig& t = r.config->targets[0];
  BOOST_TEST(t.conninfo ==
             "host='db.example' port='5433' dbname='my db' user='app' "
             "password='it\\'s a " +
                 kCanary + "\\\\x'");
  std::string shown = renderEffectiveConfig(*r.config);
  BOOST_TEST(!contains(shown, kCanary), shown);
  BOOST_TEST(contains(shown, "password: \"*****\""), shown);
  BOOST_TEST(contains(shown, "host: \"db.example\"  # env DB_HOST"), shown);
  BOOST_TEST(!contains(shown, "    conninfo:"), shown);  // built, shown as a comment
  BOOST_TEST(contains(shown, "# the probe's conninfo: host='db.example'"), shown);
  // What config show prints loads back (secrets masked) to the same form.
  auto back = loadConfigString(shown, "shown.yaml", Env::none());
  BOOST_TEST(back.ok(), formatErrors(back.errors));
}

BOOST_AUTO_TEST_CASE(structured_field_errors_name_the_variable) {
  Env env = Env::fromMap({{"DB_PORT", ""}, {"DB_PASSWORD", kCanary}, {"DB_NAME", "app\r"}});
  auto r = load(
      "    host: h\n    port: ${DB_PORT}\n    dbname: ${DB_NAME}\n"
      "    password: ${DB_PASSWORD}\n",
      env);
  std::string all = formatErrors(r.errors);
  BOOST_TEST(!r.ok());
  BOOST_TEST(contains(all, "t.yaml:4:11: targets[0].port: DB_PORT is set but empty"), all);
  BOOST_TEST(contains(all, "t.yaml:5:13: targets[0].dbname: contains a control character"), all);
  BOOST_TEST(!contains(all, kCanary), all);
  auto badPort = load("    host: h\n    port: 54x\n");
  BOOST_TEST(contains(formatErrors(badPort.errors), "targets[0].port: expected a port number"));
  auto both = load("    conninfo: host=h\n    url: postgresql://h/app\n");
  BOOST_TEST(contains(formatErrors(both.errors),
                      "t.yaml:4:10: targets[0].url: give the connection one way: conninfo, url, "
                      "or host/port/dbname/user/password, not conninfo and url"),
             formatErrors(both.errors));
  auto mixed = load("    url: postgresql://h/app\n    password: x\n");
  BOOST_TEST(contains(formatErrors(mixed.errors), "not url and password"));
}

BOOST_AUTO_TEST_CASE(ignored_parameters_are_described) {
  BOOST_TEST(describeIgnored({{"schema", "Prisma"}}) ==
             std::vector<std::string>{"URL parameter 'schema' ignored: used by Prisma"});
}

BOOST_AUTO_TEST_SUITE_END()
