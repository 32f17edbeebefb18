// restart.method: windows-service — restarts PostgreSQL's Windows service through the Service
// Control Manager. A thin adapter: the sequence itself (stop, wait for STOPPED, start, wait for
// RUNNING, Wine's dead-process case, error mapping) is ScmControl (scm_control.h), plain Win32 +
// standard C++ so that it is tested for real under Wine (tests/windows). docs/windows.md says why
// a stopped service reads as kUnknown and never as an operator stop.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "restart/restarter.h"
#include "restart/windows/scm_control.h"

namespace pgvigil {

RestartOutcome::Result toRestartResult(ScmOutcome::Code code);
ServiceState toServiceState(ScmView view);

class ScmRestarter final : public Restarter {
 public:
  /// api: the SCM to talk to; nullptr = the local machine's (Win32ScmApi; Windows builds only).
  /// sleep: how to wait between polls (default: sleep_for); tests pass one that moves a FakeClock.
  ScmRestarter(std::string service, const Clock& clock, std::unique_ptr<ScmApi> api = nullptr,
               ScmControl::SleepFn sleep = {});

  std::string_view method() const override { return "windows-service"; }
  /// Running: STOP, wait for STOPPED, start, wait for RUNNING. Stopped (whoever stopped it: the
  /// SCM cannot tell), or its process died (Wine): start, wait for RUNNING. kSucceeded only when
  /// the SCM says RUNNING by the deadline.
  RestartOutcome restart(const Deadline& deadline) override;
  /// kRunning, kFailed (STOPPED with a non-zero exit code), kNotFound; kUnknown for a clean
  /// STOPPED (a PostgreSQL crash looks exactly like that), pending stops, an unreachable SCM.
  ServiceState query(const Deadline& deadline) override;

  const std::string& service() const { return service_; }

 private:
  std::string service_;
  const Clock& clock_;
  std::mutex mutex_;  ///< restart() and query() may run on different threads; api_ has handles
  std::unique_ptr<ScmApi> api_;
  ScmControl control_;
};

}  // namespace pgvigil
