// The connections check (docs/reference.md §3): client backends against usable slots, on the
// round's fresh session, in one query. usable = max_connections - superuser_reserved_connections
// (- reserved_connections on 16+). Our own probe session is not counted.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "core/round_result.h"
#include "probes/pg_probe.h"

namespace pgvigil {

/// The query for a server of this version (PQserverVersion(): 150004, 160002, ...). Columns:
/// by_state ("active=3,idle=5"), max_connections, superuser_reserved_connections,
/// reserved_connections (0 before 16).
std::string connectionsQuery(int serverVersionNum);

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

}  // namespace pgvigil
