// The Windows service commands: `pgvigil service install|uninstall` (register pgvigil with the
// Service Control Manager) and `pgvigil run --service` (the service's own command line: the agent
// inside the service host). Implemented in src/app/windows/cmd_service.cpp; on other platforms
// (src/app/posix/cmd_service.cpp) each says it is Windows-only and returns kExitUsage.
#pragma once

#include <iosfwd>
#include <string>

#include "app/cli.h"

namespace pgvigil {

/// `pgvigil service install|uninstall`: kExitOk, kExitFailed or kExitUsage.
int runServiceCommand(const CliCommand& cmd, std::ostream& out, std::ostream& err);

/// `pgvigil run --service [-c FILE]`: the agent as a Windows service; the process exit code.
int runRunAsService(const std::string& configPath, std::ostream& err);

}  // namespace pgvigil
