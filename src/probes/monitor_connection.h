// A long-lived, idle libpq session per target whose only job is to notice at once when the
// server goes away (docs/reference.md §3: "a crash should be seen when it happens"). The agent's
// watcher thread poll()s socket() of many of these for POLLIN and calls checkDropped() when one is
// readable: an idle session only ever becomes readable when the server has something to say,
// which is a FATAL before it closes (57P01 on a fast shutdown, "unexpected postmaster exit"
// after a kill -9), a notice, or EOF/reset. Whatever dropped it, a confirming probe decides;
// this class never judges health itself.
//
// Opening is non-blocking (PQconnectStartParams + PQconnectPoll): call open(), then advance()
// whenever socket() is ready for events() until state() is kReady or kFailed.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/types.h"
#include "probes/session_statement.h"

namespace pgvigil {

class MonitorConnection {
 public:
  enum class State { kClosed, kConnecting, kReady, kFailed, kDropped };

  /// conninfo may hold a password; it is never logged. applicationName is what
  /// pg_stat_activity shows (e.g. "pgvigil-monitor").
  MonitorConnection(std::string conninfo, std::string applicationName);
  ~MonitorConnection();
  MonitorConnection(const MonitorConnection&) = delete;
  MonitorConnection& operator=(const MonitorConnection&) = delete;

  /// Closes any current session and starts a new non-blocking connect. A host name is resolved
  /// first (bounded: at most 2 s). Returns false (state kFailed, cause()/lastError() set) when it
  /// cannot even start.
  bool open();
  /// Drives a connect in progress one step (call when socket() is ready for events(), or at
  /// any time: it never blocks). Returns the new state.
  State advance();
  /// Opens and drives the connect to the end, waiting at most until the deadline.
  bool openAndWait(const Deadline& deadline);

  State state() const { return state_; }
  /// The socket to poll() (net::fromLibpq() makes it a net::Socket), -1 when there is none.
  /// May change after open().
  int socket() const;
  /// net::kWritable or net::kReadable while connecting, kReadable when ready, 0 otherwise.
  short events() const;

  /// Reads whatever the server sent without blocking. Returns true when the session is gone
  /// (EOF, reset, or a FATAL/PANIC message from the server); state() is then kDropped and
  /// cause()/lastError()/sqlstate() say why. False (still up) otherwise. Safe to call anytime.
  bool checkDropped();

  /// Sends `sql` on the ready, idle session without blocking (the connections query runs here,
  /// so that its figures arrive even when no new session can be opened). Its answer is read by
  /// readResult() whenever socket() is readable. False when the session is not ready, already
  /// running a query, or the send failed.
  bool sendQuery(const std::string& sql);
  /// Like sendQuery(), for a statement run again and again: the first time on this session it
  /// is prepared (Parse) and then executed with its parameters; later, only executed, so the
  /// server does not parse and plan it every time. Should the server not keep it (a pooler in
  /// transaction mode gives the next query another server session: "prepared statement ...
  /// does not exist"), that answer is the query's error and the session sends every later
  /// statement unnamed (parsed each time) until it is reopened.
  bool sendStatement(const SessionStatement& statement);
  bool querying() const { return querying_; }
  enum class ReadOutcome { kPending, kDone, kDropped };
  /// Reads what arrived for the query in flight without blocking. kDone: rows() or
  /// queryError() hold the answer and the session is idle again; kDropped: the session is gone
  /// (state() kDropped, as for checkDropped()).
  ReadOutcome readResult();
  /// The rows of the last query (text; nullopt for SQL NULL).
  const std::vector<std::vector<std::optional<std::string>>>& rows() const { return rows_; }
  /// The last query's error (redacted), "" when it succeeded.
  const std::string& queryError() const { return queryError_; }
  /// PQserverVersion() of the open session, 0 when there is none.
  int serverVersion() const;

  /// Why the last connect failed or the session dropped (shutting_down for 57P01 on a fast
  /// shutdown, reset for EOF or a crash), kNone while fine.
  Cause cause() const { return cause_; }
  const std::string& lastError() const { return lastError_; }  ///< redacted
  const std::string& sqlstate() const { return sqlstate_; }
  void close();

 private:
  static void onNotice(void* self, const PGresult* result);
  void setFailure(State state, Phase phase, const std::string& raw, std::string sqlstate);
  /// Flushes what a PQsend* queued; false (session dropped) when the socket failed.
  bool afterSend();

  std::string conninfo_;
  std::string applicationName_;
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_{nullptr, &PQfinish};
  State state_ = State::kClosed;
  PostgresPollingStatusType poll_ = PGRES_POLLING_WRITING;
  Phase phase_ = Phase::kConnect;
  Cause cause_ = Cause::kNone;
  std::string lastError_;
  std::string sqlstate_;
  bool fatalNotice_ = false;
  bool querying_ = false;
  bool flushPending_ = false;
  /// Names prepared on the current session; preparing: the statement to execute once its
  /// Parse is answered; unnamedOnly: named statements failed on this session.
  std::set<std::string> prepared_;
  std::optional<SessionStatement> preparing_;
  bool unnamedOnly_ = false;
  std::vector<std::vector<std::optional<std::string>>> rows_;
  std::string queryError_;
};

}  // namespace pgvigil
