// `pgvigil diagnose --env-dir DIR` against a real PostgreSQL: an application folder whose `.env`
// names a wrong port and whose `.env.local` (saved with CRLF, a Prisma URL) names the right one.
// The report names .env.local as the winner, the diagnosis passes, the server is recognised as a
// configured target, and the canary password appears in no output (text or JSON).
#define BOOST_TEST_MODULE test_diagnose_env_dir
#include <boost/test/unit_test.hpp>

#include "check_support.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;

namespace {

const std::string kCanary = "Canary-EnvDir-Pw-4417";

std::string url(int port, const std::string& query = "") {
  return "postgresql://pgvigil:" + kCanary + "@127.0.0.1:" + std::to_string(port) + "/postgres" +
         query;
}

}  // namespace

BOOST_AUTO_TEST_CASE(env_local_wins_over_env_and_is_diagnosed) {
  PgCluster pg({.password = kCanary});
  TempDir app;
  const int wrong = pg.port() + 1;
  app.write(".env",
            "# committed defaults\nDATABASE_URL=" + url(wrong) + "\nDB_PASSWORD=" + kCanary + "\n");
  app.write(".env.local", "# local override, saved on Windows\r\nDATABASE_URL=\"" +
                              url(pg.port(), "?schema=public&connection_limit=5") + "\"\r\n");

  Run r = runPgvigil({"diagnose", "--env-dir", app.path()});
  BOOST_TEST_INFO(r.all());
  BOOST_TEST(r.code == 0);
  BOOST_TEST(contains(r.out, "wins   .env.local:2"));
  BOOST_TEST(contains(r.out, "hidden .env:2"));
  BOOST_TEST(contains(r.out, "DATABASE_URL (files disagree)"));
  BOOST_TEST(contains(r.out, "diagnosing DATABASE_URL from .env.local (NODE_ENV=development)"));
  BOOST_TEST(contains(r.out,
                      "ignored for the probe (used by the application's driver, e.g. "
                      "Prisma): schema connection_limit"));
  BOOST_TEST(contains(r.out, "pgvigil:*****@127.0.0.1:" + std::to_string(pg.port())));
  BOOST_TEST(!contains(r.all(), kCanary));
  BOOST_TEST(!contains(r.all(), "\r"));

  // With the agent's config: the same server under another spelling is recognised.
  const std::string same =
      app.write("same.yaml",
                configYaml(targetYaml("main", "host=localhost port=" + std::to_string(pg.port()) +
                                                  " dbname=postgres user=pgvigil")));
  r = runPgvigil({"diagnose", "--env-dir", app.path(), "-c", same});
  BOOST_TEST_INFO(r.all());
  BOOST_TEST(r.code == 0);
  BOOST_TEST(contains(r.out, "this is target 'main' of " + same));
  const std::string other =
      app.write("other.yaml",
                configYaml(targetYaml("elsewhere", "host=127.0.0.1 port=" + std::to_string(wrong) +
                                                       " dbname=postgres")));
  r = runPgvigil({"diagnose", "--env-dir", app.path(), "-c", other});
  BOOST_TEST(contains(r.out, "NOT one of the targets"));
  BOOST_TEST(!contains(r.all(), kCanary));

  // JSON: one document, the source in the config step, no password.
  r = runPgvigil({"diagnose", "--env-dir", app.path(), "--format", "json"});
  BOOST_TEST_INFO(r.all());
  BOOST_TEST(r.code == 0);
  BOOST_TEST(contains(r.out, "DATABASE_URL from .env.local"));
  BOOST_CHECK_NO_THROW(parseJson(r.out));
  BOOST_TEST(!contains(r.all(), kCanary));
}

BOOST_AUTO_TEST_CASE(node_env_test_skips_env_local_and_the_process_environment_wins) {
  PgCluster pg({.password = kCanary});
  TempDir app;
  const int wrong = pg.port() + 1;
  app.write(".env", "DATABASE_URL=" + url(wrong) + "\n");
  app.write(".env.local", "DATABASE_URL=" + url(pg.port()) + "\r\n");

  // NODE_ENV=test: .env.local is not read, .env's wrong port wins and diagnose fails on it.
  Run r = runPgvigil({"diagnose", "--env-dir", app.path()}, {"NODE_ENV=test"});
  BOOST_TEST_INFO(r.all());
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.out, "wins   .env:1"));
  BOOST_TEST(contains(r.out, "port " + std::to_string(wrong)));
  BOOST_TEST(!contains(r.all(), kCanary));

  // The process environment wins over every file.
  r = runPgvigil({"diagnose", "--env-dir", app.path()},
                 {"NODE_ENV=test", "DATABASE_URL=" + url(pg.port())});
  BOOST_TEST_INFO(r.all());
  BOOST_TEST(r.code == 0);
  BOOST_TEST(contains(r.out, "wins   process environment"));
  BOOST_TEST(!contains(r.all(), kCanary));
}

BOOST_AUTO_TEST_CASE(a_folder_without_database_variables_is_a_config_failure) {
  TempDir app;
  app.write(".env", "NODE_OPTIONS=--max-old-space-size=4096\n");
  Run r = runPgvigil({"diagnose", "--env-dir", app.path()});
  BOOST_TEST_INFO(r.all());
  BOOST_TEST(r.code == 3);
  BOOST_TEST(contains(r.out, "no database variable in " + app.path()));
}
