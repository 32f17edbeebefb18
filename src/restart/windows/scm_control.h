// The Windows Service Control Manager side of restart.method: windows-service, in standard C++
// only: no windows.h, no Poco, no core headers. The Win32 calls sit behind ScmApi (scm_win32.h
// implements it with OpenSCManagerW & co.), so the same sequence runs on Windows, under Wine's
// SCM (tests/windows) and against a scripted fake on Linux (unit tests, no sleeps: time and
// sleeping are injected).
//
// One restart is: open the service (query|start|stop rights); if it runs, ControlService(STOP)
// and wait for STOPPED; StartServiceW; wait for RUNNING. START_PENDING / STOP_PENDING are waited
// out, polling at a tenth of the service's dwWaitHint (100 ms .. 1 s) and giving up when
// dwCheckPoint has not moved for longer than the wait hint (as Microsoft's own sample does);
// everything ends by the caller's deadline.
//
// Wine and Windows differ (TESTING.md "Windows"): when a service process dies, Wine never marks
// it STOPPED; ControlService(STOP) then fails with 232 (ERROR_NO_DATA) or 1061, and StartServiceW
// still works, so the service is started directly. A start that fails is reported by Wine at
// once (1053) and by Windows as success followed by STOPPED: both end as kFailed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace pgvigil {

/// Win32 values used here (winerror.h / winsvc.h; stable since NT), so this file needs no
/// windows.h.
namespace win32 {
inline constexpr std::uint32_t kErrorAccessDenied = 5;
inline constexpr std::uint32_t kErrorInvalidHandle = 6;
inline constexpr std::uint32_t kErrorNoData = 232;  ///< "the pipe is being closed" (Wine)
inline constexpr std::uint32_t kErrorInvalidServiceControl = 1052;
inline constexpr std::uint32_t kErrorServiceRequestTimeout = 1053;
inline constexpr std::uint32_t kErrorServiceNoThread = 1054;
inline constexpr std::uint32_t kErrorServiceDatabaseLocked = 1055;
inline constexpr std::uint32_t kErrorServiceAlreadyRunning = 1056;
inline constexpr std::uint32_t kErrorServiceDisabled = 1058;
inline constexpr std::uint32_t kErrorServiceDoesNotExist = 1060;
inline constexpr std::uint32_t kErrorServiceCannotAcceptCtrl = 1061;
inline constexpr std::uint32_t kErrorServiceNotActive = 1062;
inline constexpr std::uint32_t kErrorFailedServiceControllerConnect = 1063;
inline constexpr std::uint32_t kErrorDatabaseDoesNotExist = 1065;
inline constexpr std::uint32_t kErrorServiceSpecificError = 1066;
inline constexpr std::uint32_t kErrorServiceMarkedForDelete = 1072;
inline constexpr std::uint32_t kErrorServiceNeverStarted = 1077;
inline constexpr std::uint32_t kErrorShutdownInProgress = 1115;
inline constexpr std::uint32_t kRpcServerUnavailable = 1722;

inline constexpr std::uint32_t kServiceStopped = 1;
inline constexpr std::uint32_t kServiceStartPending = 2;
inline constexpr std::uint32_t kServiceStopPending = 3;
inline constexpr std::uint32_t kServiceRunning = 4;
inline constexpr std::uint32_t kServiceContinuePending = 5;
inline constexpr std::uint32_t kServicePausePending = 6;
inline constexpr std::uint32_t kServicePaused = 7;
}  // namespace win32

/// SERVICE_STATUS_PROCESS, the fields that matter here.
struct ScmStatus {
  std::uint32_t state = 0;  ///< win32::kService*
  std::uint32_t win32_exit_code = 0;
  std::uint32_t service_exit_code = 0;
  std::uint32_t check_point = 0;
  std::uint32_t wait_hint_ms = 0;
  std::uint32_t process_id = 0;
};

/// The SCM calls the sequence needs. Each returns 0 or the Win32 error (GetLastError()).
class ScmApi {
 public:
  virtual ~ScmApi() = default;
  /// OpenSCManagerW + OpenServiceW; control: SERVICE_QUERY_STATUS|SERVICE_START|SERVICE_STOP,
  /// else SERVICE_QUERY_STATUS only. Replaces any service opened before.
  virtual std::uint32_t open(const std::string& service, bool control) = 0;
  virtual std::uint32_t queryStatus(ScmStatus& out) = 0;  ///< QueryServiceStatusEx
  /// ControlService(SERVICE_CONTROL_STOP); out is the status it returns.
  virtual std::uint32_t stop(ScmStatus& out) = 0;
  virtual std::uint32_t start() = 0;  ///< StartServiceW, no arguments
  virtual void close() = 0;           ///< closes the handles (also done by the destructor)
  /// The system's text for a Win32 error, UTF-8, one line ("" if none).
  virtual std::string message(std::uint32_t error) = 0;
};

/// What one restart came to. Plain data; scm_restarter.cpp turns it into a RestartOutcome.
struct [[nodiscard]] ScmOutcome {
  enum class Code {
    kSucceeded,         ///< RUNNING again
    kFailed,            ///< tried, did not work (start failed, stopped while starting, ...)
    kTimedOut,          ///< the deadline came first
    kNotFound,          ///< 1060
    kUnreachable,       ///< the SCM could not be reached (1063, 1722, 1065, 1115)
    kPermissionDenied,  ///< 5
  };
  Code code = Code::kFailed;
  std::uint32_t error = 0;        ///< the Win32 error that decided it, 0 if none
  std::string detail;             ///< one line: "stopped and started", "start failed (1053: ...)"
  bool stopped = false;           ///< a STOP was sent and the service reached STOPPED
  bool started_directly = false;  ///< started without a stop: it was stopped, or its process died
};
std::string_view toString(ScmOutcome::Code code);

/// What query() says, one-to-one with pgvigil's ServiceState (no operator-stopped: see below).
enum class ScmView { kUnknown, kRunning, kFailed, kNotFound };
std::string_view toString(ScmView view);

/// The mapping, pure: RUNNING, START_PENDING, CONTINUE_PENDING, PAUSE_PENDING, PAUSED ->
/// kRunning (a process is there); STOPPED with a non-zero dwWin32ExitCode (1066 included: its
/// service-specific code says more) -> kFailed; STOPPED with 0 or 1077 (never started) -> kUnknown,
/// because PostgreSQL's own service (pg_ctl.c) reports exactly that when the postmaster dies, so
/// the SCM cannot tell a crash from an operator's stop: the probes decide, and `pgvigil pause` is
/// the operator's tool; STOP_PENDING and anything else -> kUnknown.
ScmView viewOf(const ScmStatus& status);

/// Error -> code: 1060 kNotFound, 5 kPermissionDenied, 1063/1065/1115/1722 kUnreachable, any
/// other kFailed.
ScmOutcome::Code codeForError(std::uint32_t error);

/// "1053: The service did not respond to the start or control request in a timely fashion" —
/// the number always, the system's text when it has one.
std::string describeError(ScmApi& api, std::uint32_t error);

class ScmControl {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using NowFn = std::function<TimePoint()>;
  using SleepFn = std::function<void(std::chrono::milliseconds)>;

  /// now/sleep default to steady_clock and std::this_thread::sleep_for.
  explicit ScmControl(ScmApi& api, NowFn now = {}, SleepFn sleep = {});

  /// One restart attempt (see the file comment), done or abandoned by the deadline. Never
  /// throws; the handles are closed when it returns.
  ScmOutcome restart(const std::string& service, TimePoint deadline);

  /// The service's state as viewOf() maps it; kNotFound for 1060, kUnknown when the SCM cannot
  /// answer (error then says why). status, when given, receives the raw status.
  ScmView query(const std::string& service, std::uint32_t* error = nullptr,
                ScmStatus* status = nullptr);

  /// How long to sleep between two polls of a pending state: a tenth of the wait hint, within
  /// 100 ms .. 1 s (Microsoft's sample uses 1 .. 10 s; a restart deadline is shorter).
  static std::chrono::milliseconds pollInterval(std::uint32_t wait_hint_ms);

 private:
  enum class Wait { kReached, kLeft, kStalled, kTimedOut, kError };
  /// Polls while the service is in `pending` until it reaches target, leaves to another state,
  /// stalls (dwCheckPoint still for longer than dwWaitHint) or the deadline passes.
  Wait waitFor(std::uint32_t target, std::uint32_t pending, ScmStatus& status, TimePoint deadline,
               std::uint32_t& error);
  /// StartServiceW and the wait for RUNNING. failed_stop_error: the error of a STOP that failed
  /// just before (0 if none), which makes "already running" a failure.
  ScmOutcome startAndWait(ScmOutcome outcome, TimePoint deadline, std::uint32_t failed_stop_error);
  ScmOutcome finish(ScmOutcome outcome, ScmOutcome::Code code, std::uint32_t error,
                    const std::string& what);
  ScmOutcome waitFailed(ScmOutcome outcome, Wait wait, std::uint32_t error, const ScmStatus& status,
                        const char* phase);
  void sleepUntilNextPoll(std::uint32_t wait_hint_ms, TimePoint deadline);

  ScmApi& api_;
  NowFn now_;
  SleepFn sleep_;
};

}  // namespace pgvigil
