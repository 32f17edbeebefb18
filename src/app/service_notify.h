// The service manager's side channel, per platform:
//  * posix/service_notify.cpp: systemd's sd_notify (READY=1, WATCHDOG=1, STOPPING=1, STATUS=...);
//    a no-op when not started by systemd (no NOTIFY_SOCKET) and off Linux.
//  * windows/service_notify.cpp: the service host's SetServiceStatus (START_PENDING checkpoints
//    on each tick while the first rounds run, RUNNING, STOP_PENDING); a no-op in a console.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace pgvigil {

class ServiceNotifier {
 public:
  ServiceNotifier();
  void ready();
  void stopping();
  void reloading();
  void status(const std::string& text);
  /// Sends WATCHDOG=1 when the watchdog is on and half its interval has passed since the last
  /// (Windows: moves a pending state's checkpoint, at most once a second).
  void watchdogKick(std::chrono::steady_clock::time_point now);
  /// The watchdog interval systemd asked for (WatchdogSec), if any.
  std::optional<std::chrono::microseconds> watchdogInterval() const { return watchdog_; }

 private:
  std::optional<std::chrono::microseconds> watchdog_;
  std::chrono::steady_clock::time_point lastKick_{};
};

}  // namespace pgvigil
