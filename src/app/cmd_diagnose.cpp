#include "app/cmd_diagnose.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <vector>

#include "app/cli.h"
#include "app/cmd_check.h"
#include "app/diagnose/env_dir_target.h"
#include "app/diagnose/facts.h"
#include "app/diagnose/steps.h"
#include "core/config_loader.h"
#include "core/env.h"
#include "core/redact.h"
#include "probes/conninfo.h"

namespace pgvigil {
namespace {

Micros since(SteadyTime start) {
  return std::chrono::duration_cast<Micros>(std::chrono::steady_clock::now() - start);
}

std::string oneLine(std::string s) {
  // libpq messages end with a newline and may carry DETAIL/HINT lines: keep them on one line.
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  std::string out;
  for (char c : s) {
    if (c == '\n')
      out += " / ";
    else if (c == '\t')
      out += ' ';
    else
      out += c;
  }
  return out;
}

/// Where the report goes: printed as it happens (text), or gathered for one JSON document.
class Output {
 public:
  Output(std::ostream& out, bool json) : out_(out), json_(json) {}

  void begin(TargetDiagnosis report, std::vector<std::string> secrets, bool header = true) {
    if (!json_ && !reports_.empty()) out_ << "\n";
    secrets_ = std::move(secrets);
    allSecrets_.insert(allSecrets_.end(), secrets_.begin(), secrets_.end());
    if (pendingEnvDir_) report.env_dir = std::move(pendingEnvDir_);
    pendingEnvDir_.reset();
    reports_.push_back(std::move(report));
    if (!json_ && header) out_ << redactSecrets(headerLine(reports_.back()), secrets_) << "\n";
  }
  void step(const StepReport& s) {
    reports_.back().steps.push_back(s);
    // Everything printed passes through the redactor: a password must never show.
    if (!json_) out_ << redactSecrets(formatStep(s), secrets_) << std::flush;
  }
  int end(int exitCode, std::string failedStep, Cause cause) {
    TargetDiagnosis& r = reports_.back();
    r.exit_code = exitCode;
    r.failed_step = std::move(failedStep);
    r.cause = cause;
    if (!json_) out_ << resultLine(r) << "\n";
    return exitCode;
  }
  /// A config failure before any target: the config step alone.
  int configFailure(const StepReport& s) {
    begin({}, {}, false);
    step(s);
    return end(kExitUnknown, "config", Cause::kNone);
  }
  void finish(int exitCode) {
    if (json_) out_ << reportJson(reports_, exitCode, allSecrets_);
  }
  bool started() const { return !reports_.empty(); }
  /// --env-dir: the folder's listing, attached to the next target begun (JSON only).
  void envDir(EnvDirListing listing, const std::vector<std::string>& secrets) {
    pendingEnvDir_ = std::move(listing);
    allSecrets_.insert(allSecrets_.end(), secrets.begin(), secrets.end());
  }

 private:
  std::ostream& out_;
  bool json_;
  std::vector<TargetDiagnosis> reports_;
  std::vector<std::string> secrets_;
  std::vector<std::string> allSecrets_;
  std::optional<EnvDirListing> pendingEnvDir_;
};

std::string joinFiles(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& f : files) out += (out.empty() ? "" : ", ") + f;
  return out;
}

/// Diagnoses one target; returns 0 (every step passed), 2 (one failed) or 3 (bad conninfo).
int diagnoseTarget(const TargetConfig& target, const std::string& origin,
                   const std::optional<Millis>& timeoutOverride, Output& output,
                   std::vector<std::string> secrets = {}) {
  const auto start = std::chrono::steady_clock::now();
  for (auto& s : connInfoSecrets(target.conninfo)) secrets.push_back(std::move(s));
  if (const char* pw = std::getenv("PGPASSWORD"); pw && *pw) secrets.emplace_back(pw);
  TargetDiagnosis report;
  report.name = target.name;
  report.conninfo = redactSecrets(redactConnInfo(target.conninfo), secrets);
  output.begin(std::move(report), secrets);

  std::string parseError;
  std::optional<ConnInfo> info = parseConnInfo(target.conninfo, &parseError);
  StepReport config;
  config.step = "config";
  config.took = since(start);
  if (!info) {
    config.status = StepStatus::kFail;
    config.detail = "the conninfo cannot be parsed: " + oneLine(parseError);
    config.advice.explanation = "libpq does not accept this connection string";
    config.advice.remedies = {
        "write it as keyword=value pairs (host=... port=... dbname=... "
        "user=...) or as a postgresql://user@host:port/dbname URI"};
    output.step(config);
    return output.end(kExitUnknown, "config", Cause::kNone);
  }
  const Millis timeout = timeoutOverride.value_or(target.timeout);
  TargetFacts facts = factsFor(target, *info, timeout);
  config.status = StepStatus::kPass;
  config.detail =
      origin + "; " +
      (facts.unix_socket ? "socket " + facts.socket_path
                         : "host " + facts.host + " port " + std::to_string(facts.port)) +
      ", user " + facts.user + ", database " + facts.dbname + ", timeout " + durationText(timeout) +
      " per step";
  output.step(config);
  const StepsOutcome steps =
      runSteps(*info, target, facts, [&](const StepReport& s) { output.step(s); });
  if (steps.ok) return output.end(kExitOk, "", Cause::kNone);
  return output.end(kExitCritical, steps.failed_step, steps.failed_cause);
}

/// --env-dir: the folder's report (text first; in JSON the target's env_dir object), then the
/// winner diagnosed like any target.
int diagnoseEnvDir(const DiagnoseOptions& options, std::ostream& out, Output& output) {
  EnvDirTarget t = envDirTarget(options.env_dir, Env::process());
  std::string text = formatEnvDir(t);
  std::string origin = t.origin;
  std::string verdict;
  if (t.target && !options.config_path.empty()) {
    LoadedConfig loaded = loadConfigForCommand(options.config_path);
    if (!loaded.config)
      verdict = "cannot compare with the configured targets: " + options.config_path +
                " does not load (pgvigil config validate -c " + options.config_path + ")";
    else if (const TargetConfig* same = sameServer(*t.target, *loaded.config))
      verdict = "this is target '" + same->name + "' of " + options.config_path;
    else
      verdict = "this server is NOT one of the targets of " + options.config_path +
                ": the agent does not watch the database this application uses";
    text += "  " + verdict + "\n";
    origin += "; " + verdict;
  }
  if (!options.json) out << redactSecrets(text, t.secrets) << "\n";
  output.envDir(envDirListing(t, options.env_dir, verdict), t.secrets);
  if (!t.target) {
    StepReport s;
    s.step = "config";
    s.status = StepStatus::kFail;
    s.detail = "no database variable in " + options.env_dir;
    s.advice.explanation =
        "none of DATABASE_URL, POSTGRES_URL, POSTGRES_PRISMA_URL, DIRECT_URL, DB_HOST/DB_PORT/"
        "DB_NAME/DB_USER/DB_PASSWORD or PG* is set by the process or by " +
        joinFiles(t.report.files);
    s.advice.remedies = {"pass the folder that holds the application's .env files"};
    return output.configFailure(s);
  }
  return diagnoseTarget(*t.target, origin, options.timeout, output, t.secrets);
}

int diagnose(const DiagnoseOptions& options, std::ostream& out, Output& output) {
  if (!options.env_dir.empty()) return diagnoseEnvDir(options, out, output);
  if (!options.conninfo.empty()) {
    TargetConfig t;
    t.name = "";
    t.conninfo = normalizeAppUrl(options.conninfo, true).conninfo;  // a Prisma/JDBC URL as is
    return diagnoseTarget(t, "--conninfo", options.timeout, output);
  }
  const std::string path = resolveConfigPath(options.config_path, Env::process());
  const auto start = std::chrono::steady_clock::now();
  auto configFailure = [&](std::string detail, std::string explanation,
                           std::vector<std::string> remedies,
                           std::vector<std::string> errors = {}) {
    StepReport s;
    s.step = "config";
    s.status = StepStatus::kFail;
    s.took = since(start);
    s.detail = std::move(detail);
    s.advice.explanation = std::move(explanation);
    s.advice.remedies = std::move(remedies);
    s.errors = std::move(errors);  // listed right under the step line, before the remedies
    return output.configFailure(s);
  };
  LoadedConfig loaded = loadConfigForCommand(path);
  if (!loaded.config) {
    return configFailure("cannot use " + path,
                         loaded.errors.empty()
                             ? "the config could not be loaded"
                             : std::to_string(loaded.errors.size()) + " error(s) in the config",
                         {"check it with: pgvigil config validate -c " + path}, loaded.errors);
  }
  const Config& config = *loaded.config;
  std::string names;
  for (const auto& c : config.targets) names += (names.empty() ? "" : ", ") + c.name;
  std::vector<const TargetConfig*> targets;
  if (!options.target.empty()) {
    const TargetConfig* t = config.findTarget(options.target);
    if (!t)
      return configFailure(
          "no target named '" + options.target + "' in " + path,
          names.empty() ? "the config has no targets" : "its targets are: " + names,
          {"pgvigil diagnose -c " + path + " -t NAME with one of them, or without -t for all"});
    targets.push_back(t);
  } else {
    for (const auto& t : config.targets) targets.push_back(&t);
  }
  if (targets.empty())
    return configFailure("no targets in " + path, "there is nothing to diagnose",
                         {"add a target under targets: (name, conninfo)"});
  int worst = 0;
  for (const TargetConfig* t : targets)
    worst = std::max(worst, diagnoseTarget(*t, "target '" + t->name + "' from " + path,
                                           options.timeout, output));
  return worst;
}

}  // namespace

int runDiagnose(const DiagnoseOptions& options, std::ostream& out, std::ostream& err) {
  try {
    Output output(out, options.json);
    const int rc = diagnose(options, out, output);
    output.finish(rc);
    return rc;
  } catch (const std::exception& e) {
    err << "pgvigil diagnose: internal error: " << e.what() << "\n";
    return kExitUnknown;
  }
}

}  // namespace pgvigil
