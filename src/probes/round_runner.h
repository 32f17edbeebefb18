// One round of every configured check on one target (docs/reference.md §3): tcp probe, liveness
// query on a fresh connection, connection counts. Bounded by the target's timeout, with a deadline
// per phase; never throws; a timeout is a result, not an exception.
#pragma once

#include <functional>
#include <optional>

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

/// Where the connections query may run instead of the round's fresh session: the agent's
/// long-lived monitoring session. Called with the fresh session's backend pid (0 when there is
/// none), so that it is not counted, and the round's deadline. nullopt when that session cannot
/// run it (not open, busy): the round then runs the query on its fresh session.
using ConnectionsSource =
    std::function<std::optional<ConnectionStats>(int excludePid, const Deadline& deadline)>;

/// As runRound, with the connections query on `source` when it answers: the fresh session then
/// runs the liveness query alone (a cold backend that runs one cheap statement). When the fresh
/// session is refused for too_many_connections, the figures still come from `source`: the round
/// fails as before, but carries them, and its message names the top holder.
RoundResult runRoundWith(const TargetConfig& target, const Clock& clock,
                         const ConnectionsSource& source);

}  // namespace pgvigil
