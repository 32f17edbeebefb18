// An application's folder of .env files, read as Node's dotenv-flow and Next.js read it
// (docs/troubleshooting.md, `diagnose --env-dir`): the process environment, then
// `.env.$NODE_ENV.local`, `.env.local` (not when NODE_ENV is test), `.env.$NODE_ENV`, `.env`; the
// first that sets a variable wins. Only the database variables are reported.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"

namespace pgvigil {

/// What names the process environment is shown as, in place of a file.
inline constexpr std::string_view kProcessEnvSource = "process environment";

struct EnvDirSource {
  std::string file;  ///< ".env.local", or kProcessEnvSource
  int line = 0;      ///< 0 for the process environment
  std::string value;
};

struct EnvDirVariable {
  std::string name;
  /// Every place that sets it, highest precedence first: sources[0] wins.
  std::vector<EnvDirSource> sources;
  /// Two sources give different values.
  bool conflict() const;
};

struct EnvDirReport {
  std::string node_env;                   ///< from the process, "development" when unset
  std::vector<std::string> files;         ///< the files looked for, highest precedence first
  std::vector<std::string> found;         ///< those that exist, in the same order
  std::vector<std::string> errors;        ///< "FILE:LINE: problem", never a value
  std::vector<EnvDirVariable> variables;  ///< database variables, in a fixed order then by name

  const EnvDirVariable* find(std::string_view name) const;
  /// The winning value of a variable, nullopt when nothing sets it.
  std::optional<std::string> value(std::string_view name) const;
};

/// The file names in precedence order for one NODE_ENV.
std::vector<std::string> envDirFileNames(std::string_view nodeEnv);
/// DATABASE_URL, POSTGRES_URL, POSTGRES_PRISMA_URL, DIRECT_URL, *DATABASE_URL, PG*, DB_HOST, ...
bool isDatabaseVariable(std::string_view name);
/// Reads the folder. `process` is the process environment (NODE_ENV and the winning layer).
EnvDirReport readEnvDir(const std::string& dir, const Env& process);

}  // namespace pgvigil
