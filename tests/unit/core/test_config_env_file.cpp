// The top-level env_file: key: .env variables for ${VAR}, files in order with earlier files
// winning, the process environment over every file, and errors at FILE:LINE:COL without values.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/config_loader.h"
#include "temp_dir.h"

using namespace pgvigil;
using pgvigil::testing::TempDir;

namespace {

const char* kTargets =
    "targets:\n"
    "  - name: app\n"
    "    conninfo: \"host=${DB_HOST} port=${DB_PORT} dbname=${DB_NAME} password=${DB_PASSWORD}\"\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(config_env_file)

BOOST_AUTO_TEST_CASE(one_file_relative_to_the_config_with_crlf_and_quotes) {
  TempDir dir("pgvigil-envfile-test-");
  dir.write(".env",
            "# app\r\nexport DB_HOST=db.internal\r\nDB_PORT=6432 # pgbouncer\r\n"
            "DB_NAME=\"booking\"\r\nDB_PASSWORD='p w'\r\n");
  auto cfg = dir.write("pgvigil.yaml", std::string("env_file: .env\n") + kTargets);
  LoadResult r = loadConfigFile(cfg, Env::none());
  BOOST_TEST_REQUIRE(r.ok(), formatErrors(r.errors));
  BOOST_TEST(r.config->targets[0].conninfo ==
             "host=db.internal port=6432 dbname=booking password=p w");
}

BOOST_AUTO_TEST_CASE(earlier_files_win_and_the_process_environment_wins_over_all) {
  TempDir dir("pgvigil-envfile-test-");
  dir.write("a.env", "DB_HOST=from-a\nDB_PORT=1111\nDB_PORT=5432\n");  // last in a file wins
  dir.write("b.env", "DB_HOST=from-b\nDB_NAME=from-b\nDB_PASSWORD=x\n");
  // env_file stands after targets: it still serves every ${VAR}.
  auto cfg = dir.write("c.yaml", std::string(kTargets) + "env_file: [a.env, b.env]\n");
  LoadResult r = loadConfigFile(cfg, Env::fromMap({{"DB_NAME", "from-process"}}));
  BOOST_TEST_REQUIRE(r.ok(), formatErrors(r.errors));
  BOOST_TEST(r.config->targets[0].conninfo ==
             "host=from-a port=5432 dbname=from-process password=x");
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_an_error_at_its_position_naming_the_path) {
  TempDir dir("pgvigil-envfile-test-");
  dir.write("a.env", "DB_HOST=h\nDB_PORT=1\nDB_NAME=n\nDB_PASSWORD=x\n");
  auto cfg = dir.write("c.yaml", std::string("env_file:\n  - a.env\n  - missing.env\n") + kTargets);
  LoadResult r = loadConfigFile(cfg, Env::none());
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(r.errors[0].line == 3);
  BOOST_TEST(r.errors[0].column == 5);
  BOOST_TEST(r.errors[0].message.find((dir.path / "missing.env").string()) != std::string::npos,
             r.errors[0].message);
  BOOST_TEST(r.errors[0].toString().find(cfg + ":3:5: env_file: cannot read") == 0u);
}

BOOST_AUTO_TEST_CASE(malformed_lines_name_file_and_line_and_never_the_secret) {
  TempDir dir("pgvigil-envfile-test-");
  const std::string canary = "Canary-Pw-90211";
  dir.write(".env",
            "DB_HOST=h\nDB_PORT=1\nDB_NAME=n\r\nDB_PASSWORD=\"" + canary + "\n" + canary + "\n");
  auto cfg = dir.write("c.yaml", std::string("env_file: .env\n") + kTargets);
  LoadResult r = loadConfigFile(cfg, Env::none());
  BOOST_TEST_REQUIRE(!r.ok());
  const std::string all = formatErrors(r.errors);
  BOOST_TEST(all.find((dir.path / ".env").string() + ":4: ") != std::string::npos, all);
  BOOST_TEST(all.find(canary) == std::string::npos, all);
}

BOOST_AUTO_TEST_CASE(shapes_that_are_not_paths) {
  for (const char* bad : {"env_file: []\n", "env_file: {a: b}\n", "env_file:\n"}) {
    LoadResult r = loadConfigString(
        std::string(bad) + kTargets, "t.yaml",
        Env::fromMap({{"DB_HOST", "h"}, {"DB_PORT", "1"}, {"DB_NAME", "n"}, {"DB_PASSWORD", "p"}}));
    BOOST_TEST(!r.ok(), bad);
    BOOST_TEST(formatErrors(r.errors).find("t.yaml:1:") == 0u, formatErrors(r.errors));
  }
}

BOOST_AUTO_TEST_SUITE_END()
