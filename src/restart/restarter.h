// One small interface for every way of restarting PostgreSQL (docs/reference.md §2 restart.method).
// Implementations do one attempt and report; every policy (when, how often, backoff, budget,
// grace) lives in core (target_supervisor, backoff, restart_budget) and never here.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "core/clock.h"
#include "core/config.h"
#include "core/guarded.h"
#include "core/restart_outcome.h"
#include "core/restart_path.h"

namespace pgvigil {

class Restarter {
 public:
  virtual ~Restarter() = default;
  virtual std::string_view method() const = 0;
  /// One restart attempt, done (or abandoned) by the deadline. Never throws.
  virtual RestartOutcome restart(const Deadline& deadline) = 0;
  /// What the service manager says now; kUnknown where it cannot tell. Never throws.
  virtual ServiceState query(const Deadline& deadline) {
    (void)deadline;
    return ServiceState::kUnknown;
  }
  /// Whether a restart could work now, without restarting anything (docs/restarters.md,
  /// "Preflight"): docker — the daemon answers and the container exists; systemd — the unit is
  /// loaded and this process may manage it (root, or polkit says yes); command — the executable
  /// exists and may be run by this user. Cheap, bounded by the deadline, safe to call while
  /// restart() runs on another thread. Never throws. ok where a method has nothing to check.
  virtual RestartPathCheck preflight(const Deadline& deadline) {
    (void)deadline;
    return {};
  }
};
using RestarterPtr = std::unique_ptr<Restarter>;

/// Service-manager events (a container died, a unit failed), so a crash is seen at once.
/// start() runs its own thread; the callback is called from it. stop() joins.
class ServiceWatcher {
 public:
  virtual ~ServiceWatcher() = default;
  virtual void start(std::function<void(ServiceState)> onChange) = 0;
  virtual void stop() = 0;
  /// Where the watcher's thread reports an internal failure (an exception it caught; it goes on
  /// watching). Call before start(); without one, failures are still caught, but unreported.
  void setErrorReporter(ErrorReporter report) { report_ = std::move(report); }

 protected:
  ErrorReporter report_;
};
using ServiceWatcherPtr = std::unique_ptr<ServiceWatcher>;

/// The only code that knows every restarter type. Returns nullptr for method none.
RestarterPtr makeRestarter(const RestartConfig& config, const Clock& clock);
/// A watcher for methods that have one (systemd, docker, windows-service); nullptr otherwise.
ServiceWatcherPtr makeServiceWatcher(const RestartConfig& config);

}  // namespace pgvigil
