// The alert log's events (docs/reference.md §6): one per state change, never a secret.
#pragma once

#include <optional>
#include <string>
#include <string_view>
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
  /// Keys of `fields` whose value is a count: JSON writes them as numbers (text is unchanged).
  std::vector<std::string> number_fields;

  /// Adds a count field: "3" in text, 3 in JSON.
  void addNumber(std::string key, long long value) {
    number_fields.push_back(key);
    fields.emplace_back(std::move(key), std::to_string(value));
  }
  /// Adds a number already formatted ("0.850"): a JSON number when it is one, else a string.
  void addNumber(std::string key, std::string formatted) {
    number_fields.push_back(key);
    fields.emplace_back(std::move(key), std::move(formatted));
  }
  bool isNumber(std::string_view key) const {
    for (const auto& k : number_fields)
      if (k == key) return true;
    return false;
  }
};

/// Where events go. Implementations must be thread-safe.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void emit(const AlertEvent& event) = 0;
};

}  // namespace pgvigil
