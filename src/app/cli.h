// The command line of docs/reference.md §1, parsed by hand: a verb, an optional sub-verb and a few
// flags. (Poco::Util::OptionSet is option-oriented and does not model sub-commands; this is ~100
// lines.)
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pgvigil {

struct CliCommand {
  std::string verb;  ///< run, check, diagnose, config, pause, resume, restart, demo, service,
                     ///< version, help
  std::string sub;   ///< config: validate|show; service: install|uninstall
  std::optional<std::string> config;            ///< -c / --config
  std::optional<std::string> target;            ///< -t / --target, or the positional TARGET
  std::string format = "text";                  ///< --format text|json
  std::optional<std::string> conninfo;          ///< --conninfo (diagnose)
  std::optional<std::string> env_dir;           ///< --env-dir (diagnose)
  std::optional<std::string> for_duration;      ///< --for (pause)
  std::optional<std::string> listen;            ///< --listen (demo: the dashboard address)
  bool as_service = false;                      ///< run --service (Windows: under the SCM)
  std::optional<std::string> service_name;      ///< service: --name (default pgvigil)
  std::optional<std::string> account;           ///< service install: --account
  std::optional<std::string> postgres_service;  ///< service install: --postgres-service
  std::string help_topic;  ///< help: "" for the overview, else the command ("config show")
};

struct [[nodiscard]] CliParse {
  std::optional<CliCommand> command;
  std::string error;  ///< set when command is empty: what was wrong (exit 64)
  /// With an error: the command it concerns ("check", "config"), so the message can point to
  /// that command's help; "" when no command was recognised.
  std::string topic;
};

CliParse parseCommandLine(const std::vector<std::string>& args);  ///< args without argv[0]
std::string usageText();

/// Exit codes (docs/reference.md §1), by name: no command returns a bare number.
inline constexpr int kExitOk = 0;
/// check: WARNING (degraded).
inline constexpr int kExitWarning = 1;
/// pause/resume/restart, demo: the command could not do its job (the agent refused or could not
/// be reached, no token, the demo's cluster did not start).
inline constexpr int kExitFailed = 1;
/// check: CRITICAL; diagnose: a step failed.
inline constexpr int kExitCritical = 2;
/// config validate/show, pause/resume/restart: the config (or the target named) is invalid.
inline constexpr int kExitInvalid = 2;
/// check, diagnose: pgvigil could not judge (config error, internal error).
inline constexpr int kExitUnknown = 3;
/// EX_USAGE: a bad command line.
inline constexpr int kExitUsage = 64;
/// EX_SOFTWARE: run's loop died of an internal error; the supervisor restarts us.
inline constexpr int kExitSoftware = 70;
/// EX_CONFIG: run with an invalid config.
inline constexpr int kExitConfig = 78;

}  // namespace pgvigil
