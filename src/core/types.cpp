#include "core/types.h"

#include <array>
#include <utility>

namespace pgvigil {
namespace {

constexpr std::array<std::pair<Cause, std::string_view>, 13> kCauseNames{{
    {Cause::kRefused, "refused"},
    {Cause::kTimeout, "timeout"},
    {Cause::kReset, "reset"},
    {Cause::kDns, "dns"},
    {Cause::kTls, "tls"},
    {Cause::kStartingUp, "starting_up"},
    {Cause::kShuttingDown, "shutting_down"},
    {Cause::kTooManyConnections, "too_many_connections"},
    {Cause::kAuthFailed, "auth_failed"},
    {Cause::kNoDatabase, "no_database"},
    {Cause::kQueryError, "query_error"},
    {Cause::kInternal, "internal"},
    {Cause::kRestarterUnreachable, "restarter_unreachable"},
}};

constexpr std::array<std::pair<TargetState, std::string_view>, 8> kStateNames{{
    {TargetState::kUnknown, "unknown"},
    {TargetState::kHealthy, "healthy"},
    {TargetState::kDegraded, "degraded"},
    {TargetState::kUnhealthy, "unhealthy"},
    {TargetState::kRestarting, "restarting"},
    {TargetState::kStartingUp, "starting_up"},
    {TargetState::kGivenUp, "given_up"},
    {TargetState::kPaused, "paused"},
}};

}  // namespace

std::string_view toString(Cause c) {
  for (const auto& [cause, name] : kCauseNames)
    if (cause == c) return name;
  return "";
}

std::optional<Cause> causeFromString(std::string_view s) {
  for (const auto& [cause, name] : kCauseNames)
    if (name == s) return cause;
  return std::nullopt;
}

bool causeIsDownOrHung(Cause c) {
  return c == Cause::kRefused || c == Cause::kTimeout || c == Cause::kReset;
}

std::string_view toString(TargetState s) {
  for (const auto& [state, name] : kStateNames)
    if (state == s) return name;
  return "unknown";
}

std::optional<TargetState> stateFromString(std::string_view s) {
  for (const auto& [state, name] : kStateNames)
    if (name == s) return state;
  return std::nullopt;
}

std::string_view toString(Phase p) {
  switch (p) {
    case Phase::kNone:
      return "";
    case Phase::kDns:
      return "dns";
    case Phase::kConnect:
      return "connect";
    case Phase::kStartup:
      return "startup";
    case Phase::kAuth:
      return "auth";
    case Phase::kQuery:
      return "query";
  }
  return "";
}

}  // namespace pgvigil
