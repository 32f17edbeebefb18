// diagnose's report: each step as a line (✓/✗, OK/FAIL, its timing, what was found) with the
// cause and remedies under a failure or warning, the result line, and the same as one JSON
// document (`--format json`, through report_json's ordered Poco::JSON objects). Everything that
// leaves here has passed through the redactor: a password never shows.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/diagnose/addresses.h"
#include "app/diagnose/idle_settings.h"
#include "app/diagnose/problems.h"
#include "core/clock.h"
#include "core/types.h"

namespace pgvigil {

enum class StepStatus { kPass, kWarn, kFail, kSkip };
std::string_view toString(StepStatus s);  ///< "pass", "warn", "fail", "skip"

struct StepReport {
  std::string step;  ///< config, dns, tcp, tls, auth, query, headroom
  StepStatus status = StepStatus::kSkip;
  Micros took{0};
  std::string detail;  ///< what was done or found, one line
  Problem problem = Problem::kNone;
  Cause cause = Cause::kNone;
  Phase phase = Phase::kNone;
  Advice advice;                        ///< for kFail and kWarn
  std::vector<std::string> errors;      ///< config errors, listed under the step line
  std::vector<AddressProbe> addresses;  ///< the addresses step: each address tried on its own
  std::vector<DriverOutcome> drivers;   ///< the addresses step: where each driver ends up
  std::vector<ServerSetting> settings;  ///< the idle step: every setting read
  std::vector<std::string> notes;       ///< lines under the step line ("    note:   ...")
};

/// The lines printed for one step: "✓ tcp       OK    0.2ms  connected to 127.0.0.1:5432",
/// then for a failure or warning "    cause:  ..." / "    remedy: ..." lines.
std::string formatStep(const StepReport& step);

/// `--env-dir`: the folder's listing, as `--format json` reports it (values already masked).
struct EnvDirListing {
  struct Source {
    std::string file;  ///< ".env.local", or "process environment"
    int line = 0;      ///< 0 for the process environment
    std::string value;
  };
  struct Variable {
    std::string name;
    bool conflict = false;
    std::vector<Source> sources;  ///< highest precedence first: sources[0] wins
  };
  std::string dir;
  std::string node_env;
  std::vector<std::string> precedence;  ///< "process environment", then the files, highest first
  std::vector<std::string> found;
  std::vector<std::string> skipped;  ///< "FILE:LINE: problem"
  std::vector<Variable> variables;
  std::string diagnosed;             ///< "DATABASE_URL from .env.local (NODE_ENV=...)", or ""
  std::vector<std::string> ignored;  ///< URL parameters dropped for the probe
  std::string verdict;               ///< whether it is one of the config's targets, or ""
};

/// One target's diagnosis, as it is reported.
struct TargetDiagnosis {
  std::string name;      ///< "" for --conninfo
  std::string conninfo;  ///< redacted
  std::vector<StepReport> steps;
  int exit_code = 0;  ///< 0 every step passed, 2 one failed, 3 config or usage error
  std::string failed_step;
  Cause cause = Cause::kNone;            ///< the failed step's cause (what `check` reports)
  std::optional<EnvDirListing> env_dir;  ///< diagnose --env-dir
};

/// "pgvigil diagnose NAME: CONNINFO" (the first line of a target's text report).
std::string headerLine(const TargetDiagnosis& report);
/// "result: OK - every step passed", "result: FAIL at tcp (refused)", "result: FAIL at config".
std::string resultLine(const TargetDiagnosis& report);

/// {"status","exit_code","targets":[{name, conninfo, result, failed_step, cause, exit_code,
/// steps:[{step, status, took_seconds, detail, problem, cause, phase, explanation, remedies,
/// errors, [addresses], [settings]}], env_dir}]}, one line; every string redacted with secrets.
std::string reportJson(const std::vector<TargetDiagnosis>& targets, int exitCode,
                       const std::vector<std::string>& secrets);

}  // namespace pgvigil
