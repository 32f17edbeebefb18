// One round of every configured check on one target (docs/reference.md §3): tcp probe, liveness
// query on a fresh connection, connection counts. Bounded by the target's timeout, with a deadline
// per phase; never throws; a timeout is a result, not an exception.
#pragma once

#include "core/clock.h"
#include "core/config.h"
#include "core/round_result.h"

namespace pgvigil {

/// Runs tcp, query and connections checks as configured, in that order, within target.timeout.
/// A failing tcp check skips the rest. The connections query runs on the same fresh connection
/// as the liveness query. Verdict: kFailed with the first failure's cause; kDegraded when
/// connection usage is at warn (or above critical: the round still answered, so it is degraded
/// for the state machine, and connections_critical is set so that `check` reports CRITICAL and
/// the agent emits connections_critical). A server that refuses with "too many clients" is a
/// failure with cause too_many_connections.
RoundResult runRound(const TargetConfig& target, const Clock& clock);

}  // namespace pgvigil
