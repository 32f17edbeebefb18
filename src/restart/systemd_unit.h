// A systemd unit's state as the restarter and the watcher read it, and the pure mapping to
// ServiceState (docs/reference.md §3). No bus here: tested without one.
#pragma once

#include <string>
#include <string_view>

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

/// The mapping of docs/reference.md §3 for systemd, pure so it can be tested without a bus:
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

}  // namespace pgvigil
