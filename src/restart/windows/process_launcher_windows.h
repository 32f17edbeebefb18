// process_launcher.h on Windows: CreateProcessW in a Job object.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "restart/process_launcher.h"

namespace pgvigil {

/// Runs argv (never through a shell; argv[0] found as CreateProcessW finds it, ".exe" appended
/// when it has no extension) with stdin on NUL and stdout+stderr into one pipe. Only those two
/// handles reach the child (PROC_THREAD_ATTRIBUTE_HANDLE_LIST): nothing of the agent's (sockets,
/// the log file, the state file) is inherited. The child starts suspended, joins its own Job
/// object and is resumed only then, so everything it starts is in the job; at the deadline
/// the job is terminated (TerminateJobObject), or the process alone (TerminateProcess) where
/// a job could not be made. A job is never closed with KILL_ON_JOB_CLOSE: a server the command
/// starts (pg_ctl start) outlives it, as on POSIX.
class WindowsProcessLauncher final : public ProcessLauncher {
 public:
  explicit WindowsProcessLauncher(std::size_t outputLimit = BoundedOutput::kDefaultLimit)
      : outputLimit_(outputLimit) {}
  SpawnResult spawn(const std::vector<std::string>& argv) override;

 private:
  std::size_t outputLimit_;
};

/// The command line CreateProcessW gets: each argument quoted as the Microsoft C runtime's
/// CommandLineToArgvW rules read it back (spaces, tabs and quotes quoted; backslashes doubled
/// only before a quote).
std::wstring windowsCommandLine(const std::vector<std::string>& argv);

}  // namespace pgvigil
