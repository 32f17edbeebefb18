// What a client that got a 503 from /health should make of it (issue 10): one reason class out
// of the health state and cause, and the moment pgvigil expects something to change, when it
// knows one. Pure: the HTTP renderers turn it into the body's "reason" and the Retry-After and
// X-Pgvigil-Reason headers; docs/http.md lists every class.
#pragma once

#include <optional>
#include <string_view>

#include "core/status.h"
#include "core/types.h"

namespace pgvigil {

enum class ReasonClass {
  kDown,          ///< refused, reset, name not found, shutting down: nothing answers
  kHung,          ///< the port accepts but nothing answers in time
  kStarting,      ///< coming up after pgvigil's restart, or no verdict yet
  kRecovering,    ///< starting up or in recovery on its own (after a crash): being waited out
  kRestarting,    ///< pgvigil's restart is running, or its grace has not ended
  kSaturated,     ///< too many connections
  kAuthOrConfig,  ///< password, pg_hba, TLS, database or check query: a restart cannot cure it
  kPaused,        ///< an operator paused the target's restarts
  kGivenUp,       ///< the restart budget is spent: alerts only until someone acts
};
inline constexpr ReasonClass kAllReasonClasses[] = {
    ReasonClass::kDown,         ReasonClass::kHung,       ReasonClass::kStarting,
    ReasonClass::kRecovering,   ReasonClass::kRestarting, ReasonClass::kSaturated,
    ReasonClass::kAuthOrConfig, ReasonClass::kPaused,     ReasonClass::kGivenUp,
};
/// "down", "hung", "starting", "recovering", "restarting", "saturated", "auth_or_config",
/// "paused", "given_up".
std::string_view toString(ReasonClass r);

/// The class of a state that /health answers 503 for; empty for healthy and degraded.
/// `inGrace`: pgvigil restarted it and waits for it to come up (a starting_up then is
/// "starting", one on its own "recovering").
std::optional<ReasonClass> reasonClass(TargetState state, Cause cause, bool inGrace);

struct RetryGuidance {
  ReasonClass reason = ReasonClass::kDown;
  /// When pgvigil expects a change: pause end, grace end, next restart attempt, hang_after or
  /// recovery_grace end. Empty when it does not know (given up, saturated, auth_or_config, a
  /// restart running, no restart method).
  std::optional<WallTime> retry_at;
};

/// The guidance for one target that is not up (empty when it is up).
std::optional<RetryGuidance> retryGuidance(const TargetStatus& target);

/// Retry-After in whole seconds from `now`: rounded up, at least 1 (a time already passed means
/// "any moment now").
long long retryAfterSeconds(WallTime at, WallTime now);

}  // namespace pgvigil
