// Vocabulary shared by every layer: failure causes, target states, probe phases.
// Names and strings are the external contract of docs/reference.md §3 and §5; keep them in sync.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace pgvigil {

using Millis = std::chrono::milliseconds;
using Micros = std::chrono::microseconds;

/// The longest duration pgvigil reads from outside (config, `?for=`, `--for`): 36500d, about 100
/// years. Anything longer is an error, never a wrapped value: every duration that passes can be
/// converted to std::chrono nanoseconds (steady_clock and system_clock) and added to the current
/// time without overflow (int64 nanoseconds reach to 2262; now + 100 years stays far below).
/// Each use has its own, much smaller bound on top of this one (see docs/configuration.md).
inline constexpr Millis kMaxDuration = std::chrono::hours{24 * 36500};

/// The longest pause an operator can ask for (`POST /targets/{name}/pause?for=`, `pgvigil pause
/// --for`): a year. Maintenance longer than that is a pause without `for`, ended by resume.
inline constexpr Millis kMaxPause = std::chrono::hours{24 * 365};

/// Why one round (or one check) failed. Exactly one per failure (docs/reference.md §3).
enum class Cause {
  kNone,  ///< no failure
  kRefused,
  kTimeout,
  kReset,
  kDns,
  kTls,
  kStartingUp,
  kShuttingDown,
  kTooManyConnections,
  kAuthFailed,
  kNoDatabase,
  kQueryError,
  kInternal,
};
inline constexpr Cause kAllCauses[] = {
    Cause::kRefused,    Cause::kTimeout,    Cause::kReset,        Cause::kDns,
    Cause::kTls,        Cause::kStartingUp, Cause::kShuttingDown, Cause::kTooManyConnections,
    Cause::kAuthFailed, Cause::kNoDatabase, Cause::kQueryError,   Cause::kInternal,
};
std::string_view toString(Cause c);  ///< "refused", ...; "" for kNone
std::optional<Cause> causeFromString(std::string_view s);

/// The server is down or hung: the only causes a restart can cure (docs/reference.md §3).
/// kStartingUp may also lead to a restart, but only once it outlasts recovery_grace.
bool causeIsDownOrHung(Cause c);

/// A target's state (docs/reference.md §3).
enum class TargetState {
  kUnknown,
  kHealthy,
  kDegraded,
  kUnhealthy,
  kRestarting,
  kStartingUp,
  kGivenUp,
  kPaused,
};
inline constexpr TargetState kAllStates[] = {
    TargetState::kUnknown,   TargetState::kHealthy,    TargetState::kDegraded,
    TargetState::kUnhealthy, TargetState::kRestarting, TargetState::kStartingUp,
    TargetState::kGivenUp,   TargetState::kPaused,
};
std::string_view toString(TargetState s);  ///< "unknown", "healthy", "starting_up", "given_up", ...
std::optional<TargetState> stateFromString(std::string_view s);
/// healthy or degraded: what /health answers 200 for.
inline bool stateIsUp(TargetState s) {
  return s == TargetState::kHealthy || s == TargetState::kDegraded;
}

/// Where in a connection attempt something happened. A timeout names its phase.
enum class Phase {
  kNone,
  kDns,      ///< resolving the host name
  kConnect,  ///< TCP connect
  kStartup,  ///< TLS negotiation and the startup packet, until the server asks for auth
  kAuth,     ///< authentication exchange
  kQuery,    ///< running the liveness or connections query
};
std::string_view toString(Phase p);  ///< "dns", "connect", "startup", "auth", "query"; "" for kNone

}  // namespace pgvigil
