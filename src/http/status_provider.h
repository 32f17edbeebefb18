// What the HTTP endpoint needs from the agent, and nothing more. The agent implements this; the
// handlers read snapshots from it and never touch the agent or PostgreSQL (docs/reference.md §4:
// answers come from the last round's results in memory). A fake sits next to it
// (fake_status_provider.h).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert_event.h"
#include "core/control_result.h"
#include "core/status.h"
#include "core/types.h"

namespace pgvigil {

/// Implementations must be thread-safe. Every call must return promptly (microseconds to a few
/// milliseconds): the endpoint calls them from its event loop. Long work (a restart, a reload
/// that waits for probes) is queued and answered with kAccepted.
class StatusProvider {
 public:
  virtual ~StatusProvider() = default;
  /// The last published picture of the agent: immutable, shared, never copied under a lock the
  /// agent's threads wait for. AgentStatus::now is when it was published (at most about a
  /// second ago while the agent's loop runs; `ticking` turns false when it stops running).
  virtual std::shared_ptr<const AgentStatus> snapshot() const = 0;
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
