// Who holds the connection slots (reference.md §3, issue 10): ranking the groups of client backends
// that the connections query returns, and saying it in words for events, `check` and /status.
// Pure: no clock, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/round_result.h"

namespace pgvigil {

/// How many holders are kept by name (in the round, /status, /metrics); the rest are one
/// `other`. Fixed, so that the metrics' label cardinality is too.
inline constexpr std::size_t kTopHolders = 5;

/// Sorts the groups by sessions (most first; ties by application, user, client) and folds every
/// group beyond the first `top` (and any `other` rows already there) into one `other` at the end.
void rankHolders(std::vector<ConnectionHolder>& holders, std::size_t top = kTopHolders);

/// "api (appuser@10.0.0.5)", "(no application_name) (appuser@local)",
/// "other (12 groups)".
std::string holderName(const ConnectionHolder& h);

/// "api (appuser@10.0.0.5) holds 21 of 97 usable; 18 idle, oldest idle 41m; 2 idle in
/// transaction, oldest 3m". Ages are rounded down to minutes from one minute on.
std::string holderText(const ConnectionHolder& h, int usable);

/// The top holder in words (holderText), "" when there is none.
std::string topHolderText(const ConnectionStats& c);

/// When the role cannot see other users' sessions: "role appuser cannot see other users'
/// sessions (3 of 14 hidden: no state, address or query); GRANT pg_monitor TO appuser".
/// "" when it sees them all.
std::string visibilityWarning(const ConnectionStats& c);

/// The statement that gives `role` the right to see every session.
std::string grantRemedy(const std::string& role);

/// A threshold that can never fire on this server: the session that measures holds one usable
/// slot itself (unless its role is a superuser, whose sessions fall back to the reserved ones),
/// so the others can reach at most usable - 1. Returns the warning with the numbers ("critical
/// 95% needs 17 of 17 usable slots, but at most 16 can be counted: the monitoring session holds
/// one; lower connections.critical to 94% or below"), nullopt when both can fire.
std::optional<std::string> unreachableThresholds(const ConnectionStats& c,
                                                 const ConnectionsCheckConfig& config);

/// What a restart would cut, from these figures: "14 client sessions (api 9, worker 4,
/// other 1)"; "no client sessions" when there are none.
std::string blastRadiusText(const ConnectionStats& c);
/// "api,worker,other": the applications of the holders, in rank order, each once.
std::string blastRadiusApplications(const ConnectionStats& c);

}  // namespace pgvigil
