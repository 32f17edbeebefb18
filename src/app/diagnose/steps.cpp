#include "app/diagnose/steps.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <vector>

#include "app/diagnose/addresses.h"
#include "app/diagnose/facts.h"
#include "app/diagnose/idle_settings.h"
#include "core/units.h"
#include "probes/connections_check.h"
#include "probes/pg_probe.h"
#include "probes/probe_observer.h"
#include "probes/tcp_probe.h"

namespace pgvigil {
namespace {

/// What the probes report through the observer, for the steps' lines.
class Recorder : public ProbeObserver {
 public:
  struct Attempt {
    Endpoint endpoint;
    int err = 0;
    bool timed_out = false;
  };

  void resolved(const ResolveResult& result, Micros took) override {
    if (lookup) return;  // the first lookup is the dns step's
    lookup = result;
    lookup_took = took;
  }
  void tcpAttempt(const Endpoint& endpoint, int err, bool timedOut, Micros) override {
    attempts.push_back({endpoint, err, timedOut});
  }
  void tlsStarted(Micros) override { tls_asked = true; }
  void tlsSettled(bool inUse, const std::string& protocol, const std::string& cipher,
                  Micros took) override {
    tls_settled = true;
    tls_in_use = inUse;
    tls_protocol = protocol;
    tls_cipher = cipher;
    tls_took = took;
  }

  std::optional<ResolveResult> lookup;
  Micros lookup_took{0};
  std::vector<Attempt> attempts;
  bool tls_asked = false;
  bool tls_settled = false;
  bool tls_in_use = false;
  std::string tls_protocol;
  std::string tls_cipher;
  Micros tls_took{0};
};

std::string oneLineText(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return s;
}

std::string attemptError(const Recorder::Attempt& a) {
  return a.timed_out ? std::string("no answer within the timeout") : std::strerror(a.err);
}

class Diagnosis {
 public:
  Diagnosis(const ConnInfo& info, const TargetConfig& target, TargetFacts& facts,
            const std::function<void(const StepReport&)>& onStep)
      : info_(info), target_(target), facts_(facts), onStep_(onStep) {
    options_.application_name = target.application_name;
    options_.statement_timeout = facts.timeout;
    options_.cancel_timeout = std::min(options_.cancel_timeout, facts.timeout);
  }

  StepsOutcome run() {
    PgConnPtr conn{nullptr, &PQfinish};
    // As check: a tcp check rides on the session when the target opens one (query or
    // connections), else it opens its own socket (the tcp probe). diagnose always goes on to
    // the session, to see the login and the query.
    const bool tcpAlone =
        target_.tcp_check && target_.query.empty() && !target_.connections.enabled;
    bool ok = tcpAlone ? dnsAndTcpProbe() : true;
    if (ok) ok = session(conn, !tcpAlone);
    if (ok) ok = query(conn.get());
    if (ok) ok = headroom(conn.get());
    if (ok) idle(conn.get());
    for (const char* s : {"dns", "tcp", "addresses", "tls", "auth", "query", "headroom", "idle"})
      if (!done_.count(s)) skip(s, "not run: an earlier step failed");
    return outcome_;
  }

 private:
  void emit(StepReport s) {
    if (s.status == StepStatus::kFail || s.status == StepStatus::kWarn) {
      if (s.advice.explanation.empty() && s.problem != Problem::kNone)
        s.advice = adviceFor(s.problem, facts_, "");
      if (s.cause == Cause::kNone) s.cause = causeOf(s.problem);
    }
    if (s.status == StepStatus::kFail && outcome_.ok) {
      outcome_.ok = false;
      outcome_.failed_step = s.step;
      outcome_.failed_cause = s.cause;
    }
    done_.insert(s.step);
    onStep_(s);
  }

  void pass(const std::string& step, Micros took, std::string detail) {
    StepReport s;
    s.step = step;
    s.status = StepStatus::kPass;
    s.took = took;
    s.detail = std::move(detail);
    emit(s);
  }

  void skip(const std::string& step, const std::string& why) {
    StepReport s;
    s.step = step;
    s.detail = why;
    emit(s);
  }

  /// A failed step: the cause and phase are the probe's (what `check` reports); the problem
  /// picks the advice, with the probe's message as its detail.
  bool fail(const std::string& step, Micros took, const CheckOutcome& probe, Problem problem,
            std::string detail) {
    StepReport s;
    s.step = step;
    s.status = StepStatus::kFail;
    s.took = took;
    s.problem = problem;
    s.cause = probe.cause;
    s.phase = probe.phase;
    s.detail = std::move(detail);
    s.advice = adviceFor(problem, facts_, probe.message);
    emit(s);
    return false;
  }

  Deadline stepDeadline() const { return Deadline(SystemClock::instance(), facts_.timeout); }

  /// The dns step from the probe's lookup; records the port and socket the probes use (the ones
  /// every later step and remedy names). false when the lookup failed.
  bool dns(const Recorder& rec, const CheckOutcome& probe) {
    if (probe.phase == Phase::kDns || (rec.lookup && rec.lookup->endpoints.empty())) {
      const std::string why = rec.lookup ? rec.lookup->error : probe.message;
      return fail("dns", probe.latency, probe, problemFor(probe.cause, Phase::kDns, why), why);
    }
    if (!rec.lookup) {  // "host=a,b": libpq looks the names up itself, as it does for check
      pass("dns", Micros{0}, "host list " + info_.params.at("host") + ": libpq resolves it");
      return true;
    }
    const std::vector<Endpoint>& endpoints = rec.lookup->endpoints;
    facts_.port = endpoints.front().port;
    facts_.unix_socket = endpoints.front().unix_socket;
    if (facts_.unix_socket) {
      facts_.socket_path = endpoints.front().address;
      pass("dns", rec.lookup_took, "unix socket " + facts_.socket_path + ": no lookup");
      return true;
    }
    facts_.address = endpoints.front().address;
    if (!firstOf(info_.hostaddr()).empty()) {
      pass("dns", rec.lookup_took, "hostaddr=" + firstOf(info_.hostaddr()) + " given: no lookup");
      return true;
    }
    std::string list;
    std::set<std::string> seen;
    for (const auto& ep : endpoints)
      if (seen.insert(ep.address).second) {
        list += (list.empty() ? "" : ", ") + ep.address;
        resolved_.push_back(ep);
      }
    pass("dns", rec.lookup_took, facts_.host + " -> " + list);
    return true;
  }

  /// A failed TCP connect (or unix socket): the probe's cause, and the finer problem found here.
  bool tcpFailed(Micros took, const CheckOutcome& probe, std::string detail) {
    Problem p = problemFor(probe.cause, probe.phase, probe.message);
    if (p == Problem::kRefused && facts_.unix_socket) {
      std::error_code ec;
      if (!std::filesystem::exists(facts_.socket_path, ec)) p = Problem::kNoSocket;
    }
    if (p == Problem::kRefused || (facts_.unix_socket && p == Problem::kNoSocket))
      p = refineRefused(p, facts_);
    return fail("tcp", took, probe, p, std::move(detail));
  }

  /// dns and tcp for a target whose tcp check opens its own socket (no session to ride on):
  /// the tcp probe, as check runs it.
  bool dnsAndTcpProbe() {
    Recorder rec;
    const CheckOutcome tcp = tcpProbe(info_, stepDeadline(), rec);
    if (!dns(rec, tcp)) return false;
    const Micros took = tcp.latency - rec.lookup_took;
    std::string tried;
    for (const auto& a : rec.attempts) {
      if (!facts_.unix_socket) facts_.address = a.endpoint.address;
      if (a.err == 0 && !a.timed_out) break;
      tried += (tried.empty() ? "" : ", ") + a.endpoint.display() + ": " + attemptError(a);
    }
    if (tcp.ok) {
      const Endpoint& used = rec.attempts.back().endpoint;
      pass("tcp", took,
           "connected to " + used.display() + (tried.empty() ? "" : " (" + tried + ")"));
      addresses();
      return true;
    }
    tcpFailed(took, tcp, "connect failed (" + tried + ")");
    addresses();
    return false;
  }

  /// dns and tcp from the session's own lookup and TCP connect, as check's tcp check rides on
  /// the session when there is one.
  bool dnsAndTcpOnSession(const Recorder& rec, const PgConnectOutcome& session) {
    const CheckOutcome& o = session.outcome;
    if (!dns(rec, o)) return false;
    if (!session.connected_after) {
      tcpFailed(o.latency - rec.lookup_took, o, o.message);
      addresses();
      return false;
    }
    pass("tcp", *session.connected_after - rec.lookup_took, "connected to " + session.endpoint);
    addresses();
    return true;
  }

  std::string tlsText(const Recorder& rec) const {
    if (rec.tls_in_use && !rec.tls_protocol.empty())
      return rec.tls_protocol + " " + rec.tls_cipher + " (sslmode=" + facts_.sslmode + ")";
    if (rec.tls_in_use) return "in use (sslmode=" + facts_.sslmode + ")";
    return "not in use: the server does not offer TLS (sslmode=" + facts_.sslmode + " allows that)";
  }

  /// The session (pgConnect): dns and tcp when they ride on it, then tls and auth.
  bool session(PgConnPtr& conn, bool withDnsAndTcp) {
    Recorder rec;
    PgConnectOutcome session = pgConnect(info_, options_, stepDeadline(), "query", rec);
    const CheckOutcome& o = session.outcome;
    if (withDnsAndTcp && !dnsAndTcpOnSession(rec, session)) return false;
    const bool tlsApplies = !facts_.unix_socket && facts_.sslmode != "disable";

    // tls
    if (!tlsApplies) {
      pass("tls", Micros{0},
           facts_.unix_socket ? "not used over a unix socket" : "off (sslmode=disable)");
    } else if (!o.ok && !rec.tls_settled &&
               (o.cause == Cause::kTls || (o.cause == Cause::kTimeout && rec.tls_asked) ||
                (o.cause != Cause::kTimeout && o.phase != Phase::kConnect))) {
      // The server never answered the startup: the TLS request hung, failed, or the connection
      // broke during it.
      const std::string detail =
          o.cause == Cause::kTimeout
              ? "no answer to the TLS request within " + durationText(facts_.timeout)
              : o.message;
      return fail("tls", o.latency, o, problemFor(o.cause, o.phase, o.message), detail);
    } else {
      pass("tls", rec.tls_took, tlsText(rec));
    }

    // auth
    const Micros took = o.latency - rec.tls_took;
    if (!o.ok) {
      const std::string detail = o.cause == Cause::kTimeout ? "no answer from the server within " +
                                                                  durationText(facts_.timeout)
                                                            : o.message;
      return fail("auth", took, o, problemFor(o.cause, o.phase, o.message), detail);
    }
    conn = std::move(session.conn);
    facts_.server_version_num = PQserverVersion(conn.get());
    if (facts_.server_version_num > 0)
      facts_.pg_major = std::to_string(facts_.server_version_num / 10000);
    const char* version = PQparameterStatus(conn.get(), "server_version");
    const char* hotStandby = PQparameterStatus(conn.get(), "in_hot_standby");
    pass("auth", took,
         "logged in as " + facts_.user + " to database " + facts_.dbname + " (PostgreSQL " +
             (version ? version : "?") +
             (hotStandby && std::string(hotStandby) == "on" ? ", a hot standby" : "") + ")");
    return true;
  }

  bool query(PGconn* conn) {
    const std::string sql = target_.query.empty() ? "SELECT 1" : target_.query;
    const PgQueryOutcome q = pgQuery(conn, sql, stepDeadline(), "query", options_);
    const CheckOutcome& o = q.outcome;
    if (o.ok) {
      pass("query", o.latency, "'" + sql + "' answered");
      return true;
    }
    const Problem p = problemFor(o.cause, Phase::kQuery, o.message);
    if (p == Problem::kQueryTimeout)
      return fail("query", o.latency, o, p,
                  "'" + sql + "' did not finish within " + durationText(facts_.timeout));
    return fail("query", o.latency, o, p,
                "'" + sql + "' failed: " + o.message +
                    (o.sqlstate.empty() ? "" : " (SQLSTATE " + o.sqlstate + ")"));
  }

  /// One address of the name, on its own: a libpq session with hostaddr= pinned to it (TCP,
  /// TLS and the login, as the driver of an application that picked this address would go).
  AddressProbe probeAddress(const Endpoint& ep) {
    ConnInfo pinned = info_;
    pinned.params["hostaddr"] = ep.address;
    PgConnectOutcome s = pgConnect(pinned, options_, stepDeadline(), "query");
    AddressProbe a;
    a.address = ep.address;
    a.port = ep.port;
    a.tcp_ok = s.outcome.ok || s.connected_after.has_value();
    a.login_ok = s.outcome.ok;
    if (!a.tcp_ok)
      a.tcp_error = s.outcome.cause == Cause::kRefused ? std::string("refused")
                    : s.outcome.cause == Cause::kTimeout
                        ? "no answer within " + durationText(facts_.timeout)
                        : oneLineText(s.outcome.message);
    else if (!a.login_ok)
      a.login_error = oneLineText(s.outcome.message);
    return a;
  }

  /// The addresses step: a name with several addresses, each tried on its own, and where each
  /// kind of client driver ends up (addresses.h). Runs after tcp whether it passed or not: a
  /// refused first address is the case it is for.
  void addresses() {
    if (facts_.unix_socket) return skip("addresses", "unix socket: no addresses to compare");
    if (!firstOf(info_.hostaddr()).empty())
      return skip("addresses", "hostaddr= given: the address is fixed");
    if (info_.params.count("host") && info_.params.at("host").find(',') != std::string::npos)
      return skip("addresses", "host list: libpq tries each host in turn");
    if (resolved_.size() < 2)
      return skip("addresses", facts_.host + " has one address: nothing to compare");
    const auto start = std::chrono::steady_clock::now();
    StepReport s;
    s.step = "addresses";
    for (const auto& ep : resolved_) s.addresses.push_back(probeAddress(ep));
    s.took = std::chrono::duration_cast<Micros>(std::chrono::steady_clock::now() - start);
    const AddressVerdict v = judgeAddresses(facts_.host, s.addresses);
    s.status = v.warn ? StepStatus::kWarn : StepStatus::kPass;
    s.detail = v.detail;
    s.advice = v.advice;
    s.drivers = driverOutcomes(s.addresses);
    emit(s);
  }

  /// The idle step: the settings that close idle sessions or keep idle connections alive, and
  /// what they mean for an application pool (idle_settings.h). A warning at most, never a
  /// failure; a query error (an old server without some of them) leaves the step skipped.
  void idle(PGconn* conn) {
    std::string names;
    for (const auto& n : idleSettingNames()) names += (names.empty() ? "'" : ", '") + n + "'";
    const PgQueryOutcome q = pgQuery(conn,
                                     "SELECT name, setting, coalesce(unit, ''), "
                                     "coalesce(boot_val, ''), source FROM pg_catalog.pg_settings "
                                     "WHERE name IN (" +
                                         names + ")",
                                     stepDeadline(), "query", options_);
    if (!q.outcome.ok) return skip("idle", "could not read pg_settings: " + q.outcome.message);
    std::vector<ServerSetting> settings;
    for (const auto& name : idleSettingNames())  // in the reporting order
      for (const auto& row : q.rows)
        if (row.size() == 5 && row[0] && *row[0] == name)
          settings.push_back({name, row[1].value_or(""), row[2].value_or(""), row[3].value_or(""),
                              row[4].value_or("")});
    const IdleVerdict v = judgeIdleSettings(settings, facts_.user);
    StepReport s;
    s.step = "idle";
    s.took = q.outcome.latency;
    s.status = v.warn ? StepStatus::kWarn : StepStatus::kPass;
    s.detail = v.detail;
    s.notes = v.notes;
    s.advice = v.advice;
    s.settings = settings;
    emit(s);
  }

  /// Without pg_read_all_stats, other roles' sessions (and background processes) show with
  /// backend_type NULL: counted apart so that a low figure does not mislead.
  int hiddenSessions(PGconn* conn) {
    const PgQueryOutcome h =
        pgQuery(conn, "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type IS NULL",
                stepDeadline(), "connections", options_);
    if (!h.outcome.ok || h.rows.size() != 1 || h.rows[0].empty() || !h.rows[0][0]) return 0;
    return std::atoi(h.rows[0][0]->c_str());
  }

  bool headroom(PGconn* conn) {
    if (!target_.connections.enabled) {
      skip("headroom", "the connections check is off for this target");
      return true;
    }
    // The same query and judgement as `check` (probes/connections_check.h): client backends
    // other than our own session against usable slots.
    const Deadline deadline = stepDeadline();
    const SteadyTime start = deadline.clock().now();
    const ConnectionsOutcome c = runConnectionsCheck(conn, deadline, options_);
    const int hidden = c.stats ? hiddenSessions(conn) : 0;
    const Micros took = std::chrono::duration_cast<Micros>(deadline.clock().now() - start);
    if (!c.stats) {
      const Problem p = problemFor(c.outcome.cause, Phase::kQuery, c.outcome.message);
      if (p == Problem::kQueryTimeout)
        return fail(
            "headroom", took, c.outcome, p,
            "the pg_stat_activity query did not finish within " + durationText(facts_.timeout));
      return fail("headroom", took, c.outcome, p,
                  "could not count connections: " + c.outcome.message +
                      (c.outcome.sqlstate.empty() ? "" : " (SQLSTATE " + c.outcome.sqlstate + ")"));
    }
    const ConnectionStats& stats = *c.stats;
    const ConnectionsJudgement judged = judgeConnections(stats, target_.connections);
    const double ratio = stats.ratio();
    std::string states;
    for (const auto& [state, n] : stats.by_state)
      states += (states.empty() ? "" : " ") + state + "=" + std::to_string(n);
    const std::string usage =
        formatWholePercent(ratio) + " of " + std::to_string(stats.usable) + " usable";
    StepReport s;
    s.step = "headroom";
    s.took = took;
    s.detail =
        std::to_string(stats.used) + "/" + std::to_string(stats.usable) +
        " client backends besides this one (" + formatWholePercent(ratio) + "; max_connections " +
        std::to_string(stats.max_connections) + " - superuser_reserved " +
        std::to_string(stats.superuser_reserved) +
        (facts_.server_version_num >= 160000 ? " - reserved " + std::to_string(stats.reserved)
                                             : std::string()) +
        ")" + (states.empty() ? "" : " [" + states + "]");
    if (judged.critical) {
      s.status = StepStatus::kFail;
      s.problem = Problem::kSaturated;
      s.cause = Cause::kTooManyConnections;
      s.advice = adviceFor(Problem::kSaturated, facts_, usage);
    } else if (judged.warn) {
      s.status = StepStatus::kWarn;
      s.problem = Problem::kNearlySaturated;
      s.advice = adviceFor(Problem::kNearlySaturated, facts_, usage);
    } else {
      s.status = StepStatus::kPass;
    }
    if (hidden > 0) {
      if (s.status == StepStatus::kPass) {
        s.status = StepStatus::kWarn;
        s.advice.explanation.clear();
      }
      s.detail += "; " + std::to_string(hidden) + " more sessions hidden from " + facts_.user;
      s.cause = s.status == StepStatus::kFail ? s.cause : Cause::kNone;
      s.advice.remedies.push_back("the count may be low: " + facts_.user +
                                  " cannot see other roles' sessions; GRANT pg_monitor TO " +
                                  facts_.user + "; (or pg_read_all_stats)");
      if (s.advice.explanation.empty())
        s.advice.explanation = std::to_string(hidden) +
                               " sessions of other roles (or background processes) are hidden "
                               "from " +
                               facts_.user + ", so the count may be low";
    }
    emit(s);
    return s.status != StepStatus::kFail;
  }

  const ConnInfo& info_;
  const TargetConfig& target_;
  TargetFacts& facts_;
  const std::function<void(const StepReport&)>& onStep_;
  PgProbeOptions options_;
  std::set<std::string> done_;
  StepsOutcome outcome_;
  std::vector<Endpoint> resolved_;  ///< the name's distinct addresses, in the resolver's order
};

}  // namespace

StepsOutcome runSteps(const ConnInfo& info, const TargetConfig& target, TargetFacts& facts,
                      const std::function<void(const StepReport&)>& onStep) {
  return Diagnosis(info, target, facts, onStep).run();
}

}  // namespace pgvigil
