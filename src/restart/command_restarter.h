// restart.method: command (STYLE.md 7, after keepalived's misc_check): run the configured argv,
// never through a shell, in its own process group, bounded by the restart deadline; on timeout
// SIGTERM the group, then SIGKILL it after a short grace, and say which step ended it. On Windows
// (no polite stop for a windowless process) its Job object is terminated at the deadline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "restart/process_launcher.h"
#include "restart/restarter.h"

namespace pgvigil {

struct CommandRestarterOptions {
  /// Between SIGTERM and SIGKILL of the group when the command outlives its deadline. Taken
  /// from the end of the deadline (at most a quarter of it), so the whole stays within it.
  std::chrono::milliseconds killGrace{2000};
  /// Kept after SIGKILL for the kernel to deliver it and for the reap.
  std::chrono::milliseconds reapMargin{500};
  /// Masked in the captured output and the detail, on top of redactSecrets' patterns.
  std::vector<std::string> secrets;
};

class CommandRestarter final : public Restarter {
 public:
  /// `launcher` must outlive the restarter; `clock` is the one the deadlines are taken from.
  CommandRestarter(std::vector<std::string> argv, ProcessLauncher& launcher, const Clock& clock,
                   CommandRestarterOptions options = {});
  /// Owns its launcher (the factory's PosixProcessLauncher).
  CommandRestarter(std::vector<std::string> argv, ProcessLauncherPtr launcher, const Clock& clock,
                   CommandRestarterOptions options = {});

  std::string_view method() const override { return "command"; }
  /// kSucceeded on exit 0; kFailed "exited 1: <last line>" or "killed by signal 9 (SIGKILL)";
  /// kTimedOut "killed after 1m timeout (SIGTERM)"; kSpawnFailed "no such file: /usr/bin/x".
  RestartOutcome restart(const Deadline& deadline) override;
  /// The executable exists and may be run; for pg-restart, its data directory exists
  /// (command_preflight.h).
  RestartPathCheck preflight(const Deadline& deadline) override;

 private:
  std::vector<std::string> argv_;
  ProcessLauncherPtr ownedLauncher_;
  ProcessLauncher& launcher_;
  const Clock& clock_;
  CommandRestarterOptions options_;
};

}  // namespace pgvigil
