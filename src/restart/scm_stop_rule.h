// Tells an operator's stop of a Windows service from a crash, from the statuses the SCM announces
// (NotifyServiceStatusChangeW) on the way to STOPPED. Pure: standard C++ and the Win32 values of
// scm_control.h, no windows.h, so it is unit-tested on Linux (docs/windows.md, "Telling an
// operator's stop from a crash").
//
// PostgreSQL's service (pg_ctl register) ends STOPPED with exit code 0 both after `net stop` and
// after its postmaster died. What differs is the STOP_PENDING before it: pg_ctl's stop handler
// sets dwWaitHint = 10000 and reports STOP_PENDING before it asks the postmaster to shut down;
// when the postmaster exits by itself, pg_ctl reports STOP_PENDING with the hint left as it was
// (the start's 60000 and more, 5000 after a reload), then STOPPED at once.
#pragma once

#include <cstdint>

#include "core/restart_outcome.h"
#include "restart/windows/scm_control.h"

namespace pgvigil {

/// The wait hint pg_ctl's SERVICE_CONTROL_STOP/SHUTDOWN handler reports with STOP_PENDING
/// (pgwin32_ServiceHandler, PostgreSQL 9.x to 17).
inline constexpr std::uint32_t kPgCtlStopWaitHintMs = 10000;

/// Folds the statuses one watcher sees, in order, into the ServiceState to report:
///  * START_PENDING, RUNNING, CONTINUE_PENDING, PAUSE_PENDING, PAUSED -> running (forgets a stop);
///  * STOP_PENDING with pg_ctl's stop hint -> operator_stopped at once (remembered), before the
///    postmaster is even asked to stop, so a probe that meets the shutdown is never a crash;
///  * STOP_PENDING with any other hint -> no change (the crash path passes through it);
///  * STOPPED with exit code 0 or 1077 after that STOP_PENDING -> operator_stopped;
///  * STOPPED with a non-zero exit code (not 1077) -> failed, whatever came before;
///  * STOPPED with exit code 0 or 1077 after another state and no such STOP_PENDING -> failed;
///  * STOPPED as the first status seen (the agent started while the service was stopped, or
///    after a reopen that followed nothing) -> unknown: why it stopped was not seen;
///  * a STOPPED that follows a STOPPED -> no change (a reopen re-announces the state);
///  * service gone (1060, marked for delete) -> not_found, and everything seen is forgotten.
class ScmStopRule {
 public:
  explicit ScmStopRule(std::uint32_t stop_wait_hint_ms = kPgCtlStopWaitHintMs)
      : stop_hint_(stop_wait_hint_ms) {}

  /// One announced status; returns the state to report now (unchanged if it says nothing new).
  ServiceState onStatus(const ScmStatus& status);
  /// The service does not exist (1060) or is being deleted.
  ServiceState onGone();
  /// The SCM cannot be asked: what was seen stays, the next status decides.
  ServiceState current() const { return verdict_; }

 private:
  std::uint32_t stop_hint_;
  ServiceState verdict_ = ServiceState::kUnknown;
  std::uint32_t last_state_ = 0;  ///< 0: nothing seen yet
  bool operator_stop_ = false;    ///< a STOP_PENDING with stop_hint_ since the last start
};

}  // namespace pgvigil
