// Whether a target's restart path can work, before it is needed (issue 10): what a preflight
// check found, what /status shows, and the events of a change (restart_path_broken when a path
// that cannot work is found, restart_path_ok when it works again; one per change, never one per
// check). Pure: the checks themselves run in the restart layer (Restarter::preflight), off the
// agent's loop; AgentCore decides when to run them and feeds their answers here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/alert_event.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/restart_outcome.h"
#include "core/status.h"

namespace pgvigil {

/// What one preflight check of a restart path found.
struct RestartPathCheck {
  bool ok = true;
  std::string problem;  ///< one line, redacted, when !ok: "container 'pg' does not exist"
  /// false: ok only because the check could not tell (systemd as non-root: polkit answers "with
  /// a password" to a unit-specific rule too). Such an answer never clears a broken path that a
  /// refused attempt found.
  bool conclusive = true;
};

/// A restart attempt that never reached the thing to restart (Docker daemon down or socket
/// missing, D-Bus refused, not allowed, no such unit/container, the command could not start):
/// the restart path is broken, whatever the state of PostgreSQL.
bool restartResultIsPathFailure(RestartOutcome::Result result);

/// How often a restart path is checked again (docs/restarters.md#preflight).
inline constexpr Millis kRestartPathRecheckBroken = std::chrono::seconds(30);
inline constexpr Millis kRestartPathRecheckOk = std::chrono::minutes(5);

/// One target's restart path as the checks and the attempts found it.
class RestartPathWatch {
 public:
  /// A check (or an attempt) found this. Returns the event to emit when it is a change: broken
  /// for the first time or with another problem (restart_path_broken), working again
  /// (restart_path_ok). The first answer that says ok emits nothing.
  std::optional<AlertEvent> update(std::string_view target, RestartMethod method,
                                   const RestartPathCheck& check, WallTime wall);
  /// A new restart path (reload changed the method, unit, container or command): forget what
  /// was found about the old one, but remember that one was broken (so that the new one's ok is
  /// announced).
  void reset();
  const std::optional<RestartPathStatus>& status() const { return status_; }
  bool broken() const { return status_ && !status_->ok; }

 private:
  std::optional<RestartPathStatus> status_;
  bool announcedBroken_ = false;  ///< a restart_path_broken is standing (no ok since)
};

namespace restart_path_events {
/// restart_path_broken (error). Fields: method, problem. Cause: none.
AlertEvent broken(std::string_view target, RestartMethod method, std::string_view problem,
                  WallTime wall);
/// restart_path_ok (info): the path works again. Fields: method. Cause: none.
AlertEvent ok(std::string_view target, RestartMethod method, WallTime wall);
}  // namespace restart_path_events

}  // namespace pgvigil
