// The connections check (docs/reference.md §3): client backends against usable slots, on the
// round's fresh session, in one query. usable = max_connections - superuser_reserved_connections
// (- reserved_connections on 16+). Our own probe session is not counted.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/round_result.h"
#include "probes/pg_probe.h"
#include "probes/session_statement.h"

namespace pgvigil {

/// The query for a server of this version (PQserverVersion(): 150004, 160002, ...): one query
/// whose rows are text, 12 columns each, the first saying what the row is:
/// - 'h' (at most kTopHolders rows): application_name, user, client address, sessions, active,
///   idle, idle in transaction, hidden (state not visible), oldest idle and oldest idle in
///   transaction age in seconds (NULL when none), 1;
/// - 'o' (only when there are more groups): the same summed over the rest, the last column the
///   number of groups;
/// - 's' (always one): by_state ("active=3,idle=5"), max_connections,
///   superuser_reserved_connections, reserved_connections (0 before 16), whether the role reads
///   every session (pg_read_all_stats), current_user, is_superuser.
/// Client backends are counted with the rows a role without pg_read_all_stats sees with a NULL
/// backend_type, a user and a database (another user's session: only pid, user, database and
/// application_name are shown; the launchers have a user but no database).
/// Neither the session that runs it nor `excludePid` (the round's fresh session, when the query
/// runs on the monitoring session) is counted.
std::string connectionsQuery(int serverVersionNum, int excludePid = 0);
/// The same query as a statement the monitoring session prepares once (`excludePid` is $1).
SessionStatement connectionsStatement(int serverVersionNum, int excludePid);

/// Parses the rows of that query (holders ranked by rankHolders); nullopt when the settings
/// row is missing or a value is not a number.
std::optional<ConnectionStats> parseConnectionsRows(
    const std::vector<std::vector<std::optional<std::string>>>& rows);

/// Parses one row of that query; nullopt when a value is missing or not a number.
std::optional<ConnectionStats> parseConnectionsRow(
    const std::optional<std::string>& byState, const std::optional<std::string>& maxConnections,
    const std::optional<std::string>& superuserReserved,
    const std::optional<std::string>& reserved);

/// Where usage stands against the thresholds.
struct ConnectionsJudgement {
  bool warn = false;      ///< ratio >= warn (also true when critical)
  bool critical = false;  ///< ratio >= critical
  std::string reason;     ///< "connections at 83% of 97 usable (warn 80%)", "" when below warn
};
ConnectionsJudgement judgeConnections(const ConnectionStats& stats,
                                      const ConnectionsCheckConfig& config);

struct [[nodiscard]] ConnectionsOutcome {
  CheckOutcome outcome;  ///< check = "connections"
  std::optional<ConnectionStats> stats;
};

/// Runs the query on a connected session within the deadline (a cancel bounded by
/// options.cancel_timeout); observer hears the query's outcome.
ConnectionsOutcome runConnectionsCheck(PGconn* conn, const Deadline& deadline,
                                       const PgProbeOptions& options = {},
                                       ProbeObserver& observer = ProbeObserver::none());

/// The outcome of the query's rows (already read, e.g. on the monitoring session): ok with the
/// stats, or kInternal "unparsable answer to the connections query".
ConnectionsOutcome connectionsOutcomeFromRows(
    const std::vector<std::vector<std::optional<std::string>>>& rows);

}  // namespace pgvigil
