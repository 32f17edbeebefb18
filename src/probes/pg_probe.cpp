#include "probes/pg_probe.h"

#include "core/guarded.h"

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/classify.h"
#include "probes/net.h"
#include "probes/tcp_probe.h"

namespace pgvigil {
namespace {

void ignoreNotice(void*, const char*) {}

Micros since(const Clock& clock, SteadyTime start) {
  return std::chrono::duration_cast<Micros>(clock.now() - start);
}

enum class WaitResult { kReady, kTimeout, kError };

/// poll() one fd for events until the deadline (real time, what the deadline has left).
WaitResult waitFor(int fd, short events, const Deadline& deadline, short* revents = nullptr) {
  if (fd < 0) return WaitResult::kError;
  for (;;) {
    int ms = int(deadline.remaining().count());
    if (ms <= 0) return WaitResult::kTimeout;
    net::PollFd p{net::fromLibpq(fd), events, 0};
    int n = net::poll(&p, 1, ms);
    if (n < 0) {
      if (net::lastError() == EINTR) continue;
      return WaitResult::kError;
    }
    if (n == 0) return WaitResult::kTimeout;  // waited all that was left
    if (revents) *revents = p.revents;
    return WaitResult::kReady;
  }
}

/// Sends a cancel request for the running query, waiting at most timeout for it: PQcancel()
/// blocks (it opens its own connection), so it runs on a helper thread that owns what it uses.
void cancelBounded(PGconn* conn, Millis timeout) {
  std::shared_ptr<PGcancel> cancel(PQgetCancel(conn), &PQfreeCancel);
  if (!cancel) return;
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
  };
  auto state = std::make_shared<State>();
  std::thread([cancel, state] {
    // Guarded: nothing here should throw, but a throw from a thread body is std::terminate.
    runGuarded(
        "query cancel",
        [&] {
          char err[256];
          PQcancel(cancel.get(), err, sizeof err);
        },
        nullptr);
    runGuarded(
        "query cancel",
        [&] {
          std::lock_guard lock(state->mutex);
          state->done = true;
          state->cv.notify_all();
        },
        nullptr);
  }).detach();
  std::unique_lock lock(state->mutex);
  state->cv.wait_for(lock, timeout, [&] { return state->done; });
}

std::string describeFailure(Cause cause, Phase phase, const std::string& endpoint,
                            const std::string& raw, Micros elapsed) {
  switch (cause) {
    case Cause::kRefused:
      return "connection refused on " + endpoint;
    case Cause::kReset:
      return "connection reset by " + endpoint + " in " + std::string(toString(phase)) + " phase";
    case Cause::kTimeout:
      if (sqlstateFromMessage(raw) == "57014" || raw.find("statement timeout") != std::string::npos)
        return "timeout in query phase after " + formatSeconds(elapsed) + " (statement_timeout)";
      return "timeout in " + std::string(toString(phase)) + " phase after " +
             formatSeconds(elapsed);
    default:
      return cleanPgMessage(raw);
  }
}

}  // namespace

Phase phaseOfConnStatus(ConnStatusType status, bool usedPassword) {
  switch (status) {
    case CONNECTION_NEEDED:
    case CONNECTION_STARTED:
      return Phase::kConnect;
    case CONNECTION_MADE:
    case CONNECTION_SSL_STARTUP:
    case CONNECTION_GSS_STARTUP:
      return Phase::kStartup;
    case CONNECTION_AWAITING_RESPONSE:
      return usedPassword ? Phase::kAuth : Phase::kStartup;
    case CONNECTION_AUTH_OK:
    case CONNECTION_SETENV:
    case CONNECTION_CHECK_WRITABLE:
    case CONNECTION_CONSUME:
    case CONNECTION_CHECK_TARGET:
    case CONNECTION_CHECK_STANDBY:
      return Phase::kAuth;
    case CONNECTION_OK:
      return Phase::kQuery;
    default:
      return Phase::kStartup;
  }
}

std::string cleanPgMessage(const std::string& raw) {
  std::string text = raw;
  if (text.rfind("connection to server", 0) == 0) {
    auto failed = text.find("failed: ");
    if (failed != std::string::npos) text = text.substr(failed + 8);
  }
  std::string main;
  std::string detail;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty() || line[0] == '\t' || line.rfind("LOCATION:", 0) == 0 ||
        line.rfind("HINT:", 0) == 0)
      continue;
    if (line.rfind("DETAIL:", 0) == 0) {
      if (detail.empty()) {
        detail = line.substr(7);
        while (!detail.empty() && detail.front() == ' ') detail.erase(0, 1);
      }
      continue;
    }
    if (!main.empty()) continue;
    for (const char* sev : {"FATAL:  ", "ERROR:  ", "PANIC:  ", "WARNING:  "})
      if (line.rfind(sev, 0) == 0) line = line.substr(std::string(sev).size());
    if (line.size() > 7 && line[5] == ':' && line[6] == ' ' &&
        sqlstateFromMessage("ERROR:  " + line.substr(0, 7)) == line.substr(0, 5))
      line = line.substr(7);
    while (!line.empty() && line.front() == ' ') line.erase(0, 1);
    main = line;
  }
  if (main.empty()) main = "unknown error";
  if (!detail.empty()) main += " (" + detail + ")";
  return main;
}

std::string serverVersion(PGconn* conn) {
  const char* v = PQparameterStatus(conn, "server_version");
  if (!v) return "";
  std::string s(v);
  auto space = s.find(' ');
  return space == std::string::npos ? s : s.substr(0, space);
}

PgConnectOutcome pgConnect(const ConnInfo& info, const PgProbeOptions& options,
                           const Deadline& deadline, const std::string& checkName,
                           ProbeObserver& observer) {
  const Clock& clock = deadline.clock();
  const SteadyTime start = clock.now();
  PgConnectOutcome out;
  out.outcome.check = checkName;
  auto fail = [&](Cause cause, Phase phase, const std::string& raw, std::string sqlstate) {
    out.conn.reset();
    out.outcome.ok = false;
    out.outcome.cause = cause;
    out.outcome.phase = phase;
    out.outcome.latency = since(clock, start);
    out.outcome.sqlstate = std::move(sqlstate);
    out.outcome.message = describeFailure(cause, phase, out.endpoint, raw, out.outcome.latency);
    return std::move(out);
  };

  // Resolve host names ourselves (bounded); libpq's own getaddrinfo() would block.
  ConnInfo effective = info;
  auto hostIt = info.params.find("host");
  bool multiHost = hostIt != info.params.end() && hostIt->second.find(',') != std::string::npos;
  if (!multiHost) {
    ResolveResult resolved = resolveEndpoints(info, deadline);
    observer.resolved(resolved, since(clock, start));
    if (resolved.endpoints.empty()) {
      out.endpoint = info.host();
      return fail(Cause::kDns, Phase::kDns, resolved.error, "");
    }
    // Every address, in the resolver's order, as libpq would try them itself.
    pinResolvedAddresses(effective, resolved);
    out.endpoint = displayEndpoints(resolved.endpoints);
  } else {
    out.endpoint = hostIt->second;
  }

  int connectTimeout = int(std::ceil(double(deadline.remaining().count()) / 1000.0));
  ConnectParams params = buildConnectParams(effective, options.application_name, connectTimeout,
                                            int(options.statement_timeout.count()));
  const std::vector<const char*> keys = params.keywordArray(), values = params.valueArray();

  out.conn.reset(PQconnectStartParams(keys.data(), values.data(), 0));
  if (!out.conn) return fail(Cause::kInternal, Phase::kConnect, "out of memory", "");
  PGconn* conn = out.conn.get();
  PQsetNoticeProcessor(conn, &ignoreNotice, nullptr);
  PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);

  Phase phase = Phase::kConnect;
  observer.sessionPhase(phase, since(clock, start));
  // For the observer: when TLS was asked for, how long it took, and whether it is settled.
  std::optional<SteadyTime> tlsStart;
  std::optional<Micros> tlsTook;
  bool tlsSettled = false;
  auto settleTls = [&] {
    if (tlsSettled) return;
    tlsSettled = true;
    if (tlsStart && !tlsTook) tlsTook = since(clock, *tlsStart);
    const bool inUse = PQsslInUse(conn) != 0;
    const char* protocol = inUse ? PQsslAttribute(conn, "protocol") : nullptr;
    const char* cipher = inUse ? PQsslAttribute(conn, "cipher") : nullptr;
    observer.tlsSettled(inUse, protocol ? protocol : "", cipher ? cipher : "",
                        tlsTook.value_or(Micros{0}));
  };
  PostgresPollingStatusType st =
      PQstatus(conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  for (;;) {
    if (st == PGRES_POLLING_OK) break;
    if (st == PGRES_POLLING_FAILED) {
      std::string raw = PQerrorMessage(conn);
      std::string sqlstate(sqlstateFromMessage(raw));
      return fail(classify(phase, sqlstate, raw, 0), phase, raw, sqlstate);
    }
    ConnStatusType cs = PQstatus(conn);
    const Phase before = phase;
    if (cs != CONNECTION_BAD) phase = phaseOfConnStatus(cs, PQconnectionUsedPassword(conn));
    if (phase != before) observer.sessionPhase(phase, since(clock, start));
    if (cs == CONNECTION_SSL_STARTUP && !tlsStart) {
      tlsStart = clock.now();
      observer.tlsStarted(since(clock, start));
    } else if (cs != CONNECTION_SSL_STARTUP && tlsStart && !tlsTook) {
      tlsTook = since(clock, *tlsStart);
    }
    if (cs == CONNECTION_AWAITING_RESPONSE || phase == Phase::kAuth) settleTls();
    if (phase != Phase::kConnect && !out.connected_after) out.connected_after = since(clock, start);
    WaitResult w = waitFor(PQsocket(conn),
                           st == PGRES_POLLING_READING ? net::kReadable : net::kWritable, deadline);
    if (w == WaitResult::kTimeout) return fail(Cause::kTimeout, phase, "", "");
    st = PQconnectPoll(conn);
  }
  if (PQsetnonblocking(conn, 1) != 0)
    return fail(Cause::kInternal, Phase::kQuery, PQerrorMessage(conn), "");
  // The address that answered, of those tried.
  if (const char* a = PQhostaddr(conn); a && *a && !multiHost) {
    Endpoint ep;
    ep.address = a;
    if (const char* p = PQport(conn); p && *p) ep.port = std::atoi(p);
    out.endpoint = ep.display();
  }
  out.outcome.ok = true;
  out.outcome.latency = since(clock, start);
  if (!out.connected_after) out.connected_after = out.outcome.latency;
  settleTls();
  observer.sessionPhase(Phase::kQuery, out.outcome.latency);
  observer.authenticated(out.outcome.latency);
  return out;
}

namespace {

PgQueryOutcome runQuery(PGconn* conn, const std::string& sql, const Deadline& deadline,
                        const std::string& checkName, const PgProbeOptions& options) {
  const Clock& clock = deadline.clock();
  const SteadyTime start = clock.now();
  PgQueryOutcome out;
  out.outcome.check = checkName;
  out.outcome.phase = Phase::kQuery;
  std::string endpoint;
  if (const char* h = PQhost(conn)) endpoint = h;
  if (const char* p = PQport(conn); p && !endpoint.empty() && endpoint.front() != '/')
    endpoint += std::string(":") + p;
  auto fail = [&](Cause cause, const std::string& raw, std::string sqlstate) {
    out.rows.clear();
    out.outcome.ok = false;
    out.outcome.cause = cause;
    out.outcome.latency = since(clock, start);
    out.outcome.sqlstate = std::move(sqlstate);
    out.outcome.message = describeFailure(cause, Phase::kQuery, endpoint, raw, out.outcome.latency);
    return std::move(out);
  };
  auto broken = [&]() {
    std::string raw = PQerrorMessage(conn);
    std::string sqlstate(sqlstateFromMessage(raw));
    Cause c = classify(Phase::kQuery, sqlstate, raw, 0);
    if (c == Cause::kInternal && PQstatus(conn) == CONNECTION_BAD) c = Cause::kReset;
    return fail(c, raw, sqlstate);
  };
  auto timedOut = [&]() {
    cancelBounded(conn, options.cancel_timeout);
    return fail(Cause::kTimeout, "", "");
  };

  if (!PQsendQuery(conn, sql.c_str())) return broken();
  for (;;) {
    int f = PQflush(conn);
    if (f == 0) break;
    if (f < 0) return broken();
    short rev = 0;
    WaitResult w = waitFor(PQsocket(conn), net::kWritable | net::kReadable, deadline, &rev);
    if (w == WaitResult::kTimeout) return timedOut();
    if (w == WaitResult::kError) return broken();
    if ((rev & net::kReadable) && !PQconsumeInput(conn)) return broken();
  }

  bool haveError = false;
  std::string errorRaw, errorState;
  for (;;) {
    while (PQisBusy(conn)) {
      WaitResult w = waitFor(PQsocket(conn), net::kReadable, deadline);
      if (w == WaitResult::kTimeout) return timedOut();
      if (w == WaitResult::kError || !PQconsumeInput(conn)) return broken();
    }
    PgResultPtr res(PQgetResult(conn), &PQclear);
    if (!res) break;
    switch (PQresultStatus(res.get())) {
      case PGRES_TUPLES_OK: {
        out.rows.clear();
        for (int r = 0; r < PQntuples(res.get()); ++r) {
          std::vector<std::optional<std::string>> row;
          for (int c = 0; c < PQnfields(res.get()); ++c) {
            if (PQgetisnull(res.get(), r, c))
              row.emplace_back(std::nullopt);
            else
              row.emplace_back(PQgetvalue(res.get(), r, c));
          }
          out.rows.push_back(std::move(row));
        }
        break;
      }
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        break;
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        return fail(Cause::kQueryError, "ERROR:  the query must not use COPY", "");
      default:
        if (!haveError) {
          haveError = true;
          errorRaw = PQresultErrorMessage(res.get());
          const char* st = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
          errorState = st ? st : "";
        }
    }
  }
  if (haveError) {
    Cause c = classify(Phase::kQuery, errorState, errorRaw, 0);
    if (errorState.empty() && c == Cause::kInternal && PQstatus(conn) == CONNECTION_BAD)
      c = Cause::kReset;
    return fail(c, errorRaw, errorState);
  }
  out.outcome.ok = true;
  out.outcome.latency = since(clock, start);
  return out;
}

}  // namespace

PgQueryOutcome pgQuery(PGconn* conn, const std::string& sql, const Deadline& deadline,
                       const std::string& checkName, const PgProbeOptions& options,
                       ProbeObserver& observer) {
  PgQueryOutcome out = runQuery(conn, sql, deadline, checkName, options);
  observer.queryDone(out.outcome);
  return out;
}

}  // namespace pgvigil
