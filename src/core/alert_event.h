// The alert log's events (docs/reference.md §6): one per state change, never a secret.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/types.h"

namespace pgvigil {

enum class EventLevel { kDebug, kInfo, kWarning, kError, kCritical };
std::string_view toString(EventLevel l);  ///< "debug", "info", "warning", "error", "critical"

struct AlertEvent {
  WallTime ts{};
  EventLevel level = EventLevel::kInfo;
  std::string event;   ///< "target_unhealthy", "restart_requested", ...
  std::string target;  ///< empty for agent-wide events
  std::optional<TargetState> state;
  std::optional<TargetState> previous_state;
  Cause cause = Cause::kNone;
  std::string msg;
  /// Event-specific fields, in order ("attempt", "3"), ("next_restart_in", "20s"), ...
  std::vector<std::pair<std::string, std::string>> fields;
};

/// Where events go. Implementations must be thread-safe.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void emit(const AlertEvent& event) = 0;
};

}  // namespace pgvigil
