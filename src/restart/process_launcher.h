// The seam between the command restarter's escalation logic and process creation (STYLE.md 7).
// PosixProcessLauncher (restart/posix/) runs a real argv (never a shell) in its own process group
// with stdin on /dev/null and stdout+stderr captured through a pipe; WindowsProcessLauncher
// (restart/windows/) does the same with CreateProcessW in a Job object. Tests drive
// CommandRestarter through a fake launcher on a FakeClock, and the real launchers against real
// processes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace pgvigil {

/// The two signals CommandRestarter sends, by their POSIX numbers (the same on every Linux
/// architecture). On Windows a ChildProcess has no polite stop (canAskToStop() is false) and
/// kSignalKill terminates its Job object.
inline constexpr int kSignalTerm = 15;  ///< SIGTERM
inline constexpr int kSignalKill = 9;   ///< SIGKILL

/// How a child ended: exited with a code, or was killed by a signal (on Windows: terminated by
/// the launcher, signal kSignalKill).
struct [[nodiscard]] ExitStatus {
  bool signaled = false;
  int code = 0;       ///< exit code when !signaled
  int signal = 0;     ///< signal number when signaled
  bool lost = false;  ///< the status could not be collected (reaped by someone else)

  bool success() const { return !signaled && !lost && code == 0; }
};
/// "exited 0", "exited 1", "killed by signal 9 (SIGKILL)", "exit status lost"; on Windows
/// "exited 0xC0000005" for an NTSTATUS and "terminated by pgvigil" for a kill.
std::string describe(const ExitStatus& status);

/// Keeps the first and the last `limit / 2` bytes of a stream and counts what falls between.
/// What a restart command prints is evidence for an operator, but a runaway command must not
/// grow the agent's memory: the head says what it started doing, the tail how it ended.
class BoundedOutput {
 public:
  static constexpr std::size_t kDefaultLimit = 8 * 1024;
  explicit BoundedOutput(std::size_t limit = kDefaultLimit);
  void append(std::string_view data);
  std::size_t dropped() const { return dropped_; }
  std::size_t total() const { return total_; }
  /// head, then "\n[... N bytes dropped ...]\n" when something was dropped, then tail.
  std::string text() const;

 private:
  std::size_t half_;
  std::string head_;
  std::string tail_;  ///< ring of the last half_ bytes, starting at tailStart_
  std::size_t tailStart_ = 0;
  std::size_t dropped_ = 0;
  std::size_t total_ = 0;
};

/// A started child process. The destructor never leaves it behind: a child still running is
/// SIGKILLed with its group (Windows: its Job object terminated), and reaped (on a detached thread
/// if the kernel is slow about it).
class ChildProcess {
 public:
  virtual ~ChildProcess() = default;
  virtual pid_t pid() const = 0;
  /// Waits until the child has exited or `until` passes, capturing its output meanwhile.
  /// An exited child is not reaped yet (it stays a zombie), so its process group id stays
  /// reserved and signalGroup() cannot hit a stranger. True when it has exited.
  virtual bool waitExit(const Deadline& until) = 0;
  /// kill(-pgid, signal): the child and everything it started in its group. On Windows only
  /// kSignalKill does something: TerminateJobObject.
  virtual void signalGroup(int signal) = 0;
  /// Whether the child can be asked to stop (SIGTERM) before it is killed. Windows has no such
  /// request for a process without a console window.
  virtual bool canAskToStop() const { return true; }
  /// Reaps the child (waitpid of its own pid, never -1). Call after waitExit() returned true.
  virtual ExitStatus reap() = 0;
  virtual const BoundedOutput& output() const = 0;
};
using ChildProcessPtr = std::unique_ptr<ChildProcess>;

struct [[nodiscard]] SpawnResult {
  ChildProcessPtr child;  ///< null when the spawn failed
  int error = 0;          ///< errno of the failed spawn (ENOENT, EACCES, ...); Windows: Win32 error
};
/// "no such file: /usr/bin/x", "permission denied: /usr/bin/x", "cannot run x: <strerror>".
std::string describeSpawnError(int error, std::string_view program);

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  /// Starts argv[0] (searched in PATH when it has no slash) with argv. Never throws.
  virtual SpawnResult spawn(const std::vector<std::string>& argv) = 0;
};
using ProcessLauncherPtr = std::unique_ptr<ProcessLauncher>;

/// This platform's launcher (PosixProcessLauncher, WindowsProcessLauncher).
ProcessLauncherPtr makeProcessLauncher(std::size_t outputLimit = BoundedOutput::kDefaultLimit);

#ifndef _WIN32
/// How the child closes the descriptors it inherits (every one from 3 up, always).
enum class DescriptorClosing {
  kAuto,            ///< close_range(3, ~0U, 0) where available, else the fallback
  kEachBelowLimit,  ///< the fallback: close() each descriptor below the RLIMIT_NOFILE soft limit
};

/// The real thing: posix_spawnp with POSIX_SPAWN_SETPGROUP (own group), default signal
/// dispositions and an empty signal mask (the agent blocks signals it waits for; a child must
/// not inherit that), stdin /dev/null, stdout and stderr into one pipe, and every other
/// descriptor closed before exec: nothing of the agent's (listener, connections, log file)
/// leaks into the command or the server it starts (docs/restarters.md).
class PosixProcessLauncher final : public ProcessLauncher {
 public:
  explicit PosixProcessLauncher(std::size_t outputLimit = BoundedOutput::kDefaultLimit,
                                DescriptorClosing closing = DescriptorClosing::kAuto)
      : outputLimit_(outputLimit), closing_(closing) {}
  SpawnResult spawn(const std::vector<std::string>& argv) override;

 private:
  std::size_t outputLimit_;
  DescriptorClosing closing_;
};
#endif

}  // namespace pgvigil
