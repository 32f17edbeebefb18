// The SCM restart sequence (scm_control.h). Standard C++ only: it runs on Windows, under Wine and
// in the Linux unit tests.
#include "restart/windows/scm_control.h"

#include <algorithm>
#include <string_view>
#include <thread>
#include <utility>

namespace pgvigil {

namespace {

std::string stateName(std::uint32_t state) {
  switch (state) {
    case win32::kServiceStopped:
      return "STOPPED";
    case win32::kServiceStartPending:
      return "START_PENDING";
    case win32::kServiceStopPending:
      return "STOP_PENDING";
    case win32::kServiceRunning:
      return "RUNNING";
    case win32::kServiceContinuePending:
      return "CONTINUE_PENDING";
    case win32::kServicePausePending:
      return "PAUSE_PENDING";
    case win32::kServicePaused:
      return "PAUSED";
    default:
      return "state " + std::to_string(state);
  }
}

/// Closes the SCM handles whatever way restart()/query() returns.
class CloseOnExit {
 public:
  explicit CloseOnExit(ScmApi& api) : api_(api) {}
  ~CloseOnExit() { api_.close(); }
  CloseOnExit(const CloseOnExit&) = delete;
  CloseOnExit& operator=(const CloseOnExit&) = delete;

 private:
  ScmApi& api_;
};

}  // namespace

std::string_view toString(ScmOutcome::Code code) {
  switch (code) {
    case ScmOutcome::Code::kSucceeded:
      return "succeeded";
    case ScmOutcome::Code::kFailed:
      return "failed";
    case ScmOutcome::Code::kTimedOut:
      return "timed_out";
    case ScmOutcome::Code::kNotFound:
      return "not_found";
    case ScmOutcome::Code::kUnreachable:
      return "unreachable";
    case ScmOutcome::Code::kPermissionDenied:
      return "permission_denied";
  }
  return "failed";
}

std::string_view toString(ScmView view) {
  switch (view) {
    case ScmView::kUnknown:
      return "unknown";
    case ScmView::kRunning:
      return "running";
    case ScmView::kFailed:
      return "failed";
    case ScmView::kNotFound:
      return "not_found";
  }
  return "unknown";
}

ScmView viewOf(const ScmStatus& status) {
  switch (status.state) {
    case win32::kServiceRunning:
    case win32::kServiceStartPending:
    case win32::kServiceContinuePending:
    case win32::kServicePausePending:
    case win32::kServicePaused:
      return ScmView::kRunning;
    case win32::kServiceStopped:
      // 1066 (ERROR_SERVICE_SPECIFIC_ERROR) included: dwServiceSpecificExitCode says more.
      if (status.win32_exit_code != 0 && status.win32_exit_code != win32::kErrorServiceNeverStarted)
        return ScmView::kFailed;
      return ScmView::kUnknown;
    default:
      return ScmView::kUnknown;
  }
}

ScmOutcome::Code codeForError(std::uint32_t error) {
  switch (error) {
    case win32::kErrorServiceDoesNotExist:
      return ScmOutcome::Code::kNotFound;
    case win32::kErrorAccessDenied:
      return ScmOutcome::Code::kPermissionDenied;
    case win32::kErrorFailedServiceControllerConnect:
    case win32::kErrorDatabaseDoesNotExist:
    case win32::kErrorShutdownInProgress:
    case win32::kRpcServerUnavailable:
      return ScmOutcome::Code::kUnreachable;
    default:
      return ScmOutcome::Code::kFailed;
  }
}

std::string describeError(ScmApi& api, std::uint32_t error) {
  std::string text = api.message(error);
  if (text.empty()) return std::to_string(error);
  return std::to_string(error) + ": " + text;
}

ScmControl::ScmControl(ScmApi& api, NowFn now, SleepFn sleep)
    : api_(api), now_(std::move(now)), sleep_(std::move(sleep)) {
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

std::chrono::milliseconds ScmControl::pollInterval(std::uint32_t wait_hint_ms) {
  return std::clamp(std::chrono::milliseconds{wait_hint_ms / 10}, std::chrono::milliseconds{100},
                    std::chrono::milliseconds{1000});
}

void ScmControl::sleepUntilNextPoll(std::uint32_t wait_hint_ms, TimePoint deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now_());
  auto step = std::min(pollInterval(wait_hint_ms), left);
  if (step > std::chrono::milliseconds::zero()) sleep_(step);
}

ScmControl::Wait ScmControl::waitFor(std::uint32_t target, std::uint32_t pending, ScmStatus& status,
                                     TimePoint deadline, std::uint32_t& error) {
  TimePoint last_progress = now_();
  std::uint32_t last_check_point = status.check_point;
  for (;;) {
    if (status.state == target) return Wait::kReached;
    if (status.state != pending) return Wait::kLeft;
    const TimePoint now = now_();
    if (now >= deadline) return Wait::kTimedOut;
    if (status.check_point != last_check_point) {
      last_check_point = status.check_point;
      last_progress = now;
    } else if (status.wait_hint_ms > 0 &&
               now - last_progress > std::chrono::milliseconds{status.wait_hint_ms}) {
      return Wait::kStalled;
    }
    sleepUntilNextPoll(status.wait_hint_ms, deadline);
    if (std::uint32_t e = api_.queryStatus(status)) {
      error = e;
      return Wait::kError;
    }
  }
}

ScmOutcome ScmControl::finish(ScmOutcome outcome, ScmOutcome::Code code, std::uint32_t error,
                              const std::string& what) {
  outcome.code = code;
  outcome.error = error;
  outcome.detail = error != 0 ? what + " (" + describeError(api_, error) + ")" : what;
  return outcome;
}

ScmOutcome ScmControl::waitFailed(ScmOutcome outcome, Wait wait, std::uint32_t error,
                                  const ScmStatus& status, const char* phase) {
  const std::string p(phase);
  switch (wait) {
    case Wait::kTimedOut:
      return finish(std::move(outcome), ScmOutcome::Code::kTimedOut, 0,
                    p + ": still " + stateName(status.state) + " at the deadline");
    case Wait::kStalled:
      return finish(std::move(outcome), ScmOutcome::Code::kFailed, 0,
                    p + ": " + stateName(status.state) +
                        " made no progress within its wait hint (" +
                        std::to_string(status.wait_hint_ms) + " ms, checkpoint " +
                        std::to_string(status.check_point) + ")");
    case Wait::kError:
      return finish(std::move(outcome), codeForError(error), error,
                    p + ": cannot query the service");
    case Wait::kLeft:
    case Wait::kReached:
      break;
  }
  return finish(std::move(outcome), ScmOutcome::Code::kFailed, 0,
                p + ": ended in " + stateName(status.state));
}

ScmOutcome ScmControl::restart(const std::string& service, TimePoint deadline) {
  CloseOnExit closer(api_);
  ScmOutcome outcome;
  if (std::uint32_t e = api_.open(service, /*control=*/true))
    return finish(std::move(outcome), codeForError(e), e, "cannot open service " + service);
  ScmStatus status;
  if (std::uint32_t e = api_.queryStatus(status))
    return finish(std::move(outcome), codeForError(e), e, "cannot query service " + service);

  // A start or stop already in progress (someone else's, or an earlier attempt's) is waited out.
  std::uint32_t error = 0;
  if (status.state == win32::kServiceStartPending) {
    Wait w = waitFor(win32::kServiceRunning, win32::kServiceStartPending, status, deadline, error);
    if (w != Wait::kReached && w != Wait::kLeft)
      return waitFailed(std::move(outcome), w, error, status, "pending start");
  }
  if (status.state == win32::kServiceStopPending) {
    Wait w = waitFor(win32::kServiceStopped, win32::kServiceStopPending, status, deadline, error);
    if (w != Wait::kReached && w != Wait::kLeft)
      return waitFailed(std::move(outcome), w, error, status, "pending stop");
  }
  if (status.state == win32::kServiceStopped) {
    outcome.started_directly = true;
    return startAndWait(std::move(outcome), deadline, 0);
  }

  ScmStatus after;
  const std::uint32_t stop_error = api_.stop(after);
  switch (stop_error) {
    case 0: {
      status = after;
      Wait w = waitFor(win32::kServiceStopped, win32::kServiceStopPending, status, deadline, error);
      if (w != Wait::kReached) return waitFailed(std::move(outcome), w, error, status, "stop");
      outcome.stopped = true;
      return startAndWait(std::move(outcome), deadline, 0);
    }
    case win32::kErrorServiceNotActive:  // stopped between the query and the stop
      outcome.started_directly = true;
      return startAndWait(std::move(outcome), deadline, 0);
    case win32::kErrorNoData:
    case win32::kErrorServiceCannotAcceptCtrl:
    case win32::kErrorServiceRequestTimeout:
      // Wine: the service's process died and the SCM never marked it STOPPED; StartServiceW
      // still works. On Windows a service that is alive but refuses STOP gets 1056 below.
      outcome.started_directly = true;
      return startAndWait(std::move(outcome), deadline, stop_error);
    default:
      return finish(std::move(outcome), codeForError(stop_error), stop_error,
                    "stop failed in state " + stateName(status.state));
  }
}

ScmOutcome ScmControl::startAndWait(ScmOutcome outcome, TimePoint deadline,
                                    std::uint32_t failed_stop_error) {
  if (now_() >= deadline)
    return finish(std::move(outcome), ScmOutcome::Code::kTimedOut, 0,
                  "deadline passed before the start");
  const std::uint32_t start_error = api_.start();
  if (start_error == win32::kErrorServiceAlreadyRunning && failed_stop_error != 0)
    return finish(std::move(outcome), ScmOutcome::Code::kFailed, failed_stop_error,
                  "the service runs but does not accept STOP");
  // 1056 otherwise: someone else started it since; waiting for RUNNING below is right.
  if (start_error != 0 && start_error != win32::kErrorServiceAlreadyRunning)
    return finish(std::move(outcome), codeForError(start_error), start_error, "start failed");

  ScmStatus status;
  if (std::uint32_t e = api_.queryStatus(status))
    return finish(std::move(outcome), codeForError(e), e, "cannot query the service after start");
  std::uint32_t error = 0;
  Wait w = waitFor(win32::kServiceRunning, win32::kServiceStartPending, status, deadline, error);
  if (w == Wait::kReached) {
    std::string how = outcome.stopped ? "stopped and started"
                      : failed_stop_error != 0
                          ? "started (stop failed with " + std::to_string(failed_stop_error) +
                                ": its process had died)"
                          : "started (it was stopped)";
    outcome.code = ScmOutcome::Code::kSucceeded;
    outcome.detail = how + "; RUNNING, pid " + std::to_string(status.process_id);
    return outcome;
  }
  if (w == Wait::kLeft && status.state == win32::kServiceStopped) {
    // Windows: StartServiceW said yes, then the service gave up. Its exit code says why.
    std::uint32_t code = status.win32_exit_code;
    std::string what = "stopped while starting";
    if (code == win32::kErrorServiceSpecificError)
      what += ", service-specific exit code " + std::to_string(status.service_exit_code);
    if (code == 0) code = win32::kErrorServiceRequestTimeout;
    return finish(std::move(outcome), ScmOutcome::Code::kFailed, code, what);
  }
  return waitFailed(std::move(outcome), w, error, status, "start");
}

ScmView ScmControl::query(const std::string& service, std::uint32_t* error, ScmStatus* status) {
  CloseOnExit closer(api_);
  std::uint32_t e = api_.open(service, /*control=*/false);
  ScmStatus st;
  if (e == 0) e = api_.queryStatus(st);
  if (error) *error = e;
  if (e == win32::kErrorServiceDoesNotExist) return ScmView::kNotFound;
  if (e != 0) return ScmView::kUnknown;
  if (status) *status = st;
  return viewOf(st);
}

}  // namespace pgvigil
