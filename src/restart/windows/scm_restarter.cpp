// restart.method: windows-service (scm_restarter.h). No windows.h here: only the default ScmApi
// (Win32ScmApi) needs it, so this adapter also builds on Linux for the unit tests.
#include "restart/windows/scm_restarter.h"

#include <utility>

#ifdef _WIN32
#include "restart/windows/scm_win32.h"
#endif

namespace pgvigil {

namespace {

/// Where there is no SCM (a non-Windows build given no api): every open fails with 1063, so a
/// restart is kUnreachable and a query kUnknown, never undefined.
class NoScmApi final : public ScmApi {
 public:
  std::uint32_t open(const std::string&, bool) override {
    return win32::kErrorFailedServiceControllerConnect;
  }
  std::uint32_t queryStatus(ScmStatus&) override { return win32::kErrorInvalidHandle; }
  std::uint32_t stop(ScmStatus&) override { return win32::kErrorInvalidHandle; }
  std::uint32_t start() override { return win32::kErrorInvalidHandle; }
  void close() override {}
  std::string message(std::uint32_t) override { return "no Service Control Manager here"; }
};

std::unique_ptr<ScmApi> defaultApi(std::unique_ptr<ScmApi> api) {
  if (api) return api;
#ifdef _WIN32
  return std::make_unique<Win32ScmApi>();
#else
  return std::make_unique<NoScmApi>();
#endif
}

}  // namespace

RestartOutcome::Result toRestartResult(ScmOutcome::Code code) {
  using R = RestartOutcome::Result;
  switch (code) {
    case ScmOutcome::Code::kSucceeded:
      return R::kSucceeded;
    case ScmOutcome::Code::kFailed:
      return R::kFailed;
    case ScmOutcome::Code::kTimedOut:
      return R::kTimedOut;
    case ScmOutcome::Code::kNotFound:
      return R::kNotFound;
    case ScmOutcome::Code::kUnreachable:
      return R::kUnreachable;
    case ScmOutcome::Code::kPermissionDenied:
      return R::kPermissionDenied;
  }
  return R::kFailed;
}

ServiceState toServiceState(ScmView view) {
  switch (view) {
    case ScmView::kRunning:
      return ServiceState::kRunning;
    case ScmView::kFailed:
      return ServiceState::kFailed;
    case ScmView::kNotFound:
      return ServiceState::kNotFound;
    case ScmView::kUnknown:
      return ServiceState::kUnknown;
  }
  return ServiceState::kUnknown;
}

ScmRestarter::ScmRestarter(std::string service, const Clock& clock, std::unique_ptr<ScmApi> api,
                           ScmControl::SleepFn sleep)
    : service_(std::move(service)),
      clock_(clock),
      api_(defaultApi(std::move(api))),
      control_(
          *api_, [this] { return clock_.now(); }, std::move(sleep)) {}

RestartOutcome ScmRestarter::restart(const Deadline& deadline) {
  RestartOutcome out;
  const SteadyTime started = clock_.now();
  std::lock_guard lock(mutex_);
  ScmOutcome scm = control_.restart(service_, deadline.at());
  out.result = toRestartResult(scm.code);
  out.detail = std::move(scm.detail);
  out.took = std::chrono::duration_cast<Millis>(clock_.now() - started);
  return out;
}

ServiceState ScmRestarter::query(const Deadline& deadline) {
  (void)deadline;  // QueryServiceStatusEx answers at once or fails; it has no timeout to pass
  std::lock_guard lock(mutex_);
  return toServiceState(control_.query(service_));
}

}  // namespace pgvigil
