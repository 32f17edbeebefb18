// `pgvigil demo` (docs/reference.md §7): a throwaway local PostgreSQL, watched and restarted by the
// agent with `restart.method: command`, dashboard on loopback. Ctrl-C removes everything it made.
// POSIX only (src/app/posix/cmd_demo.cpp); the Windows build's runDemo says so and returns
// kExitFailed (src/app/windows/cmd_demo.cpp).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "core/config.h"

namespace pgvigil {

class LocalCluster;

/// Where the escalating restart recipe (scripts/pg-restart) is: $PGVIGIL_PG_RESTART, next to the
/// installed binary (../lib/pgvigil/pg-restart, as the .deb has it), or the source tree it was
/// built from.
std::string findPgRestartScript();

/// The embedded default config for a cluster (exposed for tests).
Config demoConfig(const LocalCluster& cluster, const std::string& listen,
                  const std::string& restartScript);

int runDemo(const std::optional<std::string>& listen, std::ostream& out, std::ostream& err);

}  // namespace pgvigil
