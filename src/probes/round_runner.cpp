#include "probes/round_runner.h"

#include "core/connection_holders.h"
#include "core/redact.h"
#include "probes/connections_check.h"
#include "probes/conninfo.h"
#include "probes/pg_probe.h"
#include "probes/tcp_probe.h"
#include "probes/tls_cert.h"

namespace pgvigil {
namespace {

Micros since(const Clock& clock, SteadyTime start) {
  return std::chrono::duration_cast<Micros>(clock.now() - start);
}

/// Failure messages name the round's elapsed time for a timeout, and never a secret.
void finishFailure(RoundResult& r, const CheckOutcome& failed, const Clock& clock,
                   const std::vector<std::string>& secrets) {
  r.verdict = Verdict::kFailed;
  r.cause = failed.cause;
  r.phase = failed.phase;
  if (failed.cause == Cause::kTimeout && failed.sqlstate.empty() &&
      failed.message.find("statement_timeout") == std::string::npos)
    r.message = "timeout in " + std::string(toString(failed.phase)) + " phase after " +
                formatSeconds(since(clock, r.started));
  else
    r.message = failed.message;
  r.message = redactSecrets(r.message, secrets);
}

}  // namespace

namespace {

/// Judges the figures against the thresholds and puts them in the round.
void takeConnections(RoundResult& r, const TargetConfig& target, ConnectionStats stats,
                     CheckOutcome& outcome) {
  ConnectionsJudgement j = judgeConnections(stats, target.connections);
  r.connections = std::move(stats);
  r.connections_warn = j.warn;
  r.connections_critical = j.critical;
  if (j.warn) {
    outcome.message = j.reason;
    r.degraded_reason = j.reason;
  }
}

RoundResult runRoundOrThrow(const TargetConfig& target, const Clock& clock,
                            const ConnectionsSource& source) {
  RoundResult r;
  r.started = clock.now();
  r.checked_at = clock.wallNow();
  const Deadline deadline(clock, target.timeout);
  const std::vector<std::string> secrets = connInfoSecrets(target.conninfo);
  auto done = [&]() -> RoundResult {
    r.latency = since(clock, r.started);
    for (auto& c : r.checks) c.message = redactSecrets(c.message, secrets);
    return r;
  };

  std::string parseError;
  std::optional<ConnInfo> info = parseConnInfo(target.conninfo, &parseError);
  if (!info) {
    CheckOutcome bad;
    bad.check = target.tcp_check ? "tcp" : "query";
    bad.cause = Cause::kInternal;
    bad.message = "invalid conninfo: " + parseError;
    r.checks.push_back(bad);
    finishFailure(r, bad, clock, secrets);
    return done();
  }

  const bool wantQuery = !target.query.empty();
  const bool wantConnections = target.connections.enabled;
  // With a session to open anyway, the tcp check is that session's own TCP connect: one
  // connection per round instead of two (a bare connect also makes the postmaster fork a
  // backend that exits at once). Alone, the tcp check opens its own socket.
  const bool tcpOnSession = target.tcp_check && (wantQuery || wantConnections);
  if (target.tcp_check && !tcpOnSession) {
    CheckOutcome tcp = tcpProbe(*info, deadline);
    r.checks.push_back(tcp);
    if (!tcp.ok) {
      finishFailure(r, tcp, clock, secrets);
      return done();
    }
  }
  if (!wantQuery && !wantConnections) {
    r.verdict = Verdict::kOk;
    return done();
  }

  PgProbeOptions options;
  options.application_name = target.application_name;
  options.statement_timeout = target.timeout;
  const std::string firstCheck = wantQuery ? "query" : "connections";
  PgConnectOutcome session = pgConnect(*info, options, deadline, firstCheck);
  if (tcpOnSession) {
    CheckOutcome tcp = session.outcome;  // the failure, when it came before the socket connected
    tcp.check = "tcp";
    if (!session.connected_after) {  // refused, reset, timed out or unresolvable
      r.checks.push_back(tcp);
      finishFailure(r, tcp, clock, secrets);
      return done();
    }
    tcp = CheckOutcome{};
    tcp.check = "tcp";
    tcp.ok = true;
    tcp.latency = *session.connected_after;
    r.checks.push_back(tcp);
  }
  if (!session.conn) {
    r.checks.push_back(session.outcome);
    finishFailure(r, session.outcome, clock, secrets);
    // A full server still answers on the monitoring session: the figures (and who holds the
    // slots) are what the person on call needs now, so they stay in the failed round.
    if (wantConnections && source && session.outcome.cause == Cause::kTooManyConnections) {
      if (auto stats = source(0, deadline)) {
        CheckOutcome ignored;
        stats->measured_at = clock.wallNow();
        stats->from_monitor = true;
        takeConnections(r, target, std::move(*stats), ignored);
        if (!r.connections->holders.empty()) r.message += "; " + topHolderText(*r.connections);
        r.message = redactSecrets(r.message, secrets);
      }
    }
    return done();
  }
  r.server_version = serverVersion(session.conn.get());
  r.server_cert_not_after = serverCertNotAfter(session.conn.get());

  if (wantQuery) {
    PgQueryOutcome q = pgQuery(session.conn.get(), target.query, deadline, "query", options);
    // The liveness check's latency is the whole fresh session: connect + query.
    q.outcome.latency += session.outcome.latency;
    r.checks.push_back(q.outcome);
    if (!q.outcome.ok) {
      finishFailure(r, q.outcome, clock, secrets);
      return done();
    }
  }

  if (wantConnections) {
    ConnectionsOutcome c;
    std::optional<ConnectionStats> fromMonitor;
    if (source) {
      const SteadyTime asked = clock.now();
      // At most half of what is left: should that session be slow, the fresh one still has
      // time to run the query itself.
      const Deadline half(clock, deadline.remaining() / 2);
      fromMonitor = source(PQbackendPID(session.conn.get()), half);
      if (fromMonitor) {
        c.outcome.check = "connections";
        c.outcome.ok = true;
        c.outcome.latency = since(clock, asked);
        fromMonitor->from_monitor = true;
        c.stats = std::move(fromMonitor);
      }
    }
    if (!c.stats) {
      c = runConnectionsCheck(session.conn.get(), deadline);
      if (!wantQuery) c.outcome.latency += session.outcome.latency;
    }
    if (c.outcome.ok && c.stats) {
      c.stats->measured_at = clock.wallNow();
      takeConnections(r, target, std::move(*c.stats), c.outcome);
    }
    r.checks.push_back(c.outcome);
    if (!c.outcome.ok) {
      finishFailure(r, c.outcome, clock, secrets);
      return done();
    }
  }
  session.conn.reset();  // PQfinish: Terminate, so the server logs nothing
  r.verdict = r.connections_warn ? Verdict::kDegraded : Verdict::kOk;
  return done();
}

}  // namespace

RoundResult runRound(const TargetConfig& target, const Clock& clock) {
  return runRoundWith(target, clock, ConnectionsSource{});
}

RoundResult runRoundWith(const TargetConfig& target, const Clock& clock,
                         const ConnectionsSource& source) {
  try {
    return runRoundOrThrow(target, clock, source);
  } catch (const std::exception& e) {
    // Out of memory or threads: still a result, never an exception (the message holds no
    // conninfo, so there is nothing to redact).
    RoundResult r;
    r.started = clock.now();
    r.checked_at = clock.wallNow();
    r.verdict = Verdict::kFailed;
    r.cause = Cause::kInternal;
    r.message = std::string("internal error: ") + e.what();
    return r;
  }
}

}  // namespace pgvigil
