// A fresh libpq session per round, driven through libpq's non-blocking API so that nothing ever
// blocks past the deadline (STYLE.md 8): PQconnectStartParams + PQconnectPoll + poll() on
// PQsocket(), then PQsendQuery + PQconsumeInput/PQisBusy + poll().
//
// Phases (a timeout names the one that hung). libpq's connection states map to them as follows:
//   CONNECTION_NEEDED, CONNECTION_STARTED            -> connect (TCP connect in progress)
//   CONNECTION_MADE, CONNECTION_SSL_STARTUP,
//   CONNECTION_GSS_STARTUP                           -> startup (TLS/GSS negotiation, startup
//                                                      packet being sent)
//   CONNECTION_AWAITING_RESPONSE                     -> startup until the server has asked for a
//                                                      password (PQconnectionUsedPassword), auth
//                                                      after: libpq keeps this state through the
//                                                      whole SASL/SCRAM exchange
//   CONNECTION_AUTH_OK and later (CHECK_WRITABLE,
//   CONSUME, CHECK_TARGET, CHECK_STANDBY, SETENV)    -> auth (credentials accepted; the backend
//                                                      is setting up the session: a missing
//                                                      database or reserved slots fail here)
//   PQsendQuery until the last result                -> query
// A failure is attributed to the phase of the state libpq was in when it failed.
//
// Hostnames are resolved by resolveEndpoints() (bounded) and handed to libpq as hostaddr, so
// libpq never runs a blocking getaddrinfo(). (A multi-host conninfo, "host=a,b", is passed to
// libpq unchanged: its lookups are then libpq's own.) Error verbosity is VERBOSE so that the
// server's SQLSTATE is visible in connection-time messages; notices are swallowed, never printed.
// Sessions end with PQfinish(), which sends Terminate: a healthy server logs nothing for them.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/round_result.h"
#include "probes/conninfo.h"
#include "probes/probe_observer.h"

namespace pgvigil {

using PgConnPtr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using PgResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

/// libpq connection state -> phase (table above). usedPassword: PQconnectionUsedPassword().
Phase phaseOfConnStatus(ConnStatusType status, bool usedPassword);

struct PgProbeOptions {
  std::string application_name = "pgvigil";
  Millis statement_timeout{3000};  ///< sent as options=-c statement_timeout=...
  Millis cancel_timeout{1000};     ///< bound on PQcancel after a query timeout
};

struct [[nodiscard]] PgConnectOutcome {
  PgConnPtr conn{nullptr, &PQfinish};  ///< set when connected
  CheckOutcome outcome;                ///< ok, or the failure (cause, phase, message, sqlstate)
  std::string endpoint;                ///< "127.0.0.1:5432" / socket path, for messages
  /// When the socket connected (libpq left its connect phase): the tcp check's answer when it
  /// rides on this session. Empty when the session never got past connecting.
  std::optional<Micros> connected_after;
};

/// Opens a fresh session. outcome.check is set to checkName. observer hears the lookup, each
/// phase change, the TLS negotiation and the login (diagnose); by default nobody does.
PgConnectOutcome pgConnect(const ConnInfo& info, const PgProbeOptions& options,
                           const Deadline& deadline, const std::string& checkName = "query",
                           ProbeObserver& observer = ProbeObserver::none());

struct [[nodiscard]] PgQueryOutcome {
  CheckOutcome outcome;
  /// Rows of the last result with tuples; nullopt for SQL NULL.
  std::vector<std::vector<std::optional<std::string>>> rows;
};

/// Runs sql on a connected session (phase query). On a deadline, cancels the query (bounded by
/// options.cancel_timeout) and reports a timeout. On a broken connection, reset/shutting_down.
/// observer hears the outcome.
PgQueryOutcome pgQuery(PGconn* conn, const std::string& sql, const Deadline& deadline,
                       const std::string& checkName, const PgProbeOptions& options = {},
                       ProbeObserver& observer = ProbeObserver::none());

/// "15.18" from the server_version parameter status ("15.18 (Debian 15.18-0+deb12u1)").
std::string serverVersion(PGconn* conn);

/// The first meaningful line of a libpq/server message, without the "connection to server at
/// ... failed: " prefix, the severity, the SQLSTATE and trailing LOCATION lines; keeps DETAIL.
std::string cleanPgMessage(const std::string& raw);

}  // namespace pgvigil
