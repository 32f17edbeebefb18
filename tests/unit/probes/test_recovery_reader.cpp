// readRecoveryProgress on a made-up /proc and data directory: the startup process found among the
// postmaster's children, a pid that is not this host's postgres (a container's), the server
// log's redo line, and nothing readable.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>

#include "probes/recovery_reader.h"
#include "unit/core/temp_dir.h"

using namespace pgvigil;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

struct World {
  testing::TempDir tmp;
  std::string data = (tmp.path / "data").string();
  fs::path proc = tmp.path / "proc";

  World() {
    fs::create_directories(data);
    fs::create_directories(proc);
  }
  void pidFile(const std::string& pid, const std::string& status) {
    tmp.write("data/postmaster.pid", pid + "\n" + data +
                                         "\n1733570000\n5432\n/tmp\n127.0.0.1\n  5432001  32769\n" +
                                         status + "\n");
  }
  void process(int pid, int ppid, const std::string& cmdline) {
    const std::string dir = "proc/" + std::to_string(pid);
    fs::create_directories(tmp.path / dir);
    tmp.write(dir + "/stat", std::to_string(pid) + " (postgres: x) S " + std::to_string(ppid) +
                                 " 1 1 0 -1 4194560");
    tmp.write(dir + "/cmdline", cmdline);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(recovery_reader)

BOOST_AUTO_TEST_CASE(the_startup_process_among_the_postmasters_children) {
  World w;
  w.pidFile("100", "standby");
  w.process(100, 1, "/usr/lib/postgresql/15/bin/postgres\0-D\0/data\0"s);
  w.process(101, 100, "postgres: checkpointer \0\0"s);
  w.process(102, 100, "postgres: startup recovering 0000000100000000000000A3\0\0\0"s);
  w.process(103, 100, "postgres: walreceiver streaming 0/A3000148"s);
  w.process(200, 1, "postgres: startup recovering 000000010000000000000001"s);  // another's
  const auto r = readRecoveryProgress({w.data, ""}, w.proc);
  BOOST_TEST(r.source == "startup_process");
  BOOST_TEST(r.value == "recovering 0000000100000000000000A3");
  BOOST_TEST(r.server_status == "standby");
  BOOST_TEST(r.problem.empty());
}

BOOST_AUTO_TEST_CASE(without_a_startup_process_the_pid_file_status) {
  World w;
  w.pidFile("100", "stopping");
  w.process(100, 1, "/usr/lib/postgresql/15/bin/postgres\0-D\0/data\0"s);
  const auto r = readRecoveryProgress({w.data, ""}, w.proc);
  BOOST_TEST(r.source == "postmaster_pid");
  BOOST_TEST(r.value == "stopping");
}

BOOST_AUTO_TEST_CASE(a_pid_that_is_not_this_hosts_postgres_is_not_believed) {
  World w;
  w.pidFile("1", "starting");  // written inside a container
  w.process(1, 0, "/sbin/init\0"s);
  w.process(5, 1, "postgres: startup recovering 000000010000000000000002"s);
  const auto r = readRecoveryProgress({w.data, ""}, w.proc);
  BOOST_TEST(!r.readable());
  BOOST_TEST(r.server_status == "starting");
  BOOST_TEST(r.problem.find("not a postgres process on this host") != std::string::npos, r.problem);
}

BOOST_AUTO_TEST_CASE(the_server_logs_redo_line_and_both_sources) {
  World w;
  w.pidFile("100", "starting");
  w.process(100, 1, "postgres\0-D\0/data\0"s);
  w.process(102, 100, "postgres: main: startup recovering 000000010000000000000007"s);
  const std::string log =
      w.tmp.write("postgres.log",
                  std::string(100 * 1024, 'x') +
                      "\nLOG:  redo in progress, elapsed time: 10.00 s, current LSN: 0/7001F28\n");
  auto r = readRecoveryProgress({w.data, log}, w.proc);
  BOOST_TEST(r.source == "startup_process,server_log");
  BOOST_TEST(r.value == "recovering 000000010000000000000007; 0/7001F28");
  r = readRecoveryProgress({"", log}, w.proc);
  BOOST_TEST(r.source == "server_log");
  BOOST_TEST(r.value == "0/7001F28");
}

BOOST_AUTO_TEST_CASE(nothing_readable_says_why) {
  World w;
  auto r = readRecoveryProgress({w.data, ""}, w.proc);
  BOOST_TEST(!r.readable());
  BOOST_TEST(r.problem.find("postmaster.pid") != std::string::npos, r.problem);
  r = readRecoveryProgress({"", ""}, w.proc);
  BOOST_TEST(r.problem.find("recovery.data_dir") != std::string::npos, r.problem);
  const std::string log = w.tmp.write("empty.log", "LOG:  database system is ready\n");
  r = readRecoveryProgress({"", log}, w.proc);
  BOOST_TEST(r.problem.find("redo in progress") != std::string::npos, r.problem);
}

// A data directory of mode 0700 owned by postgres (Debian's clusters): postmaster.pid cannot be
// read by the agent's user, but the postmaster's command line names the directory.
BOOST_AUTO_TEST_CASE(without_the_pid_file_the_postmaster_is_found_by_its_command_line) {
  World w;
  w.process(300, 1, "/usr/bin/bash\0-c\0postgres -D "s + w.data + "\0"s);
  w.process(100, 1,
            "/usr/lib/postgresql/15/bin/postgres\0-D\0"s + w.data +
                "/\0-c\0config_file=/etc/postgresql/15/main/postgresql.conf\0"s);
  w.process(102, 100, "postgres: 15/main: startup recovering 0000000100000000000000B1"s);
  auto r = readRecoveryProgress({w.data, ""}, w.proc);
  BOOST_TEST(r.source == "startup_process", r.problem);
  BOOST_TEST(r.value == "recovering 0000000100000000000000B1");
  BOOST_TEST(r.server_status.empty());
  // No such postmaster: the pid file's problem is the one said.
  World none;
  r = readRecoveryProgress({none.data, ""}, none.proc);
  BOOST_TEST(r.problem.find("cannot read") != std::string::npos, r.problem);
}

BOOST_AUTO_TEST_SUITE_END()
