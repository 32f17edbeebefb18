// PosixProcessLauncher and the agent's descriptors (issue 9, "Descriptors"): a child sees stdin,
// stdout and stderr and nothing else of its parent's, also what the parent opened without
// close-on-exec (Poco's sockets and log file). Real processes, bounded waits, no sleep.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <sstream>
#include <string>

#include "core/unique_fd.h"
#include "restart/process_launcher.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

/// Descriptors the way a leaky library opens them: no close-on-exec, and (F_DUPFD) at a
/// number above whatever the test runner holds, so the number is the child's evidence.
struct LeakyDescriptors {
  UniqueFd file;    ///< a memfd, shown as "/memfd:pgvigil-leak-probe (deleted)"
  UniqueFd socket;  ///< one end of a unix socket pair, shown as "socket:[inode]"
  UniqueFd peer;
  LeakyDescriptors() {
    UniqueFd memfd(::memfd_create("pgvigil-leak-probe", 0));
    BOOST_REQUIRE(memfd.valid());
    file.reset(::fcntl(memfd.get(), F_DUPFD, 200));
    int pair[2];
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    UniqueFd a(pair[0]);
    peer.reset(pair[1]);
    socket.reset(::fcntl(a.get(), F_DUPFD, 201));
    BOOST_REQUIRE(file.get() >= 200);
    BOOST_REQUIRE(socket.get() >= 201);
    BOOST_REQUIRE((::fcntl(file.get(), F_GETFD) & FD_CLOEXEC) == 0);
    BOOST_REQUIRE((::fcntl(socket.get(), F_GETFD) & FD_CLOEXEC) == 0);
  }
};

/// Runs `ls -l /proc/self/fd/` through the launcher and returns fd -> link target as the child
/// saw them, without the one `ls` opens itself to read the directory (a link to /proc/N/fd).
std::map<int, std::string> childDescriptors(PosixProcessLauncher& launcher) {
  auto spawned = launcher.spawn({"/bin/sh", "-c", "ls -l /proc/self/fd/; echo on-stderr >&2"});
  BOOST_REQUIRE_MESSAGE(spawned.child, describeSpawnError(spawned.error, "/bin/sh"));
  BOOST_REQUIRE(spawned.child->waitExit(Deadline(SystemClock::instance(), 10s)));
  BOOST_REQUIRE(spawned.child->reap().success());
  const std::string text = spawned.child->output().text();
  BOOST_TEST_MESSAGE("the child's descriptors:\n" << text);
  BOOST_TEST(text.find("on-stderr") != std::string::npos, "stderr is not captured: " << text);
  std::map<int, std::string> fds;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    auto numberStart = line.rfind(' ', arrow - 1);
    BOOST_REQUIRE(numberStart != std::string::npos);
    const int fd = std::stoi(line.substr(numberStart + 1, arrow - numberStart - 1));
    const std::string target = line.substr(arrow + 4);
    if (target.rfind("/proc/", 0) == 0 && target.size() > 3 &&
        target.compare(target.size() - 3, 3, "/fd") == 0)
      continue;  // ls's own directory handle
    fds[fd] = target;
  }
  return fds;
}

void expectOnlyStdio(const std::map<int, std::string>& fds, const LeakyDescriptors& leaky) {
  BOOST_TEST(fds.count(leaky.file.get()) == 0u, "leaked: fd " << leaky.file.get());
  BOOST_TEST(fds.count(leaky.socket.get()) == 0u, "leaked: fd " << leaky.socket.get());
  BOOST_TEST(fds.size() == 3u);
  for (const auto& [fd, target] : fds) BOOST_TEST(fd <= 2, "leaked: fd " << fd << " -> " << target);
  BOOST_REQUIRE(fds.count(0) && fds.count(1) && fds.count(2));
  BOOST_TEST(fds.at(0) == "/dev/null");
  BOOST_TEST(fds.at(1).rfind("pipe:[", 0) == 0u, fds.at(1));
  BOOST_TEST(fds.at(2) == fds.at(1));  // one capture pipe for both
}

}  // namespace

BOOST_AUTO_TEST_SUITE(process_launcher_descriptors)

BOOST_AUTO_TEST_CASE(test_ChildHoldsOnlyStdioNotWhatTheParentOpenedWithoutCloexec) {
  LeakyDescriptors leaky;
  PosixProcessLauncher launcher;
  expectOnlyStdio(childDescriptors(launcher), leaky);
}

BOOST_AUTO_TEST_CASE(test_FallbackClosingEachDescriptorBelowTheLimitDoesTheSame) {
  LeakyDescriptors leaky;
  PosixProcessLauncher launcher(BoundedOutput::kDefaultLimit, DescriptorClosing::kEachBelowLimit);
  expectOnlyStdio(childDescriptors(launcher), leaky);
}

BOOST_AUTO_TEST_CASE(test_ParentKeepsItsDescriptorsAndTheCaptureStillEnds) {
  LeakyDescriptors leaky;
  PosixProcessLauncher launcher;
  auto spawned = launcher.spawn({"/bin/echo", "done"});
  BOOST_REQUIRE(spawned.child);
  BOOST_REQUIRE(spawned.child->waitExit(Deadline(SystemClock::instance(), 10s)));
  BOOST_TEST(spawned.child->reap().success());
  BOOST_TEST(spawned.child->output().text() == "done\n");
  // Closing happens in the child only: the parent's descriptors are still open.
  BOOST_TEST(::fcntl(leaky.file.get(), F_GETFD) >= 0);
  BOOST_TEST(::fcntl(leaky.socket.get(), F_GETFD) >= 0);
}

BOOST_AUTO_TEST_SUITE_END()
