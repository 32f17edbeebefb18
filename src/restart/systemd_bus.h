// The sd-bus toolkit of the systemd restarter and watcher: owning handles for libsystemd's bus,
// message and slot, bus errors classified into the failures the callers map to outcomes, a
// connect and a method call bounded by a Deadline, and the systemd1 calls both need (LoadUnit,
// the unit's properties). Linux only; internal to the restart layer.
//
// D-Bus surface used (org.freedesktop.systemd1, docs: org.freedesktop.systemd1(5)):
//   Manager.LoadUnit(s name) -> o path           any caller; loads the unit if need be
//   Properties.Get(Unit, LoadState|ActiveState|SubState|Job), Properties.Get(Service, Result)
//   Manager.Subscribe()                           so systemd emits JobRemoved / PropertiesChanged
//   Manager.RestartUnit(s name, s "replace") -> o job   needs root or polkit
//   Manager.StartUnit(s name, s "replace") -> o job     (manage-units, see packaging/polkit)
//   signal Manager.JobRemoved(u id, o job, s unit, s result)   result "done" = success
//   signal Properties.PropertiesChanged(s iface, a{sv}, as) on the unit's path (the watcher)
#pragma once

#include <systemd/sd-bus.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "restart/systemd_unit.h"

namespace pgvigil::systemd_bus {

inline constexpr const char* kDestination = "org.freedesktop.systemd1";
inline constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
inline constexpr const char* kManagerIface = "org.freedesktop.systemd1.Manager";
inline constexpr const char* kUnitIface = "org.freedesktop.systemd1.Unit";
inline constexpr const char* kServiceIface = "org.freedesktop.systemd1.Service";
inline constexpr const char* kPropertiesIface = "org.freedesktop.DBus.Properties";

using BusPtr = std::unique_ptr<sd_bus, decltype(&sd_bus_close_unref)>;
using MessagePtr = std::unique_ptr<sd_bus_message, decltype(&sd_bus_message_unref)>;
using SlotPtr = std::unique_ptr<sd_bus_slot, decltype(&sd_bus_slot_unref)>;

/// sd_bus_error owned for one call.
class BusError {
 public:
  BusError() = default;
  ~BusError() { sd_bus_error_free(&error_); }
  BusError(const BusError&) = delete;
  BusError& operator=(const BusError&) = delete;
  sd_bus_error* get() { return &error_; }
  bool hasName(const char* name) const { return sd_bus_error_has_name(&error_, name) > 0; }
  bool isSet() const { return sd_bus_error_is_set(&error_) > 0; }
  std::string text() const {
    if (!isSet()) return {};
    std::string out = error_.name ? error_.name : "";
    if (error_.message && *error_.message) out += std::string(": ") + error_.message;
    return out;
  }

 private:
  sd_bus_error error_ = SD_BUS_ERROR_NULL;
};

/// What went wrong with a bus operation, in the terms the callers map to outcomes.
struct BusFailure {
  enum class Kind { kUnreachable, kDenied, kNotFound, kTimeout, kOther } kind = Kind::kOther;
  std::string text;
};

/// strerror of a negative (or positive) errno.
std::string errnoText(int r);

/// The failure of a call that returned r (negative errno) with error (possibly unset).
BusFailure classify(int r, const BusError& error, std::string_view what);

/// A sd-bus timeout in microseconds for the time remaining (at least 1 ms).
uint64_t usecFor(Millis remaining);

/// Opens a connection to the system bus, or to address when it is not empty, and waits for the
/// D-Bus handshake within the deadline (sd-bus itself would wait for it without a bound inside
/// the first call, so a hung dbus-daemon would hang us too). Stops early when *cancel turns
/// true. Never throws; null with failure set when it cannot.
BusPtr openBus(const std::string& address, const Deadline& deadline, BusFailure& failure,
               const std::atomic<bool>* cancel = nullptr);

/// One method call to systemd, bounded by the deadline. append() adds the arguments.
template <class Append>
bool callSystemd(sd_bus* bus, const char* path, const char* iface, const char* member,
                 const Deadline& deadline, Append append, MessagePtr& reply, BusFailure& failure) {
  if (deadline.expired()) {
    failure = {BusFailure::Kind::kTimeout, std::string(member) + ": deadline passed"};
    return false;
  }
  sd_bus_message* raw = nullptr;
  int r = sd_bus_message_new_method_call(bus, &raw, kDestination, path, iface, member);
  MessagePtr call(raw, &sd_bus_message_unref);
  if (r >= 0) r = append(call.get());
  if (r < 0) {
    BusError none;
    failure = classify(r, none, member);
    return false;
  }
  BusError error;
  sd_bus_message* rawReply = nullptr;
  r = sd_bus_call(bus, call.get(), usecFor(deadline.remaining()), error.get(), &rawReply);
  reply.reset(rawReply);
  if (r < 0) {
    failure = classify(r, error, member);
    return false;
  }
  return true;
}

/// Manager.LoadUnit: the unit's object path.
bool loadUnit(sd_bus* bus, const std::string& unit, const Deadline& deadline, std::string& path,
              BusFailure& failure);

/// The unit's LoadState, ActiveState, SubState, Service.Result and whether a job is queued.
bool readStatus(sd_bus* bus, const std::string& path, const Deadline& deadline,
                SystemdUnitStatus& status, BusFailure& failure);

/// Load and read a unit over a fresh connection.
bool fetchStatus(const std::string& address, const std::string& unit, const Deadline& deadline,
                 SystemdUnitStatus& status, BusFailure& failure);

/// Waits for the bus (or the wake fd) to be ready, or timeout_ms (-1: forever); bus may be null.
/// Returns false when the wake fd fired.
bool pollBusOrWake(sd_bus* bus, int wake_fd, int timeout_ms);

}  // namespace pgvigil::systemd_bus
