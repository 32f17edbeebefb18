#include "probes/connections_check.h"

#include <cmath>
#include <cstdio>

#include "core/units.h"
#include "probes/pg_probe.h"

namespace pgvigil {
namespace {

std::optional<int> toInt(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  try {
    size_t used = 0;
    int v = std::stoi(*s, &used);
    if (used != s->size() || v < 0) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

/// Rounded down, so that a usage just under a threshold never reads as the threshold itself.
std::string percent(double fraction) {
  return formatWholePercent(std::floor(fraction * 100.0 + 1e-9) / 100.0);
}

}  // namespace

std::string connectionsQuery(int serverVersionNum) {
  std::string reserved =
      serverVersionNum >= 160000 ? "current_setting('reserved_connections')" : "'0'";
  return "SELECT (SELECT coalesce(string_agg(s || '=' || n, ',' ORDER BY s), '') FROM "
         "(SELECT coalesce(state, 'unknown') AS s, count(*) AS n FROM pg_catalog.pg_stat_activity "
         "WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid() "
         "GROUP BY 1) AS states), "
         "current_setting('max_connections'), current_setting('superuser_reserved_connections'), " +
         reserved;
}

std::optional<ConnectionStats> parseConnectionsRow(
    const std::optional<std::string>& byState, const std::optional<std::string>& maxConnections,
    const std::optional<std::string>& superuserReserved,
    const std::optional<std::string>& reserved) {
  auto max = toInt(maxConnections);
  auto su = toInt(superuserReserved);
  auto res = toInt(reserved);
  if (!max || !su || !res || !byState) return std::nullopt;
  ConnectionStats stats;
  stats.max_connections = *max;
  stats.superuser_reserved = *su;
  stats.reserved = *res;
  stats.usable = std::max(0, *max - *su - *res);
  const std::string& list = *byState;
  size_t pos = 0;
  while (pos < list.size()) {
    size_t comma = list.find(',', pos);
    std::string item =
        list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? list.size() : comma + 1;
    auto eq = item.rfind('=');
    if (eq == std::string::npos) return std::nullopt;
    auto n = toInt(item.substr(eq + 1));
    if (!n) return std::nullopt;
    stats.by_state[item.substr(0, eq)] += *n;
    stats.used += *n;
  }
  return stats;
}

ConnectionsJudgement judgeConnections(const ConnectionStats& stats,
                                      const ConnectionsCheckConfig& config) {
  ConnectionsJudgement j;
  double ratio = stats.usable > 0 ? stats.ratio() : (stats.used > 0 ? 1.0 : 0.0);
  const double eps = 1e-9;
  j.critical = ratio + eps >= config.critical;
  j.warn = j.critical || ratio + eps >= config.warn;
  if (j.warn) {
    j.reason =
        "connections at " + percent(ratio) + " (" + std::to_string(stats.used) + " of " +
        std::to_string(stats.usable) + " usable; " +
        (j.critical ? "critical " + percent(config.critical) : "warn " + percent(config.warn)) +
        ")";
  }
  return j;
}

ConnectionsOutcome runConnectionsCheck(PGconn* conn, const Deadline& deadline,
                                       const PgProbeOptions& options, ProbeObserver& observer) {
  ConnectionsOutcome out;
  PgQueryOutcome q = pgQuery(conn, connectionsQuery(PQserverVersion(conn)), deadline, "connections",
                             options, observer);
  out.outcome = q.outcome;
  if (!q.outcome.ok) return out;
  if (q.rows.size() != 1 || q.rows[0].size() != 4) {
    out.outcome.ok = false;
    out.outcome.cause = Cause::kInternal;
    out.outcome.message = "unexpected answer to the connections query";
    return out;
  }
  const auto& row = q.rows[0];
  out.stats = parseConnectionsRow(row[0], row[1], row[2], row[3]);
  if (!out.stats) {
    out.outcome.ok = false;
    out.outcome.cause = Cause::kInternal;
    out.outcome.message = "unparsable answer to the connections query";
  }
  return out;
}

}  // namespace pgvigil
