// restart.method: systemd. Talks to systemd over D-Bus with libsystemd's sd-bus (no systemctl
// child process): reads the unit's ActiveState / SubState / Result, restarts it with
// Manager.RestartUnit (or StartUnit after a failure) and waits for the job's JobRemoved signal,
// all bounded by the caller's Deadline. One attempt per call; every policy lives in core.
//
// Which bus: the constructor's address when given, else env PGVIGIL_SYSTEMD_BUS (a D-Bus
// address such as "unix:path=/run/dbus/system_bus_socket"), else the system bus
// (sd_bus_open_system, which honours DBUS_SYSTEM_BUS_ADDRESS). Each call opens its own
// short-lived connection, so a restarted dbus-daemon or systemd costs nothing and restart() and
// query() may run on different threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "restart/restarter.h"

namespace pgvigil {

/// The properties of a unit that decide its ServiceState.
struct SystemdUnitStatus {
  std::string load_state;    ///< "loaded", "not-found", "masked", ...
  std::string active_state;  ///< "active", "failed", "inactive", "activating", ...
  std::string sub_state;     ///< "running", "dead", "failed", "auto-restart", ...
  std::string result;        ///< org.freedesktop.systemd1.Service.Result: "success", "signal", ...
  bool job_pending = false;  ///< a job (start, restart, stop) is queued for the unit
};

/// The mapping of SPEC.md §3 for systemd, pure so it can be tested without a bus:
/// active/reloading/activating -> kRunning, except activating/auto-restart (it died and systemd
/// brings it back itself) -> kFailed; failed -> kFailed; inactive with Result=success ->
/// kOperatorStopped
/// (`systemctl stop`), inactive with any other Result -> kFailed; LoadState not-found -> kNotFound;
/// deactivating and anything unknown -> kUnknown (a transient the next read settles); inactive or
/// failed while a job is queued (the dead moment inside a restart) -> kUnknown too.
ServiceState serviceStateFrom(const SystemdUnitStatus& status);

/// "postgresql@15-main" -> "postgresql@15-main.service"; names that carry a unit type keep it.
std::string systemdUnitName(std::string_view unit);

/// The bus address in effect for an explicit override ("" = none): the override, else env
/// PGVIGIL_SYSTEMD_BUS, else "" (the system bus).
std::string systemdBusAddress(const std::string& override_address);

class SystemdRestarter final : public Restarter {
 public:
  /// bus_address: a D-Bus address to use instead of the system bus ("" = PGVIGIL_SYSTEMD_BUS or
  /// the system bus).
  SystemdRestarter(std::string unit, const Clock& clock, std::string bus_address = "");

  std::string_view method() const override { return "systemd"; }
  /// inactive after a clean stop: kOperatorStopped, nothing done (an operator's `systemctl stop`
  /// is respected even if asked). Failed or inactive after a failure: StartUnit. Otherwise:
  /// RestartUnit. Then waits for the job: "done" -> kSucceeded, another result -> kFailed
  /// ("job failed"), the deadline first -> kTimedOut (the job is left to systemd).
  RestartOutcome restart(const Deadline& deadline) override;
  ServiceState query(const Deadline& deadline) override;

  /// The unit's properties, for callers that want more than the ServiceState (diagnose).
  /// Returns false with a one-line reason when the bus cannot answer in time.
  bool status(const Deadline& deadline, SystemdUnitStatus& out, std::string& error);

  const std::string& unit() const { return unit_; }

 private:
  std::string unit_;
  const Clock& clock_;
  std::string bus_address_;
};

/// Watches one unit: PropertiesChanged on its object path, and reports kRunning, kFailed and
/// kOperatorStopped transitions the moment systemd announces them. Its own thread; stop()
/// interrupts it at once through an eventfd. Survives a bus that goes away (retries every
/// reconnect_interval; a change missed meanwhile is reported on reconnect).
class SystemdServiceWatcher final : public ServiceWatcher {
 public:
  explicit SystemdServiceWatcher(std::string unit, std::string bus_address = "",
                                 Millis reconnect_interval = Millis{2000});
  ~SystemdServiceWatcher() override;
  SystemdServiceWatcher(const SystemdServiceWatcher&) = delete;
  SystemdServiceWatcher& operator=(const SystemdServiceWatcher&) = delete;

  void start(std::function<void(ServiceState)> onChange) override;
  void stop() override;

  /// True once the watcher is subscribed and has read the unit's first state (for tests and
  /// diagnostics: changes before that point are not transitions, they are the baseline).
  bool subscribed() const { return subscribed_.load(); }

 private:
  void run();
  /// One connected session; returns when the bus fails or stop() is called.
  void watchOnce();

  std::string unit_;
  std::string bus_address_;
  Millis reconnect_interval_;
  std::function<void(ServiceState)> on_change_;
  std::thread thread_;
  int wake_fd_ = -1;  ///< eventfd written by stop()
  std::atomic<bool> stopping_{false};
  std::atomic<bool> subscribed_{false};
  ServiceState last_reported_ = ServiceState::kUnknown;
  bool have_baseline_ = false;
};

}  // namespace pgvigil
