// The endpoint's answers as plain functions of an AgentStatus (docs/reference.md §4). No sockets,
// no clock, no locks: unit tests feed them a status and read the text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert_event.h"
#include "core/status.h"

namespace pgvigil {

/// An HTTP status code and a body (JSON unless said otherwise).
struct [[nodiscard]] Rendered {
  int code = 200;
  std::string body;
};

/// When the data of an answer was measured, and whether it is older than two intervals.
struct Freshness {
  std::optional<WallTime> checked_at;  ///< nullopt: no round yet
  bool stale = false;
};
/// One target: its last round's time; stale when now - checked_at > 2 * interval. Before the
/// first round: stale once the agent has run for more than two intervals (the round is overdue).
Freshness freshness(const TargetStatus& target, const AgentStatus& status);
/// Several targets: the oldest checked_at (an answer is as old as its oldest part); stale if any
/// target is; checked_at is null if any target has no round yet.
Freshness freshness(const AgentStatus& status);

/// GET /livez: 200 while the scheduler ticks, else 503.
Rendered renderLivez(const AgentStatus& status);
/// GET /health: 200 when every target is healthy or degraded, else 503.
/// {"status":"healthy|degraded|unhealthy","targets":{name:state},"checked_at":…,"stale":…}
Rendered renderHealth(const AgentStatus& status);
/// GET /health/{target}: the same for one target; 404 for an unknown one.
Rendered renderHealthTarget(const AgentStatus& status, std::string_view target);
/// GET /status: the agent and every target in detail.
Rendered renderStatus(const AgentStatus& status);
/// GET /events: the given events (newest first, as the provider returns them), each element the
/// same JSON object as the event's JSON log line (events/event_format.h, appendEventJson).
Rendered renderEvents(const std::vector<AlertEvent>& events, WallTime now);
/// {"error": message} with the given code.
Rendered renderError(int code, std::string_view message);

}  // namespace pgvigil
