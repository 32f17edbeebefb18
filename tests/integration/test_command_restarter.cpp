// CommandRestarter with real processes (PosixProcessLauncher), and scripts/pg-restart against a
// real PostgreSQL cluster (tests/support/pg_cluster.h): killed -9, SIGSTOPped (hung), running.
#define BOOST_TEST_MODULE test_command_restarter
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "restart/command_restarter.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace pgvigil {
inline std::ostream& operator<<(std::ostream& os, RestartOutcome::Result r) {
  return os << toString(r);
}
}  // namespace pgvigil

namespace {

const Clock& clock() {
  return SystemClock::instance();
}

RestartOutcome runCommand(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                          CommandRestarterOptions options = {}) {
  PosixProcessLauncher launcher;
  CommandRestarter restarter(std::move(argv), launcher, clock(), options);
  return restarter.restart(Deadline(clock(), timeout));
}

/// True while pid is a live process (not a zombie, not gone).
bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z' &&
         stat[close + 2] != 'X';
}

/// Waits up to `timeout` for pid to be dead (a zombie counts: it is no longer running).
bool waitDead(pid_t pid, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (alive(pid)) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

pid_t firstNumber(const std::string& text) {
  std::istringstream in(text);
  long n = 0;
  in >> n;
  return static_cast<pid_t>(n);
}

std::string pgRestart() {
  return std::string(PGVIGIL_SOURCE_DIR) + "/scripts/pg-restart";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(real_processes)

BOOST_AUTO_TEST_CASE(test_TrueSucceedsFalseFails) {
  auto ok = runCommand({"/bin/true"}, 5s);
  BOOST_TEST(ok.result == RestartOutcome::Result::kSucceeded);
  BOOST_TEST(ok.detail == "exited 0");
  auto bad = runCommand({"/bin/false"}, 5s);
  BOOST_TEST(bad.result == RestartOutcome::Result::kFailed);
  BOOST_TEST(bad.detail == "exited 1");
  auto viaPath = runCommand({"true"}, 5s);  // no slash: searched in PATH
  BOOST_TEST(viaPath.result == RestartOutcome::Result::kSucceeded);
}

BOOST_AUTO_TEST_CASE(test_MissingProgramIsASpawnFailure) {
  auto out = runCommand({"/nonexistent/pgvigil/x", "arg"}, 5s);
  BOOST_TEST(out.result == RestartOutcome::Result::kSpawnFailed);
  BOOST_TEST(out.detail == "no such file: /nonexistent/pgvigil/x");
  char path[] = "/tmp/pgvigil-noexec-XXXXXX";
  int fd = mkstemp(path);  // mode 0600: not executable, even for root
  BOOST_REQUIRE(fd >= 0);
  ::close(fd);
  auto notExec = runCommand({path}, 5s);
  ::unlink(path);
  BOOST_TEST(notExec.result == RestartOutcome::Result::kSpawnFailed);
  BOOST_TEST(notExec.detail == "permission denied: " + std::string(path));
}

BOOST_AUTO_TEST_CASE(test_OutputOfBothStreamsIsCaptured) {
  auto out = runCommand({"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"}, 5s);
  BOOST_TEST(out.result == RestartOutcome::Result::kFailed);
  BOOST_TEST(out.output == "to-stdout\nto-stderr\n");
  BOOST_TEST(out.detail == "exited 3: to-stderr");
}

BOOST_AUTO_TEST_CASE(test_StdinIsDevNull) {
  auto out = runCommand({"/bin/sh", "-c", "if read line; then echo got; else echo eof; fi"}, 5s);
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded);
  BOOST_TEST(out.output == "eof\n");
}

BOOST_AUTO_TEST_CASE(test_RunsInItsOwnProcessGroup) {
  auto out = runCommand(
      {"/bin/sh", "-c", "read -r pid comm state ppid pgrp rest < /proc/$$/stat; echo $pid $pgrp"},
      5s);
  BOOST_REQUIRE(out.result == RestartOutcome::Result::kSucceeded);
  std::istringstream in(out.output);
  long pid = 0, pgrp = 0;
  in >> pid >> pgrp;
  BOOST_TEST(pid > 0);
  BOOST_TEST(pgrp == pid);
  BOOST_TEST(pgrp != static_cast<long>(getpgrp()));
}

BOOST_AUTO_TEST_CASE(test_HugeOutputIsBounded) {
  auto start = std::chrono::steady_clock::now();
  auto out = runCommand(
      {"/bin/sh", "-c", "echo BEGIN; head -c 20000000 /dev/zero | tr '\\0' x; echo; echo END"},
      20s);
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded);
  BOOST_TEST(out.output.size() < 8300u);
  BOOST_TEST(out.output.rfind("BEGIN\n", 0) == 0u);
  BOOST_TEST(out.output.find("bytes dropped") != std::string::npos);
  BOOST_TEST(out.output.substr(out.output.size() - 4) == "END\n");
  BOOST_TEST_MESSAGE("20 MB of output captured and bounded in "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                     << " ms");
}

BOOST_AUTO_TEST_CASE(test_SleepIsTerminatedAtTheTimeout) {
  auto start = std::chrono::steady_clock::now();
  auto out = runCommand({"/bin/sleep", "100"}, 1s);
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(out.result == RestartOutcome::Result::kTimedOut);
  BOOST_TEST(out.detail == "killed after 1s timeout (SIGTERM)");
  BOOST_TEST(took < 1100ms);
  BOOST_TEST(took >= 600ms);  // it did get its time: 1 s less the 250 ms grace, 100 ms margin
}

BOOST_AUTO_TEST_CASE(test_IgnoredTermIsEscalatedToKill) {
  auto start = std::chrono::steady_clock::now();
  auto out =
      runCommand({"/bin/sh", "-c", "trap '' TERM; echo $$; while :; do sleep 0.05; done"}, 1s);
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(out.result == RestartOutcome::Result::kTimedOut);
  BOOST_TEST(out.detail == "killed after 1s timeout (SIGKILL: it ignored SIGTERM)");
  BOOST_TEST(took < 1100ms);
  pid_t sh = firstNumber(out.output);
  BOOST_REQUIRE(sh > 0);
  BOOST_TEST(!alive(sh));  // reaped: gone, not even a zombie
}

BOOST_AUTO_TEST_CASE(test_GroupKillGetsTheGrandchild) {
  // The child dies of SIGTERM; the grandchild it left in the group ignores SIGTERM and must be
  // taken by the group SIGKILL.
  auto out = runCommand({"/bin/sh", "-c",
                         "(trap '' TERM; exec sleep 100) & echo $!; "
                         "while :; do sleep 0.05; done"},
                        1s);
  BOOST_TEST(out.result == RestartOutcome::Result::kTimedOut);
  pid_t grandchild = firstNumber(out.output);
  BOOST_REQUIRE(grandchild > 0);
  BOOST_TEST(waitDead(grandchild, 2s));
}

BOOST_AUTO_TEST_CASE(test_DaemonHoldingThePipeDoesNotDelayTheOutcome) {
  // Like pg_ctl start: the command exits, something it started keeps the output pipe open.
  auto start = std::chrono::steady_clock::now();
  auto out = runCommand({"/bin/sh", "-c", "sleep 30 & echo $!; echo started"}, 10s);
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded);
  BOOST_TEST(out.output.find("started") != std::string::npos);
  BOOST_TEST(took < 2s);
  pid_t daemon = firstNumber(out.output);
  BOOST_REQUIRE(daemon > 0);
  BOOST_TEST(alive(daemon));  // a command that finished in time: nothing of it is killed
  ::kill(daemon, SIGKILL);    // ours: started by this test's command
  BOOST_TEST(waitDead(daemon, 2s));
}

BOOST_AUTO_TEST_CASE(test_BlockedSignalsAreNotInherited) {
  // The agent blocks the signals it waits for; the command must still die of SIGTERM.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  auto out = runCommand({"/bin/sleep", "100"}, 1s);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  BOOST_TEST(out.result == RestartOutcome::Result::kTimedOut);
  BOOST_TEST(out.detail == "killed after 1s timeout (SIGTERM)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pg_restart)

BOOST_AUTO_TEST_CASE(test_KilledClusterIsBroughtBack) {
  test::PgCluster cluster;
  pid_t before = cluster.postmasterPid();
  cluster.kill9();
  BOOST_REQUIRE(cluster.postmasterPid() == 0);
  BOOST_REQUIRE(!cluster.waitReady(200ms));

  auto out = runCommand({pgRestart(), cluster.dataDir(), "-l", cluster.logPath()}, 60s);
  BOOST_TEST_MESSAGE("pg-restart after kill -9: " << out.took.count() << " ms\n" << out.output);
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded, out.detail << "\n" << out.output);
  BOOST_TEST(out.output.find("postmaster not running") != std::string::npos);
  BOOST_TEST(cluster.waitReady(5s));
  BOOST_TEST(cluster.query("SELECT 1") == "1");
  BOOST_TEST(cluster.postmasterPid() != before);
  BOOST_TEST(cluster.postmasterPid() != 0);
}

BOOST_AUTO_TEST_CASE(test_HungClusterIsCuredByEscalation) {
  test::PgCluster cluster;
  pid_t hung = cluster.postmasterPid();
  cluster.sigstop();

  auto out =
      runCommand({pgRestart(), "--fast-timeout", "2", "--immediate-timeout", "2", "--kill-timeout",
                  "5", "--start-timeout", "20", cluster.dataDir(), "-l", cluster.logPath()},
                 40s);
  BOOST_TEST_MESSAGE("pg-restart of a SIGSTOPped postmaster: " << out.took.count() << " ms\n"
                                                               << out.output);
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded, out.detail << "\n"
                                                                          << out.output
                                                                          << "\nserver log:\n"
                                                                          << cluster.log());
  // A stopped postmaster (state T) cannot honour a fast or an immediate shutdown: pg-restart
  // sees that and goes straight to SIGKILL (issue 10), so neither 2 s wait is spent.
  BOOST_TEST(out.output.find("is stopped (state T") != std::string::npos, out.output);
  BOOST_TEST(out.output.find("SIGKILL") != std::string::npos);
  BOOST_TEST(out.output.find("fast, ") == std::string::npos, out.output);
  BOOST_TEST(out.output.find("immediate shutdown") == std::string::npos, out.output);
  // The kill and the start only.
  BOOST_TEST(out.took < Millis(15s));
  BOOST_TEST(!alive(hung));
  BOOST_TEST(cluster.waitReady(5s));
  BOOST_TEST(cluster.query("SELECT 1") == "1");
  pid_t now = cluster.postmasterPid();
  BOOST_TEST(now != 0);
  BOOST_TEST(now != hung);
}

BOOST_AUTO_TEST_CASE(test_RunningClusterIsRestartedInFastMode) {
  test::PgCluster cluster;
  pid_t before = cluster.postmasterPid();
  auto out = runCommand({pgRestart(), cluster.dataDir(), "-l", cluster.logPath()}, 60s);
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded, out.detail << "\n" << out.output);
  BOOST_TEST(out.output.find("stopping postmaster") != std::string::npos);
  BOOST_TEST(out.output.find("SIGKILL") == std::string::npos);  // fast mode sufficed
  BOOST_TEST(cluster.log().find("fast shutdown request") != std::string::npos);
  BOOST_TEST(cluster.waitReady(5s));
  BOOST_TEST(cluster.postmasterPid() != before);
}

BOOST_AUTO_TEST_CASE(test_BadDataDirFailsCleanly) {
  auto out = runCommand({pgRestart(), "/nonexistent/pgdata"}, 10s);
  BOOST_TEST(out.result == RestartOutcome::Result::kFailed);
  BOOST_TEST(out.detail == "exited 2: pg-restart: no data directory: /nonexistent/pgdata");
}

BOOST_AUTO_TEST_SUITE_END()
