// diagnose's report: each step as a line (✓/✗, OK/FAIL, its timing, what was found) with the
// cause and remedies under a failure or warning, the result line, and the same as one JSON
// document (`--format json`, through report_json's ordered Poco::JSON objects). Everything that
// leaves here has passed through the redactor: a password never shows.
#pragma once

#include <string>
#include <string_view>
#include <vector>

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
  Advice advice;                    ///< for kFail and kWarn
  std::vector<std::string> errors;  ///< config errors, listed under the step line
};

/// The lines printed for one step: "✓ tcp       OK    0.2ms  connected to 127.0.0.1:5432",
/// then for a failure or warning "    cause:  ..." / "    remedy: ..." lines.
std::string formatStep(const StepReport& step);

/// One target's diagnosis, as it is reported.
struct TargetDiagnosis {
  std::string name;      ///< "" for --conninfo
  std::string conninfo;  ///< redacted
  std::vector<StepReport> steps;
  int exit_code = 0;  ///< 0 every step passed, 2 one failed, 3 config or usage error
  std::string failed_step;
  Cause cause = Cause::kNone;  ///< the failed step's cause (what `check` reports)
};

/// "pgvigil diagnose NAME: CONNINFO" (the first line of a target's text report).
std::string headerLine(const TargetDiagnosis& report);
/// "result: OK - every step passed", "result: FAIL at tcp (refused)", "result: FAIL at config".
std::string resultLine(const TargetDiagnosis& report);

/// {"status","exit_code","targets":[{name, conninfo, result, failed_step, cause, exit_code,
/// steps:[{step, status, took_seconds, detail, problem, cause, phase, explanation, remedies,
/// errors}]}]}, one line; every string redacted with secrets.
std::string reportJson(const std::vector<TargetDiagnosis>& targets, int exitCode,
                       const std::vector<std::string>& secrets);

}  // namespace pgvigil
