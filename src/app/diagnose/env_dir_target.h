// `diagnose --env-dir DIR`: the application's .env folder (core/env_dir.h) turned into one target
// to diagnose, with a report of where each database variable comes from, and whether that server
// is one of the agent's configured targets.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/diagnose/report.h"
#include "core/config.h"
#include "core/env_dir.h"

namespace pgvigil {

struct EnvDirTarget {
  EnvDirReport report;
  /// The target built from the winning variables; nullopt when the folder gives no database.
  std::optional<TargetConfig> target;
  std::string origin;  ///< "DATABASE_URL from .env.local (NODE_ENV=development)"
  /// Query parameters of an application URL that libpq does not know, dropped for the probe.
  std::vector<std::string> dropped;
  /// Every password any source holds (winner or not), for the redactor.
  std::vector<std::string> secrets;
};

EnvDirTarget envDirTarget(const std::string& dir, const Env& process);

/// The report as text lines: the files read, each variable's sources (the winner first, passwords
/// masked), the conflicts, then the target built. Already redacted.
std::string formatEnvDir(const EnvDirTarget& t);

/// The listing for `diagnose --env-dir --format json`: the same facts as formatEnvDir, values of
/// password variables masked and every value passed through the redactor.
EnvDirListing envDirListing(const EnvDirTarget& t, const std::string& dir,
                            const std::string& verdict);

/// The configured target that is the same server (host, port, database after normalisation:
/// localhost, 127.0.0.1 and ::1 are one host), or nullptr.
const TargetConfig* sameServer(const TargetConfig& t, const Config& config);

}  // namespace pgvigil
