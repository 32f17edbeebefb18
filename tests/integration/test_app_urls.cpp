// Issue 11 through the real binary against a real PostgreSQL (password auth): every connection
// shape an application gives — a Prisma, JDBC or node-postgres URL in url: or conninfo:, the
// structured fields with a password holding a space, a quote and a backslash, an empty
// ${DB_PORT} spliced into a keyword conninfo, an unknown URL parameter — through
// `config validate`, `config show`, `check` (text and JSON) and `diagnose`. The password is a
// canary that must never come out; the valid shapes must really connect (check exits 0).
#define BOOST_TEST_MODULE test_app_urls
#include <boost/test/unit_test.hpp>

#include "check_support.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;

namespace {

const std::string kCanary = "Cn7Qx3Lp";
/// The real password of the pgvigil role: a space, a quote and a backslash after the canary.
const std::string kPassword = kCanary + " it's \\ok";
/// The same, percent-encoded for a URL.
const std::string kEncoded = kCanary + "%20it%27s%20%5Cok";

struct Shape {
  std::string name;
  std::string target;  ///< the target's keys after name:, indented by 4
  std::vector<std::string> env;
  bool valid;                     ///< config validate passes and check exits 0
  std::string validateSays;       ///< a substring of validate's output ("" for none)
  std::string checkSays = {};     ///< a substring of check's text output ("" for none)
  std::string jsonConninfo = {};  ///< a substring of check --format json's conninfo field
};

/// runPgvigil, except that "NAME=" sets NAME to the empty string (runPgvigil unsets it): the
/// binary runs under env(1), which sets it empty.
Run runWithEmpty(std::vector<std::string> args, const std::vector<std::string>& env) {
  std::vector<std::string> set, empty;
  for (const auto& e : env) (e.back() == '=' ? empty : set).push_back(e);
  if (empty.empty()) return runPgvigil(args, set);
  std::vector<std::string> e = {"PGVIGIL_CONFIG=", "PGPASSWORD=", "PGHOST=",    "PGPORT=",
                                "PGUSER=",         "PGDATABASE=", "PGSSLMODE=", "PGPASSFILE="};
  e.insert(e.end(), set.begin(), set.end());
  empty.push_back(pgvigilBinary());
  args.insert(args.begin(), empty.begin(), empty.end());
  AgentProcess p({.binary = "/usr/bin/env", .args = args, .env = e});
  Run r;
  auto code = p.wait(std::chrono::seconds(30));
  if (!code) throw std::runtime_error("pgvigil did not finish in time:\n" + p.output());
  r.code = *code;
  p.waitForLine([](const std::string&) { return false; }, std::chrono::seconds(2));
  for (const auto& l : p.lines())
    (l.stream == OutputLine::Stream::kStdout ? r.out : r.err) += l.text + "\n";
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(app_urls)

BOOST_AUTO_TEST_CASE(every_shape_through_every_command_never_shows_the_password) {
  PgClusterOptions options;
  options.password = kPassword;  // the fixture escapes it for SQL and its own conninfo
  PgCluster pg(options);
  const std::string port = std::to_string(pg.port());
  const std::string hostPort = "127.0.0.1:" + port;

  const std::vector<Shape> shapes = {
      {"structured",
       "    host: 127.0.0.1\n    port: ${DB_PORT}\n    dbname: postgres\n    user: pgvigil\n"
       "    password: ${DB_PASSWORD}\n",
       {"DB_PORT=" + port, "DB_PASSWORD=" + kPassword},
       true,
       "OK"},
      {"prisma",
       "    url: ${DATABASE_URL}\n",
       {"DATABASE_URL=postgresql://pgvigil:" + kEncoded + "@" + hostPort +
        "/postgres?schema=public&connection_limit=5&pool_timeout=10&pgbouncer=true"
        "&sslmode=disable"},
       true,
       "URL parameter 'pgbouncer' ignored: used by Prisma"},
      {"prisma-in-conninfo",
       "    conninfo: ${DATABASE_URL}\n",
       {"DATABASE_URL=postgresql://pgvigil:" + kEncoded + "@" + hostPort +
        "/postgres?schema=public&statement_cache_size=0"},
       true,
       "URL parameter 'statement_cache_size' ignored: used by Prisma"},
      {"jdbc",
       "    url: ${JDBC_URL}\n",
       {"JDBC_URL=jdbc:postgresql://" + hostPort + "/postgres?user=pgvigil&password=" + kEncoded +
        "&loginTimeout=10&currentSchema=public"},
       true,
       "URL parameter 'loginTimeout' ignored: used by JDBC"},
      {"node-postgres",
       "    url: ${DATABASE_URL}\n",
       {"DATABASE_URL=postgres://pgvigil:" + kEncoded + "@" + hostPort +
        "/postgres?ssl=false&max=20&idleTimeoutMillis=30000"},
       true,
       "URL parameter 'max' ignored: used by node-postgres"},
      {"empty-port-splice",
       "    conninfo: \"host=127.0.0.1 port=${DB_PORT} dbname=postgres user=pgvigil "
       "password=${DB_PASSWORD}\"\n",
       {"DB_PORT=", "DB_PASSWORD=" + kCanary},
       false,
       ""},
      {"empty-port-structured",
       "    host: 127.0.0.1\n    port: ${DB_PORT}\n    user: pgvigil\n"
       "    password: ${DB_PASSWORD}\n",
       {"DB_PORT=", "DB_PASSWORD=" + kPassword},
       false,
       "targets[0].port: DB_PORT is set but empty"},
      {"unknown-parameter",
       "    url: ${DATABASE_URL}\n",
       {"DATABASE_URL=postgresql://pgvigil:" + kEncoded + "@" + hostPort +
        "/postgres?colour=" + kCanary},
       false,
       "unknown URL parameter 'colour'"},
      // libpq parse failures: keywords and parameter names shown, every value masked.
      {"bad-option-name",
       "    conninfo: \"host=127.0.0.1 port=" + port +
           " dbname=postgres user=pgvigil colour=blue password=${DB_PASSWORD}\"\n",
       {"DB_PASSWORD=" + kCanary},
       false,
       "invalid connection option \"colour\"",
       "invalid connection option \"colour\"",
       "colour=*****"},
      {"spliced-password-word",
       "    conninfo: \"host=127.0.0.1 port=" + port +
           " dbname=postgres user=pgvigil password=${DB_PASSWORD}\"\n",
       {"DB_PASSWORD=x " + kCanary + "=1"},
       false,
       ""},
      {"uri-bad-parameter-in-conninfo",
       "    conninfo: \"postgresql://pgvigil:" + kEncoded + "@" + hostPort +
           "/postgres?colour=" + kCanary + "\"\n",
       {},
       false,
       "invalid URI query parameter: \"colour\"",
       "invalid URI query parameter: \"colour\"",
       "postgresql://*****?colour=*****"},
      {"unterminated-quote",
       "    conninfo: \"host=127.0.0.1 port=" + port + " user=pgvigil password='" + kCanary +
           "\"\n",
       {},
       false,
       "unterminated quoted string",
       "unterminated quoted string",
       "host=***** port=***** user=***** password=*****"},
  };

  TempDir tmp;
  for (const auto& s : shapes) {
    BOOST_TEST_CONTEXT(s.name) {
      const std::string config =
          tmp.write(s.name + ".yaml", configYaml("  - name: main\n" + s.target));
      Run validate = runWithEmpty({"config", "validate", "-c", config}, s.env);
      Run show = runWithEmpty({"config", "show", "-c", config}, s.env);
      Run check = runWithEmpty({"check", "-c", config}, s.env);
      Run json = runWithEmpty({"check", "-c", config, "--format", "json"}, s.env);
      Run diag = runWithEmpty({"diagnose", "-c", config}, s.env);
      Run djson = runWithEmpty({"diagnose", "-c", config, "--format", "json"}, s.env);
      for (const Run* r : {&validate, &show, &check, &json, &diag, &djson}) {
        BOOST_TEST_INFO(r->all());
        BOOST_TEST(!contains(r->all(), kCanary));
      }
      if (!s.validateSays.empty()) {
        BOOST_TEST_INFO(validate.all());
        BOOST_TEST(contains(validate.all(), s.validateSays));
      }
      if (!s.checkSays.empty()) {
        BOOST_TEST_INFO(check.all());
        BOOST_TEST(contains(check.all(), s.checkSays));
      }
      if (!s.jsonConninfo.empty()) {
        BOOST_TEST_INFO(json.all());
        auto target = parseJson(json.out)->getArray("targets")->getObject(0);
        BOOST_TEST(contains(target->getValue<std::string>("conninfo"), s.jsonConninfo));
      }
      BOOST_TEST_INFO(validate.all() + check.all());
      BOOST_TEST((validate.code == 0) == s.valid);
      BOOST_TEST((check.code == 0) == s.valid);
      if (s.valid) {
        BOOST_TEST(json.code == 0);
        BOOST_TEST(diag.code == 0);
        if (!contains(s.target, "conninfo:"))  // built from url: or the fields
          BOOST_TEST(contains(show.out, "# the probe's conninfo:"));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(diagnose_takes_an_application_url_as_is) {
  PgClusterOptions options;
  options.password = kPassword;
  PgCluster pg(options);
  const std::string url = "postgresql://pgvigil:" + kEncoded +
                          "@127.0.0.1:" + std::to_string(pg.port()) +
                          "/postgres?schema=public&connection_limit=5&sslmode=disable";
  Run diag = runPgvigil({"diagnose", "--conninfo", url});
  BOOST_TEST_INFO(diag.all());
  BOOST_TEST(diag.code == 0);
  BOOST_TEST(!contains(diag.all(), kCanary));
  Run jdbc = runPgvigil({"diagnose", "--conninfo",
                         "jdbc:postgresql://127.0.0.1:" + std::to_string(pg.port()) +
                             "/postgres?user=pgvigil&password=" + kEncoded + "&loginTimeout=5"});
  BOOST_TEST_INFO(jdbc.all());
  BOOST_TEST(jdbc.code == 0);
  BOOST_TEST(!contains(jdbc.all(), kCanary));
}

BOOST_AUTO_TEST_CASE(env_dir_listing_in_json_without_a_password) {
  PgClusterOptions options;
  options.password = kPassword;
  PgCluster pg(options);
  const std::string hostPort = "127.0.0.1:" + std::to_string(pg.port());
  TempDir dir;
  dir.write(".env", "DATABASE_URL=postgresql://pgvigil:" + kCanary + "old@" + hostPort +
                        "/postgres\r\nDB_PASSWORD=\"" + kCanary + " x\"\r\n");
  dir.write(".env.local", "DATABASE_URL=\"postgresql://pgvigil:" + kEncoded + "@" + hostPort +
                              "/postgres?schema=public&connection_limit=5\"\n");
  for (const char* format : {"text", "json"}) {
    Run r = runPgvigil({"diagnose", "--env-dir", dir.path(), "--format", format});
    BOOST_TEST_INFO(r.all());
    BOOST_TEST(r.code == 0);
    BOOST_TEST(!contains(r.all(), kCanary));
    if (std::string(format) == "text") continue;
    auto target = parseJson(r.out)->getArray("targets")->getObject(0);
    auto envDir = target->getObject("env_dir");
    BOOST_REQUIRE(envDir);
    BOOST_TEST(envDir->getValue<std::string>("dir") == dir.path());
    BOOST_TEST(
        contains(envDir->getValue<std::string>("diagnosed"), "DATABASE_URL from .env.local"));
    auto ignored = envDir->getArray("ignored_parameters");
    BOOST_TEST(ignored->size() == 2u);
    auto vars = envDir->getArray("variables");
    bool sawUrl = false, sawPassword = false;
    for (size_t i = 0; i < vars->size(); ++i) {
      auto v = vars->getObject(i);
      auto sources = v->getArray("sources");
      if (v->getValue<std::string>("name") == "DATABASE_URL") {
        sawUrl = true;
        BOOST_TEST(v->getValue<bool>("conflict"));
        BOOST_REQUIRE(sources->size() == 2u);
        BOOST_TEST(sources->getObject(0)->getValue<std::string>("file") == ".env.local");
        BOOST_TEST(sources->getObject(0)->getValue<bool>("wins"));
        BOOST_TEST(sources->getObject(1)->getValue<std::string>("file") == ".env");
        BOOST_TEST(!sources->getObject(1)->getValue<bool>("wins"));
        BOOST_TEST(contains(sources->getObject(1)->getValue<std::string>("value"), "*****"));
      }
      if (v->getValue<std::string>("name") == "DB_PASSWORD") {
        sawPassword = true;
        BOOST_TEST(sources->getObject(0)->getValue<std::string>("value") == "*****");
      }
    }
    BOOST_TEST(sawUrl);
    BOOST_TEST(sawPassword);
  }
}

BOOST_AUTO_TEST_SUITE_END()
