// Reading and validating the configuration (docs/reference.md §2). One schema table per section
// (agent, target; config_schema.h) gives every key its type, range and reloadability; the loader
// walks the YAML with it and reports every error at FILE:LINE:COL, never just the first. `config
// show` is config_show.h, the spelling suggestions config_suggest.h; both are included here for
// callers.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/config_show.h"     // IWYU pragma: export
#include "core/config_suggest.h"  // IWYU pragma: export
#include "core/env.h"

namespace pgvigil {

/// One problem in a configuration file.
struct ConfigError {
  std::string file;
  int line = 0;         ///< 1-based; 0 when the error concerns the whole file (missing, empty, ...)
  int column = 0;       ///< 1-based
  std::string message;  ///< already redacted: never holds a password or token

  /// "FILE:LINE:COL: message", or "FILE: message" without a position.
  std::string toString() const;
};

/// A valid Config, or every error found. Exactly one of the two is set.
struct [[nodiscard]] LoadResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;
  bool ok() const { return config.has_value(); }
};

/// Reads and validates the file at `path`. A missing file, a directory, an empty file or a file
/// that is not YAML each give one clear error naming the path.
LoadResult loadConfigFile(const std::string& path, const Env& env);

/// Validates YAML text; `displayName` stands for the file in errors and sources.
LoadResult loadConfigString(std::string_view yamlText, const std::string& displayName,
                            const Env& env);

/// Every error, one "FILE:LINE:COL: message" line each.
std::string formatErrors(const std::vector<ConfigError>& errors);

/// Whether a change to the key (a Config::sources key such as "agent.listen" or
/// "targets[0].interval") takes effect on reload; false means it needs an agent restart.
bool isReloadable(std::string_view key);

/// The keys whose change from `running` to `next` a reload cannot apply ("agent.listen", ...).
std::vector<std::string> nonReloadableChanges(const Config& running, const Config& next);

/// Where the config is read from (docs/reference.md §1): `cliPath` (-c) if not empty, else
/// $PGVIGIL_CONFIG if set and not empty, else /etc/pgvigil/pgvigil.yaml
/// (%ProgramData%\pgvigil\pgvigil.yaml on Windows).
std::string resolveConfigPath(std::string_view cliPath, const Env& env);

}  // namespace pgvigil
