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
//
// Files: systemd_unit.h (the unit's state and its pure mapping), systemd_bus.h (the sd-bus
// toolkit), this restarter, systemd_watcher.h (PropertiesChanged). The watcher is included here
// for the callers that name both.
#pragma once

#include <string>
#include <string_view>

#include "restart/restarter.h"
#include "restart/systemd_unit.h"
#include "restart/systemd_watcher.h"  // IWYU pragma: export

namespace pgvigil {

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
  /// The unit is loaded (LoadState not not-found, masked or in error) and this process is not
  /// known to be refused: root, or polkit's CheckAuthorization for
  /// org.freedesktop.systemd1.manage-units (no interaction) does not say a plain no. polkit
  /// takes the unit and verb only from root, so a unit-specific rule cannot be verified by an
  /// unprivileged agent (docs/restarters-systemd.md); polkit missing from the bus is a no.
  RestartPathCheck preflight(const Deadline& deadline) override;

  /// The unit's properties, for callers that want more than the ServiceState (diagnose).
  /// Returns false with a one-line reason when the bus cannot answer in time.
  bool status(const Deadline& deadline, SystemdUnitStatus& out, std::string& error);

  const std::string& unit() const { return unit_; }

 private:
  std::string unit_;
  const Clock& clock_;
  std::string bus_address_;
};

}  // namespace pgvigil
