// fork + exec for the test fixtures, with the few things they need: another user (postgres
// refuses to run as root), redirected stdio, a new process group, extra environment. The child
// calls only async-signal-safe functions between fork and exec; a failed exec is reported back
// through a close-on-exec pipe, so spawnProcess() fails instead of returning a dead child.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace pgvigil::test {

struct SpawnOptions {
  std::vector<std::string> argv;  ///< argv[0] is the path of the program (no PATH search)
  /// Variables set on top of the inherited environment ("NAME=value"); "NAME=" with an empty
  /// value removes NAME.
  std::vector<std::string> env;
  std::string cwd;           ///< "" keeps the current directory
  std::optional<uid_t> uid;  ///< switch to this user (and gid) before exec; needs root
  std::optional<gid_t> gid;
  int stdin_fd = -1;               ///< -1: /dev/null
  int stdout_fd = -1;              ///< -1: /dev/null
  int stderr_fd = -1;              ///< -1: /dev/null
  bool new_process_group = false;  ///< setpgid(0, 0) so the group can be signalled as a whole
  bool kill_with_parent = true;    ///< PR_SET_PDEATHSIG SIGKILL: nothing outlives a crashed test
};

/// Starts the process and returns its pid; on failure returns -1 and sets error.
pid_t spawnProcess(const SpawnOptions& options, std::string* error);

/// The postgres user's uid/gid when this process runs as root, nullopt otherwise.
struct UserIds {
  uid_t uid;
  gid_t gid;
};
std::optional<UserIds> postgresUserIfRoot();

}  // namespace pgvigil::test
