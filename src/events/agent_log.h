// Agent diagnostics that are not alert events ("state file corrupt, replaced", "reload failed to
// read the token file"). They go to the same log output, in the same format and field order, as
// an entry whose event is "agent_log" — so a log pipeline keyed on `event` sees a fixed schema and
// can tell them apart from the docs/reference.md §6 events, whose names stay exactly as specified.
// They are not alert events: they are not kept in the EventRing and are not shown by GET /events.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/alert_event.h"
#include "core/clock.h"

namespace pgvigil {

using EventFields = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kAgentLogEvent = "agent_log";

class AgentLog {
 public:
  virtual ~AgentLog() = default;
  /// Thread-safe. `msg` and the fields must already be free of secrets (the sink masks the ones
  /// it was told about, as a last resort).
  virtual void log(EventLevel level, std::string_view msg, const EventFields& fields) = 0;
};

inline AlertEvent makeAgentLogEvent(EventLevel level, std::string_view msg, EventFields fields,
                                    WallTime ts) {
  AlertEvent e;
  e.ts = ts;
  e.level = level;
  e.event = std::string(kAgentLogEvent);
  e.msg = std::string(msg);
  e.fields = std::move(fields);
  return e;
}

}  // namespace pgvigil
