// The service manager's side channel: systemd's sd_notify (READY=1, WATCHDOG=1, STOPPING=1,
// STATUS=...). A no-op when not started by systemd (no NOTIFY_SOCKET) and on other platforms.
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
  /// Sends WATCHDOG=1 when the watchdog is on and half its interval has passed since the last.
  void watchdogKick(std::chrono::steady_clock::time_point now);
  /// The watchdog interval systemd asked for (WatchdogSec), if any.
  std::optional<std::chrono::microseconds> watchdogInterval() const { return watchdog_; }

 private:
  std::optional<std::chrono::microseconds> watchdog_;
  std::chrono::steady_clock::time_point lastKick_{};
};

}  // namespace pgvigil
