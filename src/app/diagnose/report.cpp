#include "app/diagnose/report.h"

#include "app/cli.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdio>

#include "app/report_json.h"
#include "core/redact.h"

namespace pgvigil {

std::string_view toString(StepStatus s) {
  switch (s) {
    case StepStatus::kPass:
      return "pass";
    case StepStatus::kWarn:
      return "warn";
    case StepStatus::kFail:
      return "fail";
    case StepStatus::kSkip:
      return "skip";
  }
  return "skip";
}

std::string formatStep(const StepReport& s) {
  const char* mark = "-";
  const char* word = "SKIP";
  switch (s.status) {
    case StepStatus::kPass:
      mark = "\u2713";
      word = "OK";
      break;
    case StepStatus::kWarn:
      mark = "!";
      word = "WARN";
      break;
    case StepStatus::kFail:
      mark = "\u2717";
      word = "FAIL";
      break;
    case StepStatus::kSkip:
      break;
  }
  char head[128];
  std::string timing;
  if (s.status != StepStatus::kSkip) {
    char t[32];
    double ms = double(s.took.count()) / 1000.0;
    if (ms < 1000)
      std::snprintf(t, sizeof t, "%.1fms", ms);
    else
      std::snprintf(t, sizeof t, "%.2fs", ms / 1000.0);
    timing = t;
  }
  std::snprintf(head, sizeof head, "%s %-9s %-4s %8s  ", mark, s.step.c_str(), word,
                timing.c_str());
  std::string out = head + s.detail + "\n";
  for (const auto& e : s.errors) out += "    error:  " + e + "\n";
  for (const auto& a : s.addresses) {
    std::string r = a.answers() ? "TCP OK, login OK"
                    : !a.tcp_ok ? "TCP " + (a.tcp_error.empty() ? "failed" : a.tcp_error)
                                : "TCP OK, login failed: " + a.login_error;
    out += "    address " + a.display() + ": " + r + "\n";
  }
  for (const auto& d : s.drivers)
    out += "    driver: " + d.driver + " (" + d.behaviour +
           "): " + (d.ok ? "connects to " : "FAILS on ") + d.address + "\n";
  for (const auto& n : s.notes) out += "    note:   " + n + "\n";
  if (s.status == StepStatus::kFail || s.status == StepStatus::kWarn) {
    if (s.cause != Cause::kNone) {
      out += "    cause:  " + std::string(toString(s.cause));
      if (s.phase != Phase::kNone) out += " (phase " + std::string(toString(s.phase)) + ")";
      out += ": " + s.advice.explanation + "\n";
    } else if (!s.advice.explanation.empty()) {
      out += "    why:    " + s.advice.explanation + "\n";
    }
    for (const auto& r : s.advice.remedies) out += "    remedy: " + r + "\n";
  }
  return out;
}

std::string headerLine(const TargetDiagnosis& r) {
  return "pgvigil diagnose" + (r.name.empty() ? "" : " " + r.name) + ": " + r.conninfo;
}

std::string resultLine(const TargetDiagnosis& r) {
  if (r.exit_code == kExitOk) return "result: OK - every step passed";
  if (r.cause == Cause::kNone) return "result: FAIL at " + r.failed_step;
  return "result: FAIL at " + r.failed_step + " (" + std::string(toString(r.cause)) + ")";
}

namespace {

Poco::Dynamic::Var nullable(std::string_view s, const std::vector<std::string>& secrets) {
  if (s.empty()) return Poco::Dynamic::Var();
  return redactSecrets(s, secrets);
}

Poco::JSON::Array::Ptr strings(const std::vector<std::string>& list,
                               const std::vector<std::string>& secrets) {
  Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
  for (const auto& s : list) a->add(redactSecrets(s, secrets));
  return a;
}

Poco::JSON::Object::Ptr stepToJson(const StepReport& s, const std::vector<std::string>& secrets) {
  auto o = orderedObject();
  o->set("step", s.step);
  o->set("status", std::string(toString(s.status)));
  o->set("took_seconds", s.status == StepStatus::kSkip ? Poco::Dynamic::Var()
                                                       : Poco::Dynamic::Var(seconds(s.took)));
  o->set("detail", redactSecrets(s.detail, secrets));
  const bool reported = s.status == StepStatus::kFail || s.status == StepStatus::kWarn;
  o->set("problem", reported && s.problem != Problem::kNone ? nullable(toString(s.problem), {})
                                                            : Poco::Dynamic::Var());
  o->set("cause", reported ? nullable(toString(s.cause), {}) : Poco::Dynamic::Var());
  o->set("phase", reported ? nullable(toString(s.phase), {}) : Poco::Dynamic::Var());
  o->set("explanation", reported ? nullable(s.advice.explanation, secrets) : Poco::Dynamic::Var());
  o->set("remedies", strings(reported ? s.advice.remedies : std::vector<std::string>{}, secrets));
  o->set("errors", strings(s.errors, secrets));
  if (s.step == "addresses") {
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const auto& a : s.addresses) {
      auto ao = orderedObject();
      ao->set("address", a.address);
      ao->set("port", a.port);
      ao->set("tcp", a.tcp_ok);
      ao->set("tcp_error", nullable(a.tcp_error, secrets));
      ao->set("login", a.login_ok);
      ao->set("login_error", nullable(a.login_error, secrets));
      ao->set("answers", a.answers());
      list->add(ao);
    }
    o->set("addresses", list);
    Poco::JSON::Array::Ptr drivers = new Poco::JSON::Array;
    for (const auto& d : s.drivers) {
      auto dobj = orderedObject();
      dobj->set("driver", d.driver);
      dobj->set("behaviour", d.behaviour);
      dobj->set("address", d.address);
      dobj->set("connects", d.ok);
      drivers->add(dobj);
    }
    o->set("drivers", drivers);
  }
  if (s.step == "idle") {
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const auto& st : s.settings) {
      auto so = orderedObject();
      so->set("name", st.name);
      so->set("setting", redactSecrets(st.setting, secrets));
      so->set("unit", nullable(st.unit, {}));
      so->set("default", redactSecrets(st.boot_val, secrets));
      so->set("source", nullable(st.source, {}));
      so->set("non_default", st.nonDefault());
      list->add(so);
    }
    o->set("settings", list);
    o->set("notes", strings(s.notes, secrets));
  }
  return o;
}

Poco::Dynamic::Var envDirToJson(const std::optional<EnvDirListing>& e,
                                const std::vector<std::string>& secrets) {
  if (!e) return Poco::Dynamic::Var();
  auto o = orderedObject();
  o->set("dir", redactSecrets(e->dir, secrets));
  o->set("node_env", redactSecrets(e->node_env, secrets));
  o->set("precedence", strings(e->precedence, secrets));
  o->set("files_found", strings(e->found, secrets));
  o->set("skipped_lines", strings(e->skipped, secrets));
  Poco::JSON::Array::Ptr vars = new Poco::JSON::Array;
  for (const auto& v : e->variables) {
    auto vo = orderedObject();
    vo->set("name", v.name);
    vo->set("conflict", v.conflict);
    Poco::JSON::Array::Ptr sources = new Poco::JSON::Array;
    for (std::size_t i = 0; i < v.sources.size(); ++i) {
      auto so = orderedObject();
      so->set("file", redactSecrets(v.sources[i].file, secrets));
      so->set("line",
              v.sources[i].line > 0 ? Poco::Dynamic::Var(v.sources[i].line) : Poco::Dynamic::Var());
      so->set("value", redactSecrets(v.sources[i].value, secrets));
      so->set("wins", i == 0);
      sources->add(so);
    }
    vo->set("sources", sources);
    vars->add(vo);
  }
  o->set("variables", vars);
  o->set("diagnosed", nullable(e->diagnosed, secrets));
  o->set("ignored_parameters", strings(e->ignored, secrets));
  o->set("verdict", nullable(e->verdict, secrets));
  return o;
}

std::string_view statusWord(int exitCode) {
  return exitCode == kExitOk ? "OK" : exitCode == kExitCritical ? "FAIL" : "UNKNOWN";
}

}  // namespace

std::string reportJson(const std::vector<TargetDiagnosis>& targets, int exitCode,
                       const std::vector<std::string>& secrets) {
  auto root = orderedObject();
  root->set("status", std::string(statusWord(exitCode)));
  root->set("exit_code", exitCode);
  Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
  for (const auto& t : targets) {
    auto o = orderedObject();
    o->set("name", nullable(t.name, {}));
    o->set("conninfo", redactSecrets(t.conninfo, secrets));
    o->set("result", std::string(statusWord(t.exit_code)));
    o->set("exit_code", t.exit_code);
    o->set("failed_step", nullable(t.failed_step, {}));
    o->set("cause", nullable(toString(t.cause), {}));
    Poco::JSON::Array::Ptr steps = new Poco::JSON::Array;
    for (const auto& s : t.steps) steps->add(stepToJson(s, secrets));
    o->set("steps", steps);
    o->set("env_dir", envDirToJson(t.env_dir, secrets));
    list->add(o);
  }
  root->set("targets", list);
  return toJsonLine(root);
}

}  // namespace pgvigil
