// `config show` (docs/reference.md §2): the effective configuration as YAML, each value with its
// origin, secrets masked.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/config.h"

namespace pgvigil {

/// The secrets a Config holds (conninfo passwords, as written and decoded), for redactSecrets.
std::vector<std::string> configSecrets(const Config& config);

struct RenderOptions {
  /// Applied to each conninfo before the core's own redaction (the app passes the libpq-based
  /// redactConnInfo of the probes layer here). Optional.
  std::function<std::string(const std::string&)> redact_conninfo;
};

/// `config show`: the effective configuration as YAML (it loads back to the same Config when it
/// holds no secret), every value followed by `# default`, `# FILE:LINE:COL` or
/// `# env VAR (FILE:LINE:COL)`. Passwords are masked; the token file's contents are never read.
std::string renderEffectiveConfig(const Config& config, const RenderOptions& options = {});

}  // namespace pgvigil
