// The endpoint's answers as plain functions of an AgentStatus (docs/reference.md §4). No sockets,
// no clock, no locks: unit tests feed them a status and read the text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/alert_event.h"
#include "core/status.h"

namespace pgvigil {

/// An HTTP status code and a body (JSON unless said otherwise).
struct [[nodiscard]] Rendered {
  int code = 200;
  std::string body;
  /// Headers besides type and length (a 503 from /health: Retry-After, X-Pgvigil-Reason).
  std::vector<std::pair<std::string, std::string>> headers = {};
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
/// {"status":"healthy|degraded|unhealthy","targets":{name:state},"checked_at":…,"stale":…,
///  "reason":class|null,"reasons":{name:class},"retry_at":time|null}
/// A 503 carries the reason class (core/retry_guidance: of the first target that is not up, in
/// config order; "reasons" has every one) in the body and in X-Pgvigil-Reason, and Retry-After
/// (whole seconds) when every target that is not up has a known time of change (the latest).
Rendered renderHealth(const AgentStatus& status);
/// GET /health/{target}: the same for one target, with "reason" and "retry_at" of its own;
/// 404 for an unknown one.
Rendered renderHealthTarget(const AgentStatus& status, std::string_view target);
/// GET /status: the agent and every target in detail.
Rendered renderStatus(const AgentStatus& status);
/// GET /events: the given events (newest first, as the provider returns them), each element the
/// same JSON object as the event's JSON log line (events/event_format.h, appendEventJson).
Rendered renderEvents(const std::vector<AlertEvent>& events, WallTime now);
/// {"error": message} with the given code.
Rendered renderError(int code, std::string_view message);

}  // namespace pgvigil
