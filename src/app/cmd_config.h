// `pgvigil config validate` and `pgvigil config show` (docs/reference.md §1, §2).
#pragma once

#include <ostream>
#include <string>

namespace pgvigil {

/// Validates the config at `path` ("" = defaultConfigPath()). Exit 0 when valid (one summary line
/// on `out`), 2 when invalid: every error on `err` as FILE:LINE:COL: message, secrets masked.
int runConfigValidate(const std::string& path, std::ostream& out, std::ostream& err);

/// Prints the effective config (defaults and ${ENV} applied, secrets masked, each value with its
/// origin) on `out` and returns 0; when invalid, prints the errors on `err` and returns 2.
int runConfigShow(const std::string& path, std::ostream& out, std::ostream& err);

/// docs/reference.md §1: $PGVIGIL_CONFIG if set, else /etc/pgvigil/pgvigil.yaml
/// (%ProgramData%\pgvigil\pgvigil.yaml on Windows). `-c` overrides both (see resolveConfigPath).
std::string defaultConfigPath();

}  // namespace pgvigil
