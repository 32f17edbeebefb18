// What a restart attempt came to, and what the service manager says about the service.
// Pure data: the Restarter interface (src/restart/restarter.h) returns these, and the restart
// policy in core consumes them.
#pragma once

#include <string>

#include "core/types.h"

namespace pgvigil {

struct [[nodiscard]] RestartOutcome {
  enum class Result {
    kSucceeded,         ///< the service manager (or command) says it is running again
    kFailed,            ///< tried, did not work (non-zero exit, job failed, ...)
    kTimedOut,          ///< took longer than restart.timeout
    kOperatorStopped,   ///< not attempted: an operator stopped the service on purpose
    kNotFound,          ///< no such unit / container / service
    kUnreachable,       ///< service manager not reachable (D-Bus, Docker daemon, SCM)
    kPermissionDenied,  ///< not allowed to manage it
    kSpawnFailed,       ///< the command could not be started
  };
  Result result = Result::kFailed;
  std::string detail;  ///< one line for the event, redacted: "exited 1", "job done", ...
  std::string output;  ///< captured output, bounded and redacted (command restarter)
  Millis took{0};

  bool succeeded() const { return result == Result::kSucceeded; }
};
std::string_view toString(RestartOutcome::Result r);  ///< "succeeded", "failed", "timed_out", ...

/// What the service manager says about the service, where it can tell.
enum class ServiceState {
  kUnknown,  ///< cannot tell (command method, manager unreachable)
  kRunning,
  kFailed,           ///< died: crashed, killed, exited non-zero
  kOperatorStopped,  ///< stopped cleanly on purpose (systemctl stop, docker stop)
  kNotFound,
};
std::string_view toString(ServiceState s);

}  // namespace pgvigil
