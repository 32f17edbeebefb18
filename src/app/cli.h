// The command line of SPEC.md §1, parsed by hand: a verb, an optional sub-verb and a few flags.
// (Poco::Util::OptionSet is option-oriented and does not model sub-commands; this is ~100 lines.)
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pgvigil {

struct CliCommand {
  std::string verb;  ///< run, check, diagnose, config, pause, resume, restart, demo, service,
                     ///< version, help
  std::string sub;   ///< config: validate|show; service: install|uninstall
  std::optional<std::string> config;  ///< -c / --config
  std::optional<std::string> target;  ///< -t / --target, or the positional TARGET
  std::string format = "text";        ///< --format text|json
  std::optional<std::string> conninfo;  ///< --conninfo (diagnose)
  std::optional<std::string> for_duration;  ///< --for (pause)
  std::optional<std::string> listen;        ///< --listen (demo: the dashboard address)
};

struct CliParse {
  std::optional<CliCommand> command;
  std::string error;  ///< set when command is empty: what was wrong (exit 64)
};

CliParse parseCommandLine(const std::vector<std::string>& args);  ///< args without argv[0]
std::string usageText();

/// Exit codes (SPEC.md §1).
inline constexpr int kExitOk = 0;
inline constexpr int kExitCritical = 2;
inline constexpr int kExitUnknown = 3;
inline constexpr int kExitUsage = 64;     // EX_USAGE
inline constexpr int kExitSoftware = 70;  // EX_SOFTWARE: an internal error; the supervisor restarts us
inline constexpr int kExitConfig = 78;  // EX_CONFIG

}  // namespace pgvigil
