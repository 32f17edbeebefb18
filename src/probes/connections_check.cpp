#include "probes/connections_check.h"

#include <cmath>
#include <cstdio>

#include "core/connection_holders.h"
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

namespace {
/// The query's text with the excluded pid as `excluded` (a literal or a parameter).
std::string connectionsText(int serverVersionNum, const std::string& excluded) {
  std::string reserved =
      serverVersionNum >= 160000 ? "current_setting('reserved_connections')" : "'0'";
  const std::string top = std::to_string(kTopHolders);
  return "WITH a AS (SELECT coalesce(application_name, '') AS app, coalesce(usename::text, '') "
         "AS usr, CASE WHEN client_addr IS NOT NULL THEN host(client_addr) WHEN client_port = -1 "
         "THEN 'local' ELSE '' END AS addr, coalesce(state, 'unknown') AS st, state IS NULL AS "
         "hidden, extract(epoch FROM pg_catalog.now() - state_change) AS age "
         "FROM pg_catalog.pg_stat_activity "
         "WHERE (backend_type = 'client backend' OR (backend_type IS NULL AND usesysid IS NOT "
         "NULL AND datid IS NOT NULL)) AND pid <> pg_catalog.pg_backend_pid() AND pid <> " +
         excluded +
         "), g AS (SELECT app, usr, addr, count(*) AS n, "
         "count(*) FILTER (WHERE st = 'active') AS act, "
         "count(*) FILTER (WHERE st = 'idle') AS idl, "
         "count(*) FILTER (WHERE st LIKE 'idle in transaction%') AS iit, "
         "count(*) FILTER (WHERE hidden) AS hid, "
         "max(age) FILTER (WHERE st = 'idle') AS oi, "
         "max(age) FILTER (WHERE st LIKE 'idle in transaction%') AS oiit, "
         "row_number() OVER (ORDER BY count(*) DESC, app, usr, addr) AS rk "
         "FROM a GROUP BY app, usr, addr) "
         "SELECT 'h', app, usr, addr, n::text, act::text, idl::text, iit::text, hid::text, "
         "oi::text, oiit::text, '1' FROM g WHERE rk <= " +
         top +
         " UNION ALL SELECT 'o', NULL, NULL, NULL, sum(n)::text, sum(act)::text, sum(idl)::text, "
         "sum(iit)::text, sum(hid)::text, max(oi)::text, max(oiit)::text, count(*)::text FROM g "
         "WHERE rk > " +
         top +
         " HAVING count(*) > 0 "
         "UNION ALL SELECT 's', (SELECT coalesce(string_agg(st || '=' || c, ',' ORDER BY st), '') "
         "FROM (SELECT st, count(*) AS c FROM a GROUP BY st) AS states), "
         "current_setting('max_connections'), current_setting('superuser_reserved_connections'), " +
         reserved +
         ", pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')::text, current_user::text, "
         "current_setting('is_superuser'), NULL, NULL, NULL, NULL";
}
}  // namespace

std::string connectionsQuery(int serverVersionNum, int excludePid) {
  return connectionsText(serverVersionNum, std::to_string(excludePid));
}

SessionStatement connectionsStatement(int serverVersionNum, int excludePid) {
  return {"pgvigil_connections",
          connectionsText(serverVersionNum, "$1::integer"),
          {std::to_string(excludePid)}};
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

namespace {

std::optional<Millis> ageOf(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  try {
    size_t used = 0;
    double v = std::stod(*s, &used);
    if (used != s->size() || !(v >= 0) || v > 1e9) return std::nullopt;
    return Millis(static_cast<long long>(v * 1000.0));
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<ConnectionStats> parseConnectionsRows(
    const std::vector<std::vector<std::optional<std::string>>>& rows) {
  std::optional<ConnectionStats> stats;
  std::vector<ConnectionHolder> holders;
  for (const auto& row : rows) {
    if (row.size() != 12 || !row[0]) return std::nullopt;
    const std::string& kind = *row[0];
    if (kind == "s") {
      if (stats) return std::nullopt;  // one settings row
      stats = parseConnectionsRow(row[1], row[2], row[3], row[4]);
      if (!stats) return std::nullopt;
      if (!row[5] || !row[7]) return std::nullopt;
      stats->sees_all = *row[5] == "true" || *row[5] == "t";
      stats->role = row[6].value_or("");
      stats->superuser = *row[7] == "on";
      continue;
    }
    if (kind != "h" && kind != "o") return std::nullopt;
    ConnectionHolder h;
    h.other = kind == "o";
    if (!h.other) {
      h.application = row[1].value_or("");
      h.user = row[2].value_or("");
      h.client = row[3].value_or("");
    }
    auto total = toInt(row[4]), act = toInt(row[5]), idl = toInt(row[6]), iit = toInt(row[7]),
         hid = toInt(row[8]), groups = toInt(row[11]);
    if (!total || !act || !idl || !iit || !hid || !groups) return std::nullopt;
    h.total = *total;
    h.active = *act;
    h.idle = *idl;
    h.idle_in_transaction = *iit;
    h.hidden = *hid;
    h.groups = *groups;
    h.oldest_idle = ageOf(row[9]);
    h.oldest_idle_in_transaction = ageOf(row[10]);
    holders.push_back(std::move(h));
  }
  if (!stats) return std::nullopt;
  for (const auto& h : holders) stats->hidden += h.hidden;
  rankHolders(holders);
  stats->holders = std::move(holders);
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
    // Who holds them, in words: what the person on call needs first.
    if (!stats.holders.empty()) j.reason += "; " + topHolderText(stats);
  }
  return j;
}

ConnectionsOutcome connectionsOutcomeFromRows(
    const std::vector<std::vector<std::optional<std::string>>>& rows) {
  ConnectionsOutcome out;
  out.outcome.check = "connections";
  out.outcome.ok = true;
  out.stats = parseConnectionsRows(rows);
  if (!out.stats) {
    out.outcome.ok = false;
    out.outcome.cause = Cause::kInternal;
    out.outcome.message = "unparsable answer to the connections query";
  }
  return out;
}

ConnectionsOutcome runConnectionsCheck(PGconn* conn, const Deadline& deadline,
                                       const PgProbeOptions& options, ProbeObserver& observer) {
  ConnectionsOutcome out;
  PgQueryOutcome q = pgQuery(conn, connectionsQuery(PQserverVersion(conn)), deadline, "connections",
                             options, observer);
  out.outcome = q.outcome;
  if (!q.outcome.ok) return out;
  ConnectionsOutcome parsed = connectionsOutcomeFromRows(q.rows);
  parsed.outcome.latency = q.outcome.latency;
  return parsed;
}

}  // namespace pgvigil
