// String names of the config and outcome enums: the spellings users see in YAML, JSON and events.
#include "core/alert_event.h"
#include "core/config.h"
#include "core/restart_outcome.h"

namespace pgvigil {

std::string_view toString(RestartMethod m) {
  switch (m) {
    case RestartMethod::kNone:
      return "none";
    case RestartMethod::kCommand:
      return "command";
    case RestartMethod::kSystemd:
      return "systemd";
    case RestartMethod::kWindowsService:
      return "windows-service";
    case RestartMethod::kDocker:
      return "docker";
  }
  return "none";
}

std::vector<RestartMethod> restartMethodsOfThisBuild() {
  std::vector<RestartMethod> m{RestartMethod::kNone, RestartMethod::kCommand};
#if defined(__linux__)
  m.push_back(RestartMethod::kSystemd);
#endif
#if defined(_WIN32)
  // Docker on Windows listens on the named pipe //./pipe/docker_engine, which the restarter's
  // HTTP client cannot reach (docs/windows.md).
  m.push_back(RestartMethod::kWindowsService);
#else
  m.push_back(RestartMethod::kDocker);
#endif
  return m;
}

std::string_view buildPlatformName() {
#if defined(__linux__)
  return "Linux";
#elif defined(_WIN32)
  return "Windows";
#else
  return "this platform";
#endif
}

std::string_view toString(LogFormat f) {
  return f == LogFormat::kJson ? "json" : "text";
}

std::string_view toString(LogOutput o) {
  switch (o) {
    case LogOutput::kStdout:
      return "stdout";
    case LogOutput::kStderr:
      return "stderr";
    case LogOutput::kFile:
      return "file";
    case LogOutput::kSyslog:
      return "syslog";
    case LogOutput::kJournald:
      return "journald";
    case LogOutput::kEventlog:
      return "eventlog";
  }
  return "stdout";
}

std::string_view toString(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string_view toString(EventLevel l) {
  switch (l) {
    case EventLevel::kDebug:
      return "debug";
    case EventLevel::kInfo:
      return "info";
    case EventLevel::kWarning:
      return "warning";
    case EventLevel::kError:
      return "error";
    case EventLevel::kCritical:
      return "critical";
  }
  return "info";
}

std::string_view toString(RestartOutcome::Result r) {
  using R = RestartOutcome::Result;
  switch (r) {
    case R::kSucceeded:
      return "succeeded";
    case R::kFailed:
      return "failed";
    case R::kTimedOut:
      return "timed_out";
    case R::kOperatorStopped:
      return "operator_stopped";
    case R::kNotFound:
      return "not_found";
    case R::kUnreachable:
      return "unreachable";
    case R::kPermissionDenied:
      return "permission_denied";
    case R::kSpawnFailed:
      return "spawn_failed";
  }
  return "failed";
}

std::string_view toString(ServiceState s) {
  switch (s) {
    case ServiceState::kUnknown:
      return "unknown";
    case ServiceState::kRunning:
      return "running";
    case ServiceState::kFailed:
      return "failed";
    case ServiceState::kOperatorStopped:
      return "operator_stopped";
    case ServiceState::kNotFound:
      return "not_found";
  }
  return "unknown";
}

}  // namespace pgvigil
