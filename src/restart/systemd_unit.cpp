// The pure part of the systemd method: unit state -> ServiceState, unit names, the bus address.
// See systemd_unit.h.
#include "restart/systemd_unit.h"

#include <cstdlib>

namespace pgvigil {

ServiceState serviceStateFrom(const SystemdUnitStatus& s) {
  if (s.load_state == "not-found") return ServiceState::kNotFound;
  if (s.active_state == "active" || s.active_state == "reloading") return ServiceState::kRunning;
  if (s.active_state == "activating")
    return s.sub_state == "auto-restart" ? ServiceState::kFailed : ServiceState::kRunning;
  if ((s.active_state == "failed" || s.active_state == "inactive") && s.job_pending)
    return ServiceState::kUnknown;  // about to start: not a stop, not a new failure
  if (s.active_state == "failed") return ServiceState::kFailed;
  if (s.active_state == "inactive")
    return s.result == "success" ? ServiceState::kOperatorStopped : ServiceState::kFailed;
  return ServiceState::kUnknown;
}

std::string systemdUnitName(std::string_view unit) {
  static constexpr std::string_view kTypes[] = {
      ".service", ".socket", ".target", ".device", ".mount", ".automount",
      ".swap",    ".timer",  ".path",   ".slice",  ".scope",
  };
  for (auto type : kTypes)
    if (unit.size() > type.size() && unit.substr(unit.size() - type.size()) == type)
      return std::string(unit);
  return std::string(unit) + ".service";
}

std::string systemdBusAddress(const std::string& override_address) {
  if (!override_address.empty()) return override_address;
  if (const char* env = std::getenv("PGVIGIL_SYSTEMD_BUS"); env && *env) return env;
  return {};
}

}  // namespace pgvigil
