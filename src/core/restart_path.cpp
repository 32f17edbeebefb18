// A target's restart path as the preflight checks and the attempts found it. See restart_path.h.
#include "core/restart_path.h"

namespace pgvigil {

bool restartResultIsPathFailure(RestartOutcome::Result result) {
  switch (result) {
    case RestartOutcome::Result::kUnreachable:
    case RestartOutcome::Result::kNotFound:
    case RestartOutcome::Result::kPermissionDenied:
    case RestartOutcome::Result::kSpawnFailed:
      return true;
    case RestartOutcome::Result::kSucceeded:
    case RestartOutcome::Result::kFailed:
    case RestartOutcome::Result::kTimedOut:
    case RestartOutcome::Result::kOperatorStopped:
      return false;
  }
  return false;
}

std::optional<AlertEvent> RestartPathWatch::update(std::string_view target, RestartMethod method,
                                                   const RestartPathCheck& check, WallTime wall) {
  const bool wasBroken = status_ && !status_->ok;
  if (check.ok && !check.conclusive && wasBroken) return std::nullopt;  // cannot tell: keep it
  const std::string previousProblem = wasBroken ? status_->problem : std::string();
  status_ = RestartPathStatus{check.ok, wall, check.ok ? std::string() : check.problem};
  if (!check.ok) {
    if (wasBroken && previousProblem == check.problem) return std::nullopt;
    announcedBroken_ = true;
    return restart_path_events::broken(target, method, check.problem, wall);
  }
  if (!announcedBroken_) return std::nullopt;
  announcedBroken_ = false;
  return restart_path_events::ok(target, method, wall);
}

void RestartPathWatch::reset() {
  status_.reset();
}

namespace restart_path_events {
namespace {

AlertEvent make(std::string_view target, std::string_view name, EventLevel level, std::string msg,
                WallTime wall, RestartMethod method) {
  AlertEvent e;
  e.ts = wall;
  e.level = level;
  e.event = std::string(name);
  e.target = std::string(target);
  e.msg = std::move(msg);
  e.fields.emplace_back("method", std::string(toString(method)));
  return e;
}

}  // namespace

AlertEvent broken(std::string_view target, RestartMethod method, std::string_view problem,
                  WallTime wall) {
  AlertEvent e = make(target, "restart_path_broken", EventLevel::kError,
                      "restart path cannot work: " + std::string(problem) +
                          "; a restart would fail until this is fixed",
                      wall, method);
  e.fields.emplace_back("problem", std::string(problem));
  return e;
}

AlertEvent ok(std::string_view target, RestartMethod method, WallTime wall) {
  return make(target, "restart_path_ok", EventLevel::kInfo, "restart path works again", wall,
              method);
}

}  // namespace restart_path_events
}  // namespace pgvigil
