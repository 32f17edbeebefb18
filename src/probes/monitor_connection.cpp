#include "probes/monitor_connection.h"

#include <vector>

#include "core/classify.h"
#include "core/redact.h"
#include "probes/conninfo.h"
#include "probes/net.h"
#include "probes/pg_probe.h"
#include "probes/tcp_probe.h"

namespace pgvigil {
namespace {
constexpr Millis kDnsBound{2000};
/// The connections query reads pg_stat_activity: milliseconds. Anything longer is cancelled by
/// the server itself, so that a query in flight never holds the session for long.
constexpr int kStatementTimeoutMs = 5000;
}  // namespace

MonitorConnection::MonitorConnection(std::string conninfo, std::string applicationName)
    : conninfo_(std::move(conninfo)), applicationName_(std::move(applicationName)) {}

MonitorConnection::~MonitorConnection() = default;

void MonitorConnection::close() {
  conn_.reset();  // PQfinish sends Terminate when the session is up
  state_ = State::kClosed;
  querying_ = false;
  flushPending_ = false;
  prepared_.clear();
  preparing_.reset();
  unnamedOnly_ = false;
}

void MonitorConnection::onNotice(void* self, const PGresult* result) {
  auto* me = static_cast<MonitorConnection*>(self);
  const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (!severity) severity = PQresultErrorField(result, PG_DIAG_SEVERITY);
  std::string sev = severity ? severity : "";
  // An ERROR/FATAL that arrives while the session is idle is passed to the notice receiver:
  // it is the server telling us why it is about to close the connection.
  if (sev == "FATAL" || sev == "PANIC" || sev == "ERROR") {
    me->fatalNotice_ = true;
    const char* st = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    me->sqlstate_ = st ? st : "";
    const char* msg = PQresultErrorMessage(result);
    me->lastError_ = cleanPgMessage(msg ? msg : "");
  }
}

void MonitorConnection::setFailure(State state, Phase phase, const std::string& raw,
                                   std::string sqlstate) {
  if (sqlstate.empty()) sqlstate = std::string(sqlstateFromMessage(raw));
  cause_ = classify(phase, sqlstate, raw, 0);
  if (state == State::kDropped && cause_ == Cause::kInternal) cause_ = Cause::kReset;
  sqlstate_ = std::move(sqlstate);
  lastError_ = redactSecrets(cleanPgMessage(raw), connInfoSecrets(conninfo_));
  state_ = state;
  querying_ = false;
  flushPending_ = false;
}

bool MonitorConnection::open() {
  close();
  cause_ = Cause::kNone;
  lastError_.clear();
  sqlstate_.clear();
  fatalNotice_ = false;
  std::string error;
  auto info = parseConnInfo(conninfo_, &error);
  if (!info) {
    setFailure(State::kFailed, Phase::kNone, "invalid conninfo: " + error, "");
    cause_ = Cause::kInternal;
    return false;
  }
  // Resolve a host name here, bounded, and hand libpq the address: its own getaddrinfo() in
  // PQconnectPoll would block the caller's poll loop for as long as DNS takes.
  auto hostIt = info->params.find("host");
  bool multiHost = hostIt != info->params.end() && hostIt->second.find(',') != std::string::npos;
  if (!multiHost && !info->isUnixSocket() && info->hostaddr().empty()) {
    ResolveResult resolved = resolveEndpoints(*info, Deadline(SystemClock::instance(), kDnsBound));
    if (resolved.endpoints.empty()) {
      setFailure(State::kFailed, Phase::kDns, resolved.error, "");
      cause_ = Cause::kDns;
      return false;
    }
    pinResolvedAddresses(*info, resolved);  // every address, tried in turn as libpq does
  }
  // One statement runs here: the connections query, bounded server-side as well;
  // connect_timeout is a backstop for openAndWait's deadline.
  ConnectParams params = buildConnectParams(*info, applicationName_, 10, kStatementTimeoutMs);
  // keepalives notice a peer that vanished without a FIN (host down, network cut).
  for (const auto& [k, v] :
       std::initializer_list<std::pair<const char*, const char*>>{{"keepalives", "1"},
                                                                  {"keepalives_idle", "10"},
                                                                  {"keepalives_interval", "5"},
                                                                  {"keepalives_count", "3"}}) {
    if (!info->params.count(k)) {
      params.keys.push_back(k);
      params.values.push_back(v);
    }
  }
  const std::vector<const char*> keys = params.keywordArray(), values = params.valueArray();
  conn_.reset(PQconnectStartParams(keys.data(), values.data(), 0));
  if (!conn_) {
    setFailure(State::kFailed, Phase::kConnect, "out of memory", "");
    return false;
  }
  PQsetNoticeReceiver(conn_.get(), &MonitorConnection::onNotice, this);
  PQsetErrorVerbosity(conn_.get(), PQERRORS_VERBOSE);
  if (PQstatus(conn_.get()) == CONNECTION_BAD) {
    setFailure(State::kFailed, Phase::kConnect, PQerrorMessage(conn_.get()), "");
    conn_.reset();
    return false;
  }
  state_ = State::kConnecting;
  poll_ = PGRES_POLLING_WRITING;
  phase_ = Phase::kConnect;
  return true;
}

MonitorConnection::State MonitorConnection::advance() {
  if (state_ != State::kConnecting) return state_;
  ConnStatusType cs = PQstatus(conn_.get());
  if (cs != CONNECTION_BAD) phase_ = phaseOfConnStatus(cs, PQconnectionUsedPassword(conn_.get()));
  // PQconnectPoll does not block: it reads/writes what the socket allows.
  poll_ = PQconnectPoll(conn_.get());
  if (poll_ == PGRES_POLLING_OK) {
    if (PQsetnonblocking(conn_.get(), 1) != 0) {
      setFailure(State::kFailed, Phase::kConnect, PQerrorMessage(conn_.get()), "");
      conn_.reset();
      return state_;
    }
    state_ = State::kReady;
  } else if (poll_ == PGRES_POLLING_FAILED) {
    setFailure(State::kFailed, phase_, PQerrorMessage(conn_.get()), "");
    conn_.reset();
  }
  return state_;
}

bool MonitorConnection::openAndWait(const Deadline& deadline) {
  if (!open()) return false;
  while (state_ == State::kConnecting) {
    int ms = int(deadline.remaining().count());
    if (ms <= 0) {
      conn_.reset();
      cause_ = Cause::kTimeout;
      lastError_ = "timeout in " + std::string(toString(phase_)) + " phase";
      state_ = State::kFailed;
      return false;
    }
    net::PollFd p{net::fromLibpq(socket()), events(), 0};
    int n = net::poll(&p, 1, ms);
    if (n < 0 && net::lastError() != EINTR) {
      setFailure(State::kFailed, phase_, "poll failed", "");
      conn_.reset();
      return false;
    }
    if (n > 0) advance();
  }
  return state_ == State::kReady;
}

int MonitorConnection::socket() const {
  return conn_ ? PQsocket(conn_.get()) : -1;
}

short MonitorConnection::events() const {
  switch (state_) {
    case State::kConnecting:
      return poll_ == PGRES_POLLING_READING ? net::kReadable : net::kWritable;
    case State::kReady:
      return flushPending_ ? short(net::kReadable | net::kWritable) : net::kReadable;
    default:
      return 0;
  }
}

int MonitorConnection::serverVersion() const {
  return conn_ && state_ == State::kReady ? PQserverVersion(conn_.get()) : 0;
}

bool MonitorConnection::sendQuery(const std::string& sql) {
  if (state_ != State::kReady || querying_) return false;
  PGconn* conn = conn_.get();
  // The session is non-blocking (advance()): PQsendQuery queues the message and writes what the
  // socket takes; PQflush says whether the rest must wait for POLLOUT.
  if (!PQsendQuery(conn, sql.c_str())) {
    queryError_ = cleanPgMessage(PQerrorMessage(conn));
    return false;
  }
  return afterSend();
}

bool MonitorConnection::sendStatement(const SessionStatement& statement) {
  if (state_ != State::kReady || querying_) return false;
  PGconn* conn = conn_.get();
  std::vector<const char*> values;
  values.reserve(statement.params.size());
  for (const auto& p : statement.params) values.push_back(p.c_str());
  const int n = int(values.size());
  int sent;
  if (unnamedOnly_) {
    sent = PQsendQueryParams(conn, statement.text.c_str(), n, nullptr, values.data(), nullptr,
                             nullptr, 0);
  } else if (prepared_.count(statement.name)) {
    sent = PQsendQueryPrepared(conn, statement.name.c_str(), n, values.data(), nullptr, nullptr, 0);
  } else {
    sent = PQsendPrepare(conn, statement.name.c_str(), statement.text.c_str(), n, nullptr);
    if (sent) preparing_ = statement;
  }
  if (!sent) {
    queryError_ = cleanPgMessage(PQerrorMessage(conn));
    return false;
  }
  return afterSend();
}

bool MonitorConnection::afterSend() {
  querying_ = true;
  rows_.clear();
  queryError_.clear();
  const int f = PQflush(conn_.get());
  if (f < 0) {
    setFailure(State::kDropped, Phase::kQuery, PQerrorMessage(conn_.get()), "");
    conn_.reset();
    return false;
  }
  flushPending_ = f == 1;
  return true;
}

MonitorConnection::ReadOutcome MonitorConnection::readResult() {
  if (state_ == State::kDropped) return ReadOutcome::kDropped;
  if (state_ != State::kReady || !querying_) return ReadOutcome::kDone;
  PGconn* conn = conn_.get();
  auto drop = [&] {
    std::string raw = fatalNotice_ ? "FATAL:  " + lastError_ : PQerrorMessage(conn);
    setFailure(State::kDropped, Phase::kQuery, raw, fatalNotice_ ? sqlstate_ : "");
    conn_.reset();
    return ReadOutcome::kDropped;
  };
  if (flushPending_) {
    const int f = PQflush(conn);
    if (f < 0) return drop();
    flushPending_ = f == 1;
  }
  if (!PQconsumeInput(conn) || PQstatus(conn) == CONNECTION_BAD) return drop();
  while (!PQisBusy(conn)) {
    PGresult* res = PQgetResult(conn);
    if (!res) {
      querying_ = false;
      if (PQstatus(conn) == CONNECTION_BAD || fatalNotice_) return drop();
      if (preparing_) {
        // The Parse was answered: execute it now (a failed Parse is the query's error, and
        // the statement goes unnamed from now on).
        SessionStatement next = std::move(*preparing_);
        preparing_.reset();
        if (!queryError_.empty()) {
          unnamedOnly_ = true;
          return ReadOutcome::kDone;
        }
        prepared_.insert(next.name);
        if (!sendStatement(next))  // a dropped session was already recorded by afterSend()
          return state_ == State::kDropped ? ReadOutcome::kDropped : ReadOutcome::kDone;
        continue;
      }
      return ReadOutcome::kDone;
    }
    const ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK) {
      const int n = PQntuples(res), m = PQnfields(res);
      rows_.reserve(std::size_t(n));
      for (int i = 0; i < n; ++i) {
        std::vector<std::optional<std::string>> row;
        row.reserve(std::size_t(m));
        for (int j = 0; j < m; ++j)
          row.push_back(PQgetisnull(res, i, j) ? std::nullopt
                                               : std::optional<std::string>(PQgetvalue(res, i, j)));
        rows_.push_back(std::move(row));
      }
    } else if (st != PGRES_COMMAND_OK) {
      const char* msg = PQresultErrorMessage(res);
      queryError_ =
          redactSecrets(cleanPgMessage(msg ? msg : "query failed"), connInfoSecrets(conninfo_));
      const char* sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      // 26000: the server does not know the statement (a pooler moved the session, or someone
      // ran DEALLOCATE); 42P05: it knows one of that name already. Either way, named statements
      // cannot be trusted on this session.
      if (state && (std::string(state) == "26000" || std::string(state) == "42P05")) {
        unnamedOnly_ = true;
        prepared_.clear();
      }
      if (sev && (std::string(sev) == "FATAL" || std::string(sev) == "PANIC")) {
        const char* code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        fatalNotice_ = true;
        sqlstate_ = code ? code : "";
        lastError_ = queryError_;
      }
    }
    PQclear(res);
  }
  return ReadOutcome::kPending;
}

bool MonitorConnection::checkDropped() {
  if (state_ == State::kDropped) return true;
  if (state_ != State::kReady) return false;
  PGconn* conn = conn_.get();
  if (!PQconsumeInput(conn) || PQstatus(conn) == CONNECTION_BAD) {
    // EOF or reset. A FATAL read just before (captured by onNotice) says why.
    std::string raw = fatalNotice_ ? "FATAL:  " + lastError_ : PQerrorMessage(conn);
    setFailure(State::kDropped, Phase::kQuery, raw, fatalNotice_ ? sqlstate_ : "");
    conn_.reset();
    return true;
  }
  if (fatalNotice_) {
    std::string raw = "FATAL:  " + lastError_;
    setFailure(State::kDropped, Phase::kQuery, raw, sqlstate_);
    conn_.reset();
    return true;
  }
  // Anything else (a ParameterStatus, a NOTICE, a NOTIFY) is consumed and dropped.
  while (PGnotify* n = PQnotifies(conn)) PQfreemem(n);
  return false;
}

}  // namespace pgvigil
