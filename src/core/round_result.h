// What one round of checks on one target found. Produced by the probes layer, consumed by the
// health state machine, the renderers and `pgvigil check`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/types.h"

namespace pgvigil {

/// One check's outcome: "tcp", "query" or "connections".
struct [[nodiscard]] CheckOutcome {
  std::string check;
  bool ok = false;
  Cause cause = Cause::kNone;  ///< kNone when ok
  Phase phase = Phase::kNone;  ///< where it failed (or hung)
  Micros latency{0};
  std::string message;   ///< human readable, already redacted; empty when ok
  std::string sqlstate;  ///< the server's SQLSTATE when it sent one
};

/// One group of client backends with the same application_name, user and client address (or
/// the aggregate of every group beyond the top ones: `other`).
struct ConnectionHolder {
  std::string application{};  ///< application_name, "" when unset
  std::string user{};         ///< "" when unknown
  std::string client{};       ///< client address, "local" for a Unix socket, "" when not visible
  bool other = false;         ///< the aggregate of the groups beyond the top ones
  int groups = 1;             ///< how many groups this row stands for (more than 1 for `other`)
  int total = 0;
  int active = 0;
  int idle = 0;
  int idle_in_transaction = 0;  ///< "idle in transaction" and "(aborted)"
  int hidden = 0;               ///< state not visible to the monitoring role
  std::optional<Millis> oldest_idle{};
  std::optional<Millis> oldest_idle_in_transaction{};
};

/// pg_stat_activity client backends against usable slots.
struct ConnectionStats {
  int used = 0;    ///< client backends
  int usable = 0;  ///< max_connections - superuser_reserved_connections (- reserved_connections)
  int max_connections = 0;
  int superuser_reserved = 0;
  int reserved = 0;                     ///< reserved_connections (16+), 0 before
  std::map<std::string, int> by_state;  ///< pg_stat_activity.state ("active", "idle", ...)
  /// The top holders by sessions (most first), then `other` when there are more groups.
  std::vector<ConnectionHolder> holders{};
  /// False when the monitoring role cannot read other users' sessions (not in pg_monitor /
  /// pg_read_all_stats, not superuser): their state, address and query are hidden, though they
  /// are still counted in `used`.
  bool sees_all = true;
  int hidden = 0;             ///< sessions whose state the role cannot see
  std::string role{};         ///< the role the query ran as (current_user)
  bool superuser = false;     ///< that role is a superuser (may use the reserved slots)
  WallTime measured_at{};     ///< when the figures were read
  bool from_monitor = false;  ///< read on the long-lived monitoring session
  double ratio() const { return usable > 0 ? double(used) / usable : 0.0; }
};

enum class Verdict { kOk, kDegraded, kFailed };

struct [[nodiscard]] RoundResult {
  SteadyTime started{};
  WallTime checked_at{};
  Micros latency{0};  ///< the whole round
  std::vector<CheckOutcome> checks;
  std::optional<ConnectionStats> connections;
  Verdict verdict = Verdict::kFailed;
  Cause cause = Cause::kNone;  ///< the round's one cause when failed (first failing check)
  Phase phase = Phase::kNone;
  std::string message;          ///< redacted summary, e.g. "connection refused on 127.0.0.1:5432"
  std::string degraded_reason;  ///< when kDegraded: "connections at 83% (warn 80%)"
  bool connections_warn = false;
  bool connections_critical = false;
  std::string server_version;  ///< "15.18" when known
  /// notAfter of the server's certificate when the round's session used TLS.
  std::optional<WallTime> server_cert_not_after;

  bool ok() const { return verdict != Verdict::kFailed; }
  const CheckOutcome* find(std::string_view name) const {
    for (const auto& c : checks)
      if (c.check == name) return &c;
    return nullptr;
  }
};

}  // namespace pgvigil
