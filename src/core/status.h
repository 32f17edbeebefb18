// A read-only picture of the agent, taken under a lock and handed to the HTTP renderers and
// `/status`. Polling the endpoint reads this; it never queries PostgreSQL.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert_event.h"
#include "core/round_result.h"
#include "core/types.h"

namespace pgvigil {

struct RestartRecord {
  WallTime at{};
  std::string reason;  ///< "auto" | "manual"
  std::string result;  ///< toString(RestartOutcome::Result)
  std::string detail;
  Millis took{0};
  /// Client sessions the restart cut, from the last connection figures before it (when known).
  std::optional<int> sessions_cut{};
  std::string applications{};  ///< their applications, "api,worker,other"
  /// How long clients were without a server: from the last good round before the restart to
  /// the first good one after it (set once it is up again).
  std::optional<Millis> outage{};
  std::string output = {};  ///< the end of the restart command's output, bounded, redacted
};

/// Whether the target's restart path can work, as the last preflight check or attempt found it
/// (core/restart_path.h).
struct RestartPathStatus {
  bool ok = true;
  WallTime checked_at{};
  std::string problem;  ///< empty when ok
};

/// A starting or recovering server's progress as the agent reads it (docs/health-model.md,
/// "Recovery progress"); /status `recovery`.
struct RecoveryStatus {
  std::string rule = "total";  ///< "no_progress" while a source is readable, else "total"
  std::string source;          ///< what was read last: startup_process, server_log, ...; "" none
  std::string progress;        ///< the last value read
  std::string server_status;   ///< postmaster.pid's status line, when read
  std::string problem;         ///< why nothing could be read
  std::optional<WallTime> read_at;
  std::optional<WallTime> progress_at;  ///< the last change seen (or the run's start)
  std::optional<WallTime> stuck_at;     ///< when it counts as stuck (recovery_grace)
};

/// The target's long-lived monitoring session (docs/health-model.md, "The monitoring session").
enum class MonitorSessionState { kOff, kClosed, kOpening, kOpen };
inline std::string_view toString(MonitorSessionState s) {
  switch (s) {
    case MonitorSessionState::kOff:
      return "off";
    case MonitorSessionState::kClosed:
      return "closed";
    case MonitorSessionState::kOpening:
      return "opening";
    case MonitorSessionState::kOpen:
      return "open";
  }
  return "closed";
}
struct MonitorSessionStatus {
  MonitorSessionState state = MonitorSessionState::kClosed;  ///< kOff: `monitoring_session: false`
  std::optional<WallTime> since;                             ///< when `state` began
  /// idle_session_timeout as the open session reads it (0: none); unset until read.
  std::optional<Millis> idle_session_timeout;
  /// How often the idle session is sent a keep-alive query; unset when it needs none.
  std::optional<Millis> keepalive_every;
  std::uint64_t drops = 0;  ///< sessions ended by the server or the network since agent start
  std::optional<WallTime> last_drop_at;
  std::string last_drop_sqlstate;  ///< "" when the session ended without a message
  std::string last_drop_message;   ///< redacted
};

struct TargetStatus {
  std::string name;
  TargetState state = TargetState::kUnknown;
  WallTime since{};  ///< when the current state began
  Cause cause = Cause::kNone;
  std::optional<RoundResult> last_round;
  /// The last connection figures read (with their measured_at), kept when later rounds could
  /// not read any: at saturation or while the server is down they are the last word.
  std::optional<ConnectionStats> last_connections;
  int consecutive_failures = 0;
  int consecutive_successes = 0;
  std::optional<WallTime> last_success;
  Millis interval{0};
  // restart engine
  std::string restart_method = "none";
  std::vector<RestartRecord> restart_history;  ///< newest last, bounded
  std::optional<WallTime> next_restart_allowed;
  int budget_used = 0;  ///< restarts within the current budget window
  int budget_max = 0;
  std::optional<WallTime> paused_until;           ///< set while paused with an expiry
  std::optional<RestartPathStatus> restart_path;  ///< unset: method none, or not checked yet
  MonitorSessionStatus monitoring_session;
  /// Set while pgvigil waits for the server to come up after its restart (restart.grace).
  std::optional<WallTime> grace_until;
  /// The next instant the restart engine acts by itself (pause, grace or backoff end, hang_after
  /// or recovery_grace reached): TargetSupervisor::nextDeadline. Empty when none is known.
  std::optional<WallTime> next_change_at;
  /// Set while the server answers starting up / shutting down.
  std::optional<RecoveryStatus> recovery;
  // counters since agent start (Prometheus counters)
  std::vector<std::pair<Cause, std::uint64_t>> failures_total;
  std::uint64_t restarts_succeeded = 0;
  std::uint64_t restarts_failed = 0;
};

struct AgentStatus {
  std::string version;
  std::string config_path;
  WallTime started_at{};
  WallTime now{};
  bool ticking = true;  ///< the scheduler loop is alive (/livez)
  /// Events and log lines lost because an output was blocked past its queue's bound.
  std::uint64_t events_dropped = 0;
  std::vector<TargetStatus> targets;
};

}  // namespace pgvigil
