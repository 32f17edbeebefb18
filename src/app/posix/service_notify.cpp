#include "app/service_notify.h"

#ifdef __linux__
#include <systemd/sd-daemon.h>
#endif

namespace pgvigil {

#ifdef __linux__
ServiceNotifier::ServiceNotifier() {
  uint64_t usec = 0;
  // NOTIFY_SOCKET stays set: every later sd_notify() reads it. Messages from children (a
  // postmaster started by a restart command) are ignored by systemd under NotifyAccess=main.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_ = std::chrono::microseconds(usec);
}
void ServiceNotifier::ready() {
  sd_notify(0, "READY=1");
}
void ServiceNotifier::stopping() {
  sd_notify(0, "STOPPING=1");
}
void ServiceNotifier::reloading() {
  sd_notify(0, "RELOADING=1");
}
void ServiceNotifier::status(const std::string& text) {
  sd_notify(0, ("STATUS=" + text).c_str());
}
void ServiceNotifier::watchdogKick(std::chrono::steady_clock::time_point now) {
  if (!watchdog_) return;
  if (now - lastKick_ < *watchdog_ / 2) return;
  lastKick_ = now;
  sd_notify(0, "WATCHDOG=1");
}
#else
ServiceNotifier::ServiceNotifier() = default;
void ServiceNotifier::ready() {}
void ServiceNotifier::stopping() {}
void ServiceNotifier::reloading() {}
void ServiceNotifier::status(const std::string&) {}
void ServiceNotifier::watchdogKick(std::chrono::steady_clock::time_point) {}
#endif

}  // namespace pgvigil
