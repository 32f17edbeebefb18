#include "core/retry_guidance.h"

#include <algorithm>

namespace pgvigil {

std::string_view toString(ReasonClass r) {
  switch (r) {
    case ReasonClass::kDown:
      return "down";
    case ReasonClass::kHung:
      return "hung";
    case ReasonClass::kStarting:
      return "starting";
    case ReasonClass::kRecovering:
      return "recovering";
    case ReasonClass::kRestarting:
      return "restarting";
    case ReasonClass::kSaturated:
      return "saturated";
    case ReasonClass::kAuthOrConfig:
      return "auth_or_config";
    case ReasonClass::kPaused:
      return "paused";
    case ReasonClass::kGivenUp:
      return "given_up";
  }
  return "down";
}

namespace {

ReasonClass fromCause(Cause cause, bool inGrace) {
  switch (cause) {
    case Cause::kTimeout:
      return ReasonClass::kHung;
    case Cause::kStartingUp:
      return inGrace ? ReasonClass::kStarting : ReasonClass::kRecovering;
    case Cause::kTooManyConnections:
      return ReasonClass::kSaturated;
    case Cause::kAuthFailed:
    case Cause::kNoDatabase:
    case Cause::kTls:
    case Cause::kQueryError:
      return ReasonClass::kAuthOrConfig;
    case Cause::kRefused:
    case Cause::kReset:
    case Cause::kDns:
    case Cause::kShuttingDown:
    case Cause::kInternal:
    case Cause::kRestarterUnreachable:  // an event's cause, never a round's: down all the same
    case Cause::kNone:
      return ReasonClass::kDown;
  }
  return ReasonClass::kDown;
}

}  // namespace

std::optional<ReasonClass> reasonClass(TargetState state, Cause cause, bool inGrace) {
  switch (state) {
    case TargetState::kHealthy:
    case TargetState::kDegraded:
      return std::nullopt;
    case TargetState::kPaused:
      return ReasonClass::kPaused;
    case TargetState::kGivenUp:
      return ReasonClass::kGivenUp;
    case TargetState::kRestarting:
      return ReasonClass::kRestarting;
    case TargetState::kUnknown:
      return ReasonClass::kStarting;  // no verdict yet: the first round is on its way
    case TargetState::kStartingUp:
      // A shutting-down server shows as starting_up too; it is on its way down.
      if (cause == Cause::kShuttingDown) return ReasonClass::kDown;
      return inGrace ? ReasonClass::kStarting : ReasonClass::kRecovering;
    case TargetState::kUnhealthy:
      return fromCause(cause, inGrace);
  }
  return ReasonClass::kDown;
}

std::optional<RetryGuidance> retryGuidance(const TargetStatus& t) {
  const auto reason = reasonClass(t.state, t.cause, t.grace_until.has_value());
  if (!reason) return std::nullopt;
  RetryGuidance g;
  g.reason = *reason;
  switch (*reason) {
    case ReasonClass::kPaused:
      g.retry_at = t.paused_until;
      break;
    case ReasonClass::kRestarting:
    case ReasonClass::kStarting:
      g.retry_at = t.grace_until;
      break;
    case ReasonClass::kDown:
    case ReasonClass::kHung:
    case ReasonClass::kRecovering:
      // The next instant the restart engine acts on its own: a backoff, hang_after or
      // recovery_grace that ends.
      g.retry_at = t.next_change_at;
      break;
    case ReasonClass::kSaturated:
    case ReasonClass::kAuthOrConfig:
    case ReasonClass::kGivenUp:
      break;  // nothing pgvigil will do changes it at a known time
  }
  return g;
}

long long retryAfterSeconds(WallTime at, WallTime now) {
  if (at <= now) return 1;
  const auto secs = std::chrono::ceil<std::chrono::seconds>(at - now).count();
  return std::max<long long>(1, secs);
}

}  // namespace pgvigil
