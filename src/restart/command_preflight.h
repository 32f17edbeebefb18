// The preflight check of restart.method: command (issue 10): would the command start at all?
// The executable exists and this user may run it (searched in PATH as posix_spawnp does when it
// has no slash), and for scripts/pg-restart (recognised by its name) the data directory it is
// given exists. Only stat/access: nothing is run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/restart_path.h"

namespace pgvigil {

/// `pathEnv`: the PATH to search for a bare name (the process's PATH; posix_spawnp's default
/// "/bin:/usr/bin" when it is unset).
RestartPathCheck checkCommandPath(const std::vector<std::string>& argv, std::string_view pathEnv);

/// The PGDATA argument of a pg-restart command line (after its options), or "" when none.
std::string pgRestartDataDirectory(const std::vector<std::string>& argv);

}  // namespace pgvigil
