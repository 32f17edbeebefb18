// `pgvigil pause|resume|restart TARGET`: asks the running agent through its endpoint, at the
// listen address and with the token of the config (docs/reference.md §1, §4).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

namespace pgvigil {

struct ControlOptions {
  std::string config_path;
  std::string action;  ///< pause | resume | restart
  std::string target;
  std::optional<std::string> for_duration;  ///< pause --for
};

/// 0 when the agent accepted, 1 when it refused or could not be reached, 2 for an invalid config,
/// 64 for a bad --for.
int runControl(const ControlOptions& options, std::ostream& out, std::ostream& err);

}  // namespace pgvigil
