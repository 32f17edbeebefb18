// WindowsProcessLauncher against real processes (cmd.exe), run under Wine by windows_unit: the
// output and the exit code, a command outliving its deadline terminated with its Job object
// (through CommandRestarter), the bound on captured output, a missing program; and the pure
// parts (command-line quoting, describe, the preflight). Not built on Linux (this folder is
// outside the Linux runner's glob); the Windows runner adds it (tests/windows/unit).
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "restart/command_preflight.h"
#include "restart/command_restarter.h"
#include "restart/windows/process_launcher_windows.h"
#include "unit/restart/restart_printers.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Runs argv to its end (at most 30 s, which no case here comes near).
ExitStatus runToEnd(ProcessLauncher& launcher, const std::vector<std::string>& argv,
                    std::string* output = nullptr, std::size_t* dropped = nullptr) {
  auto spawned = launcher.spawn(argv);
  BOOST_REQUIRE_MESSAGE(spawned.child, describeSpawnError(spawned.error, argv[0]));
  BOOST_REQUIRE(spawned.child->waitExit(Deadline(SystemClock::instance(), 30s)));
  ExitStatus status = spawned.child->reap();
  if (output) *output = spawned.child->output().text();
  if (dropped) *dropped = spawned.child->output().dropped();
  return status;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(process_launcher_windows)

BOOST_AUTO_TEST_CASE(echo_output_is_captured_and_exit_zero_succeeds) {
  WindowsProcessLauncher launcher;
  std::string output;
  ExitStatus status = runToEnd(launcher, {"cmd.exe", "/c", "echo hello-from-cmd"}, &output);
  BOOST_TEST(status.success());
  BOOST_TEST(describe(status) == "exited 0");
  BOOST_TEST(has(output, "hello-from-cmd"), output);
}

BOOST_AUTO_TEST_CASE(stderr_goes_into_the_same_capture) {
  WindowsProcessLauncher launcher;
  std::string output;
  ExitStatus status = runToEnd(launcher, {"cmd.exe", "/c", "echo on-stderr 1>&2"}, &output);
  BOOST_TEST(status.success());
  BOOST_TEST(has(output, "on-stderr"), output);
}

BOOST_AUTO_TEST_CASE(the_exit_code_is_reported) {
  WindowsProcessLauncher launcher;
  ExitStatus status = runToEnd(launcher, {"cmd.exe", "/c", "exit 3"});
  BOOST_TEST(!status.success());
  BOOST_TEST(!status.signaled);
  BOOST_TEST(status.code == 3);
  BOOST_TEST(describe(status) == "exited 3");
}

BOOST_AUTO_TEST_CASE(output_is_bounded_to_head_and_tail) {
  WindowsProcessLauncher launcher(256);  // 128 bytes of head, 128 of tail
  std::string output;
  std::size_t dropped = 0;
  ExitStatus status = runToEnd(
      launcher, {"cmd.exe", "/c", "for /L %i in (1,1,400) do @echo line-%i"}, &output, &dropped);
  BOOST_TEST(status.success());
  BOOST_TEST(dropped > 0u);
  BOOST_TEST(output.size() < 256u + 64u, output.size());
  BOOST_TEST(output.rfind("line-1", 0) == 0u, output);  // the head: how it started
  BOOST_TEST(has(output, "bytes dropped"), output);
  BOOST_TEST(has(output, "line-400"), output);  // the tail: how it ended
}

BOOST_AUTO_TEST_CASE(a_missing_program_is_a_spawn_failure_that_names_it) {
  WindowsProcessLauncher launcher;
  auto spawned = launcher.spawn({"pgvigil-no-such-program.exe"});
  BOOST_TEST(!spawned.child);
  BOOST_TEST(describeSpawnError(spawned.error, "pgvigil-no-such-program.exe") ==
             "no such file: pgvigil-no-such-program.exe");
}

BOOST_AUTO_TEST_CASE(a_command_past_its_deadline_is_terminated_with_its_job) {
  // A nested cmd that loops far longer than the deadline: the restarter terminates the job
  // (the inner cmd with it) at the deadline less the reap margin, and says so.
  WindowsProcessLauncher launcher;
  CommandRestarterOptions options;
  options.reapMargin = 300ms;
  CommandRestarter restarter(
      // cmd.exe reads its command line itself, not by the C runtime's rules: arguments without
      // spaces need no quoting, so the inner command is given word by word.
      {"cmd.exe", "/c", "cmd.exe", "/c", "for", "/L", "%i", "in", "(1,1,2000000000)", "do", "@rem"},
      launcher, SystemClock::instance(), options);
  const auto started = std::chrono::steady_clock::now();
  RestartOutcome out = restarter.restart(Deadline(SystemClock::instance(), 1500ms));
  const auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(out.result == RestartOutcome::Result::kTimedOut);
  BOOST_TEST(
      out.detail == "killed after 1.5s timeout (terminated: no polite stop on this platform)",
      out.detail);
  BOOST_TEST(took < std::chrono::steady_clock::duration(10s));
}

BOOST_AUTO_TEST_CASE(a_killed_child_reports_the_kill) {
  WindowsProcessLauncher launcher;
  auto spawned = launcher.spawn({"cmd.exe", "/c", "for /L %i in (1,1,2000000000) do @rem"});
  BOOST_REQUIRE(spawned.child);
  BOOST_TEST(!spawned.child->canAskToStop());
  BOOST_TEST(spawned.child->pid() > 0);
  BOOST_TEST(!spawned.child->waitExit(Deadline(SystemClock::instance(), 50ms)));
  spawned.child->signalGroup(kSignalTerm);  // no polite stop on Windows: nothing happens
  BOOST_TEST(!spawned.child->waitExit(Deadline(SystemClock::instance(), 50ms)));
  spawned.child->signalGroup(kSignalKill);
  BOOST_REQUIRE(spawned.child->waitExit(Deadline(SystemClock::instance(), 10s)));
  ExitStatus status = spawned.child->reap();
  BOOST_TEST(status.signaled);
  BOOST_TEST(describe(status) == "terminated by pgvigil");
}

BOOST_AUTO_TEST_CASE(the_command_line_is_quoted_as_the_c_runtime_reads_it) {
  BOOST_TEST((windowsCommandLine({"cmd.exe", "/c", "echo"}) == L"cmd.exe /c echo"));
  BOOST_TEST((windowsCommandLine({"C:\\Program Files\\x.exe", ""}) ==
              L"\"C:\\Program Files\\x.exe\" \"\""));
  // Backslashes are doubled only before a quote (an escaped one or the closing one).
  BOOST_TEST((windowsCommandLine({"a\"b", "c d\\", "e\\f"}) == L"\"a\\\"b\" \"c d\\\\\" e\\f"));
}

BOOST_AUTO_TEST_CASE(describe_names_ntstatus_codes_in_hex) {
  BOOST_TEST(describe(ExitStatus{false, static_cast<int>(0xC0000005U), 0}) == "exited 0xC0000005");
  BOOST_TEST(describe(ExitStatus{false, 1, 0}) == "exited 1");
  ExitStatus lost;
  lost.lost = true;
  BOOST_TEST(describe(lost) == "exit status lost");
}

BOOST_AUTO_TEST_CASE(preflight_finds_programs_as_create_process_does) {
  // cmd.exe is in the system directory, which CreateProcessW searches before PATH; ".exe" is
  // appended to a name without an extension.
  BOOST_TEST(checkCommandPath({"cmd.exe"}, "").ok);
  BOOST_TEST(checkCommandPath({"cmd"}, "").ok);
  RestartPathCheck missing = checkCommandPath({"pgvigil-no-such-program"}, "C:\\nowhere");
  BOOST_TEST(!missing.ok);
  BOOST_TEST(missing.problem ==
             "command 'pgvigil-no-such-program' not found in PATH (C:\\nowhere)");
  RestartPathCheck byPath = checkCommandPath({"C:\\nowhere\\restart.cmd"}, "");
  BOOST_TEST(!byPath.ok);
  BOOST_TEST(byPath.problem == "command C:\\nowhere\\restart.cmd does not exist");
  const auto dir = std::filesystem::temp_directory_path() / "pgvigil-preflight-test.cmd";
  std::filesystem::create_directories(dir);
  RestartPathCheck directory = checkCommandPath({dir.string()}, "");
  std::filesystem::remove(dir);
  BOOST_TEST(!directory.ok);
  BOOST_TEST(has(directory.problem, "is a directory"), directory.problem);
}

BOOST_AUTO_TEST_SUITE_END()
