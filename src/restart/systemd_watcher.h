// The systemd watcher: reports a unit's ServiceState transitions the moment systemd announces
// them (PropertiesChanged on the unit's object path), over the sd-bus toolkit (systemd_bus.h).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "restart/restarter.h"

namespace pgvigil {

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
