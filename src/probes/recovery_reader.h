// Reads a starting or recovering PostgreSQL's progress on the agent's own host (issue 10): the
// postmaster.pid status line, the startup process's title (found among the postmaster's
// children in /proc), and the last PG15+ "redo in progress" line of the server log. Only small,
// bounded reads of local files; the agent runs it on a thread of its own, never on its loop.
// What the readings mean is the core's (core/recovery_progress.h, TargetSupervisor).
#pragma once

#include <filesystem>
#include <string>

#include "core/recovery_progress.h"

namespace pgvigil {

struct RecoverySources {
  std::string data_dir;  ///< "" when none is known
  std::string log_file;  ///< "" when none is known
};

/// `procRoot`: /proc (tests give another).
RecoveryReading readRecoveryProgress(const RecoverySources& sources,
                                     const std::filesystem::path& procRoot = "/proc");

}  // namespace pgvigil
