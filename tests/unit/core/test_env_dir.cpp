// An application's .env folder: dotenv-flow / Next.js precedence, NODE_ENV, conflicts, CRLF.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/env_dir.h"
#include "temp_dir.h"

using namespace pgvigil;
using pgvigil::testing::TempDir;

namespace {}  // namespace

BOOST_AUTO_TEST_SUITE(env_dir)

BOOST_AUTO_TEST_CASE(file_order_per_node_env) {
  BOOST_TEST((envDirFileNames("development") ==
              std::vector<std::string>{".env.development.local", ".env.local", ".env.development",
                                       ".env"}));
  BOOST_TEST((envDirFileNames("test") ==
              std::vector<std::string>{".env.test.local", ".env.test", ".env"}));
}

BOOST_AUTO_TEST_CASE(which_names_are_database_variables) {
  for (const char* yes :
       {"DATABASE_URL", "POSTGRES_PRISMA_URL", "DIRECT_URL", "SHADOW_DATABASE_URL", "PGHOST",
        "PGPASSWORD", "DB_HOST", "DB_PASSWORD", "POSTGRES_PASSWORD"})
    BOOST_TEST(isDatabaseVariable(yes), yes);
  for (const char* no : {"NODE_ENV", "REDIS_URL", "PGvigil", "DB", "API_KEY"})
    BOOST_TEST(!isDatabaseVariable(no), no);
}

BOOST_AUTO_TEST_CASE(precedence_conflicts_and_the_process_environment) {
  TempDir f("pgvigil-envdir-test-");
  f.write(".env", "DATABASE_URL=postgresql://app:pw@localhost:5432/app\nDB_HOST=h1\nOTHER=x\n");
  f.write(".env.local",
          "DATABASE_URL=\"postgresql://app:pw@localhost:6543/app\"\r\nDB_HOST=h1\r\n");
  f.write(".env.development", "DB_PORT=1\n");
  f.write(".env.production", "DB_PORT=2\n");
  EnvDirReport r = readEnvDir(f.path.string(), Env::fromMap({{"DB_PORT", "7"}}));
  BOOST_TEST(r.node_env == "development");
  BOOST_TEST((r.found == std::vector<std::string>{".env.local", ".env.development", ".env"}));
  BOOST_TEST(r.errors.empty());
  const EnvDirVariable* url = r.find("DATABASE_URL");
  BOOST_TEST_REQUIRE(url != nullptr);
  BOOST_TEST(url->sources.size() == 2u);
  BOOST_TEST(url->sources[0].file == ".env.local");
  BOOST_TEST(url->sources[0].value == "postgresql://app:pw@localhost:6543/app");
  BOOST_TEST(url->conflict());
  BOOST_TEST(!r.find("DB_HOST")->conflict());
  BOOST_TEST(r.find("DB_PORT")->sources[0].file == std::string(kProcessEnvSource));
  BOOST_TEST(*r.value("DB_PORT") == "7");
  BOOST_TEST(r.find("OTHER") == nullptr);

  // NODE_ENV=test skips .env.local.
  r = readEnvDir(f.path.string(), Env::fromMap({{"NODE_ENV", "test"}}));
  BOOST_TEST(*r.value("DATABASE_URL") == "postgresql://app:pw@localhost:5432/app");
  // NODE_ENV=production reads .env.production.
  r = readEnvDir(f.path.string(), Env::fromMap({{"NODE_ENV", "production"}}));
  BOOST_TEST(*r.value("DB_PORT") == "2");
}

BOOST_AUTO_TEST_CASE(a_bad_line_is_named_by_file_and_line_only) {
  TempDir f("pgvigil-envdir-test-");
  f.write(".env", "DB_HOST=h\nDB_PASSWORD=\"Canary-Dir-551\n");
  EnvDirReport r = readEnvDir(f.path.string(), Env::none());
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].find(".env:2: ") == 0u);
  BOOST_TEST(r.errors[0].find("Canary") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
