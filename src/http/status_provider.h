// What the HTTP endpoint needs from the agent, and nothing more. The agent implements this; the
// handlers read snapshots from it and never touch the agent or PostgreSQL (SPEC.md §4: answers
// come from the last round's results in memory). A fake sits next to it (fake_status_provider.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert_event.h"
#include "core/status.h"
#include "core/types.h"

namespace pgvigil {

/// The answer to a control request (pause, resume, restart, reload). Expected failures are values.
struct ControlResult {
  enum class Code {
    kOk,        ///< done (200)
    kAccepted,  ///< queued, happens asynchronously (202), e.g. a restart request
    kNotFound,  ///< no such target (404)
    kConflict,  ///< not possible in the current state, e.g. a restart already running (409)
    kInvalid,   ///< the request's arguments are wrong (400)
    kRejected,  ///< e.g. a reload whose new config is invalid: the old one keeps running (422)
    kFailed,    ///< tried and failed (500)
  };
  Code code = Code::kOk;
  std::string message;  ///< one line for the operator; never a secret

  static ControlResult ok(std::string msg = {}) { return {Code::kOk, std::move(msg)}; }
  static ControlResult accepted(std::string msg = {}) { return {Code::kAccepted, std::move(msg)}; }
  static ControlResult notFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
};
std::string_view toString(ControlResult::Code c);  ///< "ok", "accepted", "not_found", ...

/// Implementations must be thread-safe. Every call must return promptly (microseconds to a few
/// milliseconds): the endpoint calls them from its event loop. Long work (a restart, a reload
/// that waits for probes) is queued and answered with kAccepted.
class StatusProvider {
 public:
  virtual ~StatusProvider() = default;
  /// A consistent copy of the agent's state; AgentStatus::now is the wall time of the copy.
  virtual AgentStatus snapshot() const = 0;
  /// The most recent events, newest first, at most `limit`.
  virtual std::vector<AlertEvent> recentEvents(std::size_t limit) const = 0;
  /// Maintenance: checks go on, no restarts. No duration: until resumed.
  virtual ControlResult pause(std::string_view target, std::optional<Millis> duration) = 0;
  virtual ControlResult resume(std::string_view target) = 0;
  /// A manual restart (bypasses thresholds, not the budget); normally kAccepted.
  virtual ControlResult restart(std::string_view target) = 0;
  /// Reread the config file (as SIGHUP). The agent also calls HttpServer::reloadToken().
  virtual ControlResult reload() = 0;
};

}  // namespace pgvigil
