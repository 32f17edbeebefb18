// `pgvigil check`: one round of every configured check on every (or one) target, printed as a
// Nagios/Icinga plugin does (docs/reference.md §1): the first line is the one-liner with perfdata,
// then one line per target; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. `--format json` prints the
// same verdicts with every check's outcome and the connection figures.
//
// The command is a plain function over ostreams. The pieces that decide and format are separate
// pure functions so that unit tests can feed them hand-made RoundResults.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/cli.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/round_result.h"

namespace pgvigil {

enum class OutputFormat { kText, kJson };

struct CheckOptions {
  std::string config_path;  ///< empty: $PGVIGIL_CONFIG, then the platform default
  std::string target;       ///< -t: only this target; empty: every target
  OutputFormat format = OutputFormat::kText;
};

/// Nagios plugin states; the value is the exit code (cli.h).
enum class NagiosStatus {
  kOk = kExitOk,
  kWarning = kExitWarning,
  kCritical = kExitCritical,
  kUnknown = kExitUnknown
};
std::string_view toString(NagiosStatus s);  ///< "OK", "WARNING", "CRITICAL", "UNKNOWN"
/// The more severe of two states (Icinga's order: OK < WARNING < UNKNOWN < CRITICAL).
NagiosStatus worse(NagiosStatus a, NagiosStatus b);

/// One target's round, with the configuration it ran under (for thresholds and skipped checks).
struct TargetReport {
  TargetConfig target;
  RoundResult round;
};

/// A whole `check` run: the targets' rounds, or the errors that kept it from judging.
struct [[nodiscard]] CheckReport {
  WallTime checked_at{};
  std::vector<TargetReport> targets;
  std::vector<std::string> errors;  ///< config or usage errors: the report is UNKNOWN
};

/// The state of one target's round: a failure is CRITICAL (an internal error UNKNOWN),
/// connection usage at critical is CRITICAL, at warn (or a slow round) WARNING, else OK.
NagiosStatus statusOf(const RoundResult& round);
/// The worst state over every target; UNKNOWN when there are errors or no targets.
NagiosStatus statusOf(const CheckReport& report);

/// The short description of one target for the one-liner, e.g.
/// "connection refused on 127.0.0.1:5432" or "ok in 2.1ms, connections 5/97 (5%)".
std::string summaryOf(const TargetReport& report);

/// Nagios perfdata for one target: "main_latency=0.002345s;;;0 main_tcp_time=..." (space
/// separated, labels quoted when they need it).
std::string perfdataOf(const TargetReport& report);

/// One perfdata item: label=value[uom];warn;crit;min;max. Labels with spaces, '=' or quotes are
/// single-quoted (inner quotes doubled), as the plugin guidelines ask.
std::string perfdataItem(std::string_view label, std::string_view value, std::string_view uom = "",
                         std::string_view warn = "", std::string_view crit = "",
                         std::string_view min = "", std::string_view max = "");

/// The plugin one-liner: "PGVIGIL CRITICAL - main: connection refused on ... | perfdata".
std::string nagiosLine(const CheckReport& report);

/// One line per target with each check, e.g.
/// "main: CRITICAL - tcp: FAIL refused (connect) 0.3ms; query: not run; connections: not run".
std::string targetLine(const TargetReport& report);

/// The whole text output (one-liner, then target lines, then errors).
std::string renderCheckText(const CheckReport& report);
/// The whole JSON output (a single object, newline-terminated).
std::string renderCheckJson(const CheckReport& report);

/// Runs one round on a target; runRound() in production, a fake in tests.
using RoundRunner = std::function<RoundResult(const TargetConfig&, const Clock&)>;

/// Runs the selected targets' rounds concurrently (each bounded by its own timeout) and
/// collects them in config order. Returns a report with an error for an unknown target name.
CheckReport collectCheck(const Config& config, std::string_view onlyTarget,
                         const RoundRunner& runner, const Clock& clock);

/// Prints a report in the requested format and returns its exit code.
int printCheck(const CheckReport& report, OutputFormat format, std::ostream& out);

/// `pgvigil check`: loads the config, runs the rounds, prints, returns the exit code (0..3).
/// Never throws; internal errors are UNKNOWN (3). `err` receives nothing a plugin parser needs.
int runCheck(const CheckOptions& options, std::ostream& out, std::ostream& err);

/// A config loaded for a one-shot command (check, diagnose) from a path (see resolveConfigPath
/// in core/config_loader.h): the config, or every error as
/// "FILE:LINE:COL: message" (a missing or unreadable file is one error naming the path).
struct LoadedConfig {
  std::optional<Config> config;
  std::vector<std::string> errors;
};
LoadedConfig loadConfigForCommand(const std::string& path);

}  // namespace pgvigil
