// The Windows service host (issue 14): `pgvigil run --service` runs its body (the agent) inside
// the Service Control Manager's ServiceMain. Win32 + std only, hand-written rather than Poco's
// ServerApplication (which drops the image-path arguments and reports no progress; see
// docs/windows.md). Service mode is entered only through that explicit argument: "try the
// dispatcher and fall back to the console" costs 10 s under Wine on every console start.
//
// States the SCM sees: START_PENDING (a wait hint; the checkpoint moves on every progress()
// while the body starts), RUNNING once the body says running(), STOP_PENDING (a wait hint, the
// checkpoint moves on progress()) once STOP, SHUTDOWN or PRESHUTDOWN came or the body said
// stopping(), and STOPPED with the body's exit code: 0 -> NO_ERROR; anything else ->
// ERROR_SERVICE_SPECIFIC_ERROR (1066) with that code as the service-specific exit code, so the
// SCM's recovery actions (failure flag set by `service install`) restart pgvigil itself.
#pragma once

#include <windows.h>

#include <functional>
#include <string>

namespace pgvigil {

/// What the body sees of the host. Every member is thread-safe.
class ServiceSession {
 public:
  virtual ~ServiceSession() = default;
  /// START_PENDING (or STOP_PENDING) progress: the checkpoint moves, with this wait hint.
  virtual void progress(DWORD waitHintMs) = 0;
  /// START_PENDING -> RUNNING; accepts STOP, SHUTDOWN and PRESHUTDOWN from now on.
  virtual void running() = 0;
  /// -> STOP_PENDING (also done by the host itself when the SCM asks for a stop).
  virtual void stopping(DWORD waitHintMs) = 0;
  /// Whether a stop was asked for (SCM control), and waiting for it: true when it came.
  virtual bool stopRequested() const = 0;
  virtual bool waitForStop(DWORD timeoutMs) = 0;
};

struct ServiceHostOptions {
  /// The body: runs the service until stopRequested(), returns the exit code (0: clean).
  std::function<int(ServiceSession&)> body;
  /// Called on the SCM's control thread on STOP / SHUTDOWN / PRESHUTDOWN ("service stop",
  /// "system shutdown", "system preshutdown"), after the host reported STOP_PENDING.
  std::function<void(const std::string& why)> on_stop;
  /// Called on SERVICE_CONTROL_PARAMCHANGE (sc paramchange, or a config tool): reload.
  std::function<void()> on_paramchange;
  /// The first START_PENDING wait hint.
  DWORD start_wait_hint_ms = 30'000;
  /// The STOP_PENDING wait hint when the SCM asks for a stop.
  DWORD stop_wait_hint_ms = 20'000;
};

/// Connects this process to the SCM (StartServiceCtrlDispatcherW) and runs `options.body` as
/// the one service of this process; returns when the service has reported STOPPED: the body's
/// exit code. When the process was not started by the SCM the dispatcher fails with 1063
/// (ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) and this returns -1 with `*error` set to it.
int runServiceHost(ServiceHostOptions options, DWORD* error);

/// The session of the service this process hosts, or null outside service mode (a console).
ServiceSession* currentServiceSession();

}  // namespace pgvigil
