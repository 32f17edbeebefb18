// JSON building blocks for the commands' machine-readable output (Poco::JSON, key order kept).
#pragma once

#include <Poco/JSON/Object.h>

#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "core/round_result.h"

namespace pgvigil {

/// A JSON object that keeps its keys in insertion order (what a human reading it expects).
Poco::JSON::Object::Ptr orderedObject();

/// Seconds as a JSON number with microsecond precision.
double seconds(Micros d);

/// One check's outcome: check, status (ok|failed|skipped), ok, cause, phase, latency_seconds,
/// message, sqlstate. `cause` and `phase` are null when not applicable.
Poco::JSON::Object::Ptr checkToJson(const CheckOutcome& outcome);
/// A configured check that did not run this round (an earlier one failed).
Poco::JSON::Object::Ptr skippedCheckToJson(const std::string& check);

/// used, usable, max_connections, superuser_reserved, reserved, by_state, ratio, and the
/// target's warn/critical thresholds with at_warn/at_critical.
Poco::JSON::Object::Ptr connectionsToJson(const ConnectionStats& stats,
                                          const ConnectionsCheckConfig& thresholds, bool atWarn,
                                          bool atCritical);

/// Serializes without indentation (one line) and with a trailing newline.
std::string toJsonLine(const Poco::JSON::Object::Ptr& object);

}  // namespace pgvigil
