#include "app/cmd_check.h"

#include <Poco/JSON/Array.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <future>
#include <ostream>
#include <sstream>

#include "app/report_json.h"
#include "core/config_loader.h"
#include "core/connection_holders.h"
#include "core/env.h"
#include "core/units.h"
#include "core/wall_time.h"
#include "probes/conninfo.h"
#include "probes/round_runner.h"
#include "restart/restarter.h"

namespace pgvigil {

std::string_view toString(NagiosStatus s) {
  switch (s) {
    case NagiosStatus::kOk:
      return "OK";
    case NagiosStatus::kWarning:
      return "WARNING";
    case NagiosStatus::kCritical:
      return "CRITICAL";
    case NagiosStatus::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

namespace {

int severity(NagiosStatus s) {
  switch (s) {
    case NagiosStatus::kOk:
      return 0;
    case NagiosStatus::kWarning:
      return 1;
    case NagiosStatus::kUnknown:
      return 2;
    case NagiosStatus::kCritical:
      return 3;
  }
  return 2;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

/// "0.3ms", "12ms", "1.52s": short human latency.
std::string human(Micros d) {
  double ms = double(d.count()) / 1000.0;
  if (ms < 10) return fmt("%.1fms", ms);
  if (ms < 1000) return fmt("%.0fms", ms);
  return fmt("%.2fs", ms / 1000.0);
}

/// The checks a target is configured to run, in round order.
std::vector<std::string> configuredChecks(const TargetConfig& t) {
  std::vector<std::string> names;
  if (t.tcp_check) names.push_back("tcp");
  if (!t.query.empty()) names.push_back("query");
  if (t.connections.enabled) names.push_back("connections");
  return names;
}

/// The round's checks followed by configured checks that did not run (nullptr outcome).
std::vector<std::pair<std::string, const CheckOutcome*>> checksOf(const TargetReport& r) {
  std::vector<std::pair<std::string, const CheckOutcome*>> out;
  for (const auto& c : r.round.checks) out.emplace_back(c.check, &c);
  for (const auto& name : configuredChecks(r.target))
    if (!r.round.find(name)) out.emplace_back(name, nullptr);
  return out;
}

std::string failureText(const RoundResult& round) {
  if (!round.message.empty()) return round.message;
  std::string s(toString(round.cause));
  if (s.empty()) s = "failed";
  if (round.phase != Phase::kNone) s += " (" + std::string(toString(round.phase)) + ")";
  return s;
}

std::string connectionsText(const ConnectionStats& c) {
  return std::to_string(c.used) + "/" + std::to_string(c.usable) + " (" +
         formatWholePercent(c.ratio()) + ")";
}

}  // namespace

NagiosStatus worse(NagiosStatus a, NagiosStatus b) {
  return severity(a) >= severity(b) ? a : b;
}

NagiosStatus statusOf(const RoundResult& round) {
  if (!round.ok())
    return round.cause == Cause::kInternal ? NagiosStatus::kUnknown : NagiosStatus::kCritical;
  if (round.connections_critical) return NagiosStatus::kCritical;
  if (round.verdict == Verdict::kDegraded || round.connections_warn) return NagiosStatus::kWarning;
  // Never a silent 0: counts read by a role that cannot see the others' sessions are a warning.
  if (round.connections && !round.connections->sees_all) return NagiosStatus::kWarning;
  return NagiosStatus::kOk;
}

NagiosStatus statusOf(const CheckReport& report) {
  if (!report.errors.empty() || report.targets.empty()) return NagiosStatus::kUnknown;
  NagiosStatus s = NagiosStatus::kOk;
  for (const auto& t : report.targets) s = worse(s, statusOf(t.round));
  return s;
}

std::string summaryOf(const TargetReport& r) {
  const RoundResult& round = r.round;
  if (!round.ok()) return failureText(round);
  if (round.connections_critical || round.verdict == Verdict::kDegraded || round.connections_warn) {
    if (!round.degraded_reason.empty()) return round.degraded_reason;
    if (round.connections) {
      const double limit =
          round.connections_critical ? r.target.connections.critical : r.target.connections.warn;
      return "connections at " + formatWholePercent(round.connections->ratio()) + " of " +
             std::to_string(round.connections->usable) + " usable (" +
             (round.connections_critical ? "critical " : "warn ") + formatWholePercent(limit) + ")";
    }
    return "degraded";
  }
  if (round.connections && !round.connections->sees_all)
    return visibilityWarning(*round.connections);
  std::string s = "ok in " + human(round.latency);
  if (round.connections) s += ", connections " + connectionsText(*round.connections);
  return s;
}

static std::string holderLines(const TargetReport& r) {
  if (!r.round.connections) return "";
  const ConnectionStats& c = *r.round.connections;
  std::string s;
  for (const auto& h : c.holders) s += "  " + holderText(h, c.usable) + "\n";
  if (!c.sees_all) s += "  WARNING: " + visibilityWarning(c) + "\n";
  if (auto why = unreachableThresholds(c, r.target.connections))
    s += "  WARNING: connections " + *why + "\n";
  return s;
}

std::string perfdataItem(std::string_view label, std::string_view value, std::string_view uom,
                         std::string_view warn, std::string_view crit, std::string_view min,
                         std::string_view max) {
  std::string l(label);
  if (l.find_first_of(" ='") != std::string::npos) {
    std::string q = "'";
    for (char c : l) {
      if (c == '\'') q += '\'';
      q += c;
    }
    l = q + "'";
  }
  std::string s = l + "=" + std::string(value) + std::string(uom) + ";" + std::string(warn) + ";" +
                  std::string(crit) + ";" + std::string(min);
  if (!max.empty()) s += ";" + std::string(max);
  return s;
}

std::string perfdataOf(const TargetReport& r) {
  const std::string& n = r.target.name;
  const RoundResult& round = r.round;
  auto secs = [](Micros d) { return fmt("%.6f", double(d.count()) / 1e6); };
  const std::string timeout = secs(std::chrono::duration_cast<Micros>(r.target.timeout));
  std::vector<std::string> items;
  items.push_back(perfdataItem(n + "_latency", secs(round.latency), "s", "", timeout, "0"));
  for (const auto& c : round.checks)
    items.push_back(perfdataItem(n + "_" + c.check + "_time", secs(c.latency), "s", "", "", "0"));
  if (round.connections) {
    const ConnectionStats& cs = *round.connections;
    items.push_back(perfdataItem(n + "_connections_used", std::to_string(cs.used), "", "", "", "0",
                                 std::to_string(cs.usable)));
    items.push_back(perfdataItem(n + "_connections_usage", fmt("%.2f", cs.ratio() * 100.0), "%",
                                 fmt("%g", r.target.connections.warn * 100.0),
                                 fmt("%g", r.target.connections.critical * 100.0), "0", "100"));
  }
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : " ") + i;
  return s;
}

std::string nagiosLine(const CheckReport& report) {
  const NagiosStatus status = statusOf(report);
  std::string line = "PGVIGIL " + std::string(toString(status)) + " - ";
  if (!report.errors.empty()) {
    line += report.errors.front();
    if (report.errors.size() > 1)
      line += " (+" + std::to_string(report.errors.size() - 1) + " more)";
  } else if (report.targets.empty()) {
    line += "no targets configured";
  } else {
    // Problems first, most severe first; healthy targets are counted, or listed when all are.
    std::vector<const TargetReport*> problems;
    for (const auto& t : report.targets)
      if (statusOf(t.round) != NagiosStatus::kOk) problems.push_back(&t);
    std::stable_sort(problems.begin(), problems.end(), [](auto* a, auto* b) {
      return severity(statusOf(a->round)) > severity(statusOf(b->round));
    });
    std::string body;
    if (problems.empty()) {
      for (const auto& t : report.targets)
        body += (body.empty() ? "" : "; ") + t.target.name + ": " + summaryOf(t);
    } else {
      for (auto* t : problems)
        body += (body.empty() ? "" : "; ") + t->target.name + ": " + summaryOf(*t);
      const size_t okCount = report.targets.size() - problems.size();
      if (okCount > 0) body += " (" + std::to_string(okCount) + " more ok)";
    }
    line += body;
  }
  // '|' separates perfdata: it must not appear in the text part.
  std::replace(line.begin(), line.end(), '|', '/');
  std::string perf;
  for (const auto& t : report.targets) {
    std::string p = perfdataOf(t);
    if (!p.empty()) perf += (perf.empty() ? "" : " ") + p;
  }
  if (!perf.empty()) line += " | " + perf;
  return line;
}

std::string targetLine(const TargetReport& r) {
  std::string line =
      r.target.name + ": " + std::string(toString(statusOf(r.round))) + " - " + summaryOf(r) + " -";
  bool first = true;
  for (const auto& [name, outcome] : checksOf(r)) {
    line += first ? " " : "; ";
    first = false;
    line += name + ": ";
    if (!outcome) {
      line += "not run";
      continue;
    }
    if (outcome->ok) {
      line += "OK " + human(outcome->latency);
      if (name == "connections" && r.round.connections) {
        const ConnectionStats& cs = *r.round.connections;
        line += ", " + connectionsText(cs);
        std::string states;
        for (const auto& [state, n] : cs.by_state)
          states += (states.empty() ? "" : " ") + state + "=" + std::to_string(n);
        if (!states.empty()) line += " [" + states + "]";
        if (r.round.connections_critical)
          line += " CRITICAL (>= " + formatWholePercent(r.target.connections.critical) + ")";
        else if (r.round.connections_warn)
          line += " WARNING (>= " + formatWholePercent(r.target.connections.warn) + ")";
      }
    } else {
      line += "FAIL " + std::string(toString(outcome->cause));
      if (outcome->phase != Phase::kNone)
        line += " (" + std::string(toString(outcome->phase)) + ")";
      line += " " + human(outcome->latency);
      // The round's message is already in the summary: repeat only what adds to it.
      if (!outcome->message.empty() && outcome->message != r.round.message)
        line += " " + outcome->message;
    }
  }
  if (r.restart_path) {
    line += "; restart path (" + std::string(toString(r.target.restart.method)) + "): ";
    line += r.restart_path->ok ? "OK" : "BROKEN " + r.restart_path->problem;
  }
  return line;
}

std::string renderCheckText(const CheckReport& report) {
  std::string s = nagiosLine(report) + "\n";
  for (const auto& t : report.targets) s += targetLine(t) + "\n" + holderLines(t);
  for (size_t i = 1; i < report.errors.size(); ++i) s += report.errors[i] + "\n";
  return s;
}

std::string renderCheckJson(const CheckReport& report) {
  const NagiosStatus status = statusOf(report);
  auto root = orderedObject();
  root->set("status", std::string(toString(status)));
  root->set("exit_code", static_cast<int>(status));
  root->set("checked_at", formatWallTime(report.checked_at));
  Poco::JSON::Array::Ptr targets = new Poco::JSON::Array;
  for (const auto& t : report.targets) {
    const RoundResult& round = t.round;
    const NagiosStatus ts = statusOf(round);
    auto o = orderedObject();
    o->set("name", t.target.name);
    o->set("status", std::string(toString(ts)));
    o->set("exit_code", static_cast<int>(ts));
    o->set("verdict", round.verdict == Verdict::kOk         ? "ok"
                      : round.verdict == Verdict::kDegraded ? "degraded"
                                                            : "failed");
    o->set("summary", summaryOf(t));
    if (round.ok()) {
      o->set("cause", Poco::Dynamic::Var());
      o->set("phase", Poco::Dynamic::Var());
    } else {
      o->set("cause", std::string(toString(round.cause)));
      o->set("phase", round.phase == Phase::kNone
                          ? Poco::Dynamic::Var()
                          : Poco::Dynamic::Var(std::string(toString(round.phase))));
    }
    o->set("message", round.message);
    o->set("degraded_reason", round.degraded_reason);
    o->set("latency_seconds", seconds(round.latency));
    o->set("checked_at", formatWallTime(round.checked_at));
    o->set("conninfo", redactConnInfo(t.target.conninfo));
    o->set("server_version", round.server_version.empty()
                                 ? Poco::Dynamic::Var()
                                 : Poco::Dynamic::Var(round.server_version));
    Poco::JSON::Array::Ptr checks = new Poco::JSON::Array;
    for (const auto& [name, outcome] : checksOf(t))
      checks->add(outcome ? checkToJson(*outcome) : skippedCheckToJson(name));
    o->set("checks", checks);
    if (round.connections)
      o->set("connections", connectionsToJson(*round.connections, t.target.connections,
                                              round.connections_warn, round.connections_critical));
    else
      o->set("connections", Poco::Dynamic::Var());
    if (t.restart_path) {
      auto p = orderedObject();
      p->set("method", std::string(toString(t.target.restart.method)));
      p->set("ok", t.restart_path->ok);
      p->set("problem", t.restart_path->ok ? Poco::Dynamic::Var()
                                           : Poco::Dynamic::Var(t.restart_path->problem));
      o->set("restart_path", p);
    } else {
      o->set("restart_path", Poco::Dynamic::Var());
    }
    targets->add(o);
  }
  root->set("targets", targets);
  Poco::JSON::Array::Ptr errors = new Poco::JSON::Array;
  for (const auto& e : report.errors) errors->add(e);
  root->set("errors", errors);
  return toJsonLine(root);
}

RestartPathCheck preflightRestartPath(const RestartConfig& config, const Clock& clock) {
  RestarterPtr restarter = makeRestarter(config, clock);
  if (!restarter) return {false, "restart method not available in this build"};
  return restarter->preflight(Deadline(clock, std::chrono::seconds(5)));
}

CheckReport collectCheck(const Config& config, std::string_view onlyTarget,
                         const RoundRunner& runner, const Clock& clock,
                         const PathChecker& pathChecker) {
  CheckReport report;
  report.checked_at = clock.wallNow();
  std::vector<const TargetConfig*> selected;
  if (!onlyTarget.empty()) {
    const TargetConfig* t = config.findTarget(onlyTarget);
    if (!t) {
      std::string names;
      for (const auto& c : config.targets) names += (names.empty() ? "" : ", ") + c.name;
      report.errors.push_back("no target named '" + std::string(onlyTarget) + "' in " +
                              (config.path.empty() ? "the config" : config.path) +
                              (names.empty() ? " (it has none)" : " (targets: " + names + ")"));
      return report;
    }
    selected.push_back(t);
  } else {
    for (const auto& t : config.targets) selected.push_back(&t);
  }
  if (selected.empty()) {
    report.errors.push_back("no targets in " + (config.path.empty() ? "the config" : config.path));
    return report;
  }
  // One round per target, all at once: each is bounded by its own timeout, so the whole check
  // takes as long as the slowest target, not the sum.
  std::vector<std::future<RoundResult>> rounds;
  for (const TargetConfig* t : selected)
    rounds.push_back(std::async(std::launch::async, [&runner, &clock, t] {
      try {
        return runner(*t, clock);
      } catch (const std::exception& e) {
        RoundResult r;
        r.checked_at = clock.wallNow();
        r.verdict = Verdict::kFailed;
        r.cause = Cause::kInternal;
        r.message = std::string("internal error: ") + e.what();
        return r;
      }
    }));
  // The restart paths alongside (each bounded by the checker's own deadline).
  std::vector<std::optional<std::future<RestartPathCheck>>> paths;
  for (const TargetConfig* t : selected) {
    if (!pathChecker || t->restart.method == RestartMethod::kNone) {
      paths.emplace_back();
      continue;
    }
    paths.emplace_back(std::async(std::launch::async, [&pathChecker, &clock, t] {
      try {
        return pathChecker(t->restart, clock);
      } catch (const std::exception& e) {
        return RestartPathCheck{false, std::string("internal error: ") + e.what()};
      }
    }));
  }
  for (size_t i = 0; i < selected.size(); ++i) {
    TargetReport r{*selected[i], rounds[i].get(), std::nullopt};
    if (paths[i]) r.restart_path = paths[i]->get();
    report.targets.push_back(std::move(r));
  }
  return report;
}

int printCheck(const CheckReport& report, OutputFormat format, std::ostream& out) {
  out << (format == OutputFormat::kJson ? renderCheckJson(report) : renderCheckText(report));
  out.flush();
  return static_cast<int>(statusOf(report));
}

LoadedConfig loadConfigForCommand(const std::string& path) {
  LoadedConfig loaded;
  LoadResult result = loadConfigFile(path, Env::process());
  if (result.ok()) {
    loaded.config = std::move(result.config);
  } else {
    for (const auto& e : result.errors) loaded.errors.push_back(e.toString());
  }
  return loaded;
}

int runCheck(const CheckOptions& options, std::ostream& out, std::ostream& err) {
  try {
    CheckReport report;
    auto loaded = loadConfigForCommand(resolveConfigPath(options.config_path, Env::process()));
    if (!loaded.config) {
      report.checked_at = SystemClock::instance().wallNow();
      report.errors = loaded.errors;
      if (report.errors.empty()) report.errors.push_back("the config could not be loaded");
      report.errors.front() = "config: " + report.errors.front();
      return printCheck(report, options.format, out);
    }
    report = collectCheck(*loaded.config, options.target, runRound, SystemClock::instance(),
                          preflightRestartPath);
    return printCheck(report, options.format, out);
  } catch (const std::exception& e) {
    out << "PGVIGIL UNKNOWN - internal error: " << e.what() << "\n";
    err << "pgvigil check: internal error: " << e.what() << "\n";
    return static_cast<int>(NagiosStatus::kUnknown);
  }
}

}  // namespace pgvigil
