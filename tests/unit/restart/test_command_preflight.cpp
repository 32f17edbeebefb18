// The command restarter's preflight (issue 10): what would make the command fail to start is
// found by stat/access alone, before any restart is needed. Files in a scratch directory; no
// process is run.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "restart/command_preflight.h"
#include "unit/core/temp_dir.h"

using namespace pgvigil;
using pgvigil::testing::TempDir;

namespace {

std::string executable(TempDir& dir, const std::string& name) {
  std::string p = dir.write(name, "#!/bin/sh\nexit 0\n");
  ::chmod(p.c_str(), 0755);
  return p;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(command_preflight)

BOOST_AUTO_TEST_CASE(an_executable_by_path_is_fine) {
  TempDir dir;
  const std::string cmd = executable(dir, "restart-pg");
  RestartPathCheck c = checkCommandPath({cmd, "--now"}, "");
  BOOST_TEST(c.ok);
  BOOST_TEST(c.problem.empty());
}

BOOST_AUTO_TEST_CASE(a_missing_command_is_named) {
  TempDir dir;
  const std::string cmd = (dir.path / "nope").string();
  RestartPathCheck c = checkCommandPath({cmd}, "");
  BOOST_TEST(!c.ok);
  BOOST_TEST(c.problem == "command " + cmd + " does not exist");
}

BOOST_AUTO_TEST_CASE(a_file_without_the_execute_bit_is_not_executable) {
  // access(X_OK) fails for root too when no execute bit is set at all.
  TempDir dir;
  const std::string cmd = dir.write("restart-pg", "#!/bin/sh\nexit 0\n");
  ::chmod(cmd.c_str(), 0644);
  RestartPathCheck c = checkCommandPath({cmd}, "");
  BOOST_TEST(!c.ok);
  BOOST_TEST(has(c.problem, "is not executable by this user (uid"), c.problem);
}

BOOST_AUTO_TEST_CASE(a_directory_is_not_a_command) {
  TempDir dir;
  RestartPathCheck c = checkCommandPath({dir.path.string()}, "");
  BOOST_TEST(!c.ok);
  BOOST_TEST(has(c.problem, "is a directory"), c.problem);
}

BOOST_AUTO_TEST_CASE(a_bare_name_is_searched_in_path_as_posix_spawnp_does) {
  TempDir a;
  TempDir b;
  executable(b, "restart-pg");
  const std::string path = a.path.string() + ":" + b.path.string();
  BOOST_TEST(checkCommandPath({"restart-pg"}, path).ok);
  RestartPathCheck missing = checkCommandPath({"no-such-restart-command"}, path);
  BOOST_TEST(!missing.ok);
  BOOST_TEST(missing.problem ==
             "command 'no-such-restart-command' not found in PATH (" + path + ")");
  // Found only without the execute bit: that is what is said, not "not found".
  const std::string plain = a.write("plain-pg", "#!/bin/sh\n");
  ::chmod(plain.c_str(), 0644);
  RestartPathCheck notExec = checkCommandPath({"plain-pg"}, path);
  BOOST_TEST(!notExec.ok);
  BOOST_TEST(has(notExec.problem, plain + " is not executable"), notExec.problem);
}

BOOST_AUTO_TEST_CASE(pg_restart_is_recognised_and_its_data_directory_checked) {
  TempDir dir;
  const std::string script = executable(dir, "pg-restart");
  std::filesystem::create_directories(dir.path / "data");
  const std::string pgdata = (dir.path / "data").string();
  BOOST_TEST(checkCommandPath({script, "--fast-timeout", "5", pgdata, "-l", "/tmp/x.log"}, "").ok);

  const std::string gone = (dir.path / "gone").string();
  RestartPathCheck c = checkCommandPath({script, "--start-timeout", "30", gone}, "");
  BOOST_TEST(!c.ok);
  BOOST_TEST(c.problem == "data directory " + gone + " (pg-restart's PGDATA) does not exist");

  RestartPathCheck none = checkCommandPath({script, "--kill-timeout", "3"}, "");
  BOOST_TEST(!none.ok);
  BOOST_TEST(has(none.problem, "no data directory"), none.problem);

  const std::string file = dir.write("afile", "x");
  RestartPathCheck notDir = checkCommandPath({script, file}, "");
  BOOST_TEST(!notDir.ok);
  BOOST_TEST(has(notDir.problem, "is not a directory"), notDir.problem);

  // Another command's arguments are its own business.
  const std::string other = executable(dir, "my-restart");
  BOOST_TEST(checkCommandPath({other, gone}, "").ok);
}

BOOST_AUTO_TEST_CASE(pg_restart_data_directory_skips_options_and_their_values) {
  BOOST_TEST(pgRestartDataDirectory({"pg-restart", "/d"}) == "/d");
  BOOST_TEST(pgRestartDataDirectory({"pg-restart", "--fast-timeout", "5", "--immediate-timeout",
                                     "2", "--kill-timeout", "1", "--start-timeout", "9", "/d", "-l",
                                     "log"}) == "/d");
  BOOST_TEST(pgRestartDataDirectory({"pg-restart"}).empty());
}

BOOST_AUTO_TEST_CASE(no_command_is_a_problem_not_a_crash) {
  BOOST_TEST(!checkCommandPath({}, "").ok);
  BOOST_TEST(!checkCommandPath({""}, "/bin").ok);
}

BOOST_AUTO_TEST_SUITE_END()
