// restart.method: systemd, the watcher: PropertiesChanged on the unit's object path, reported as
// ServiceState transitions. See systemd_watcher.h.
#include "restart/systemd_watcher.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "restart/systemd_bus.h"

namespace pgvigil {
namespace {

using namespace systemd_bus;

/// Bound on one watcher round trip (it has no caller's deadline).
constexpr Millis kWatcherCallBudget{5000};

struct WatchFlags {
  bool dirty = false;
};

int onPropertiesChanged(sd_bus_message* /*m*/, void* userdata, sd_bus_error* /*error*/) {
  static_cast<WatchFlags*>(userdata)->dirty = true;
  return 0;
}

}  // namespace

SystemdServiceWatcher::SystemdServiceWatcher(std::string unit, std::string bus_address,
                                             Millis reconnect_interval)
    : unit_(systemdUnitName(unit)),
      bus_address_(systemdBusAddress(bus_address)),
      reconnect_interval_(reconnect_interval) {}

SystemdServiceWatcher::~SystemdServiceWatcher() {
  stop();
}

void SystemdServiceWatcher::start(std::function<void(ServiceState)> onChange) {
  if (thread_.joinable()) return;
  on_change_ = std::move(onChange);
  stopping_ = false;
  if (wake_fd_ < 0) wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { run(); });
}

void SystemdServiceWatcher::stop() {
  stopping_ = true;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t n = ::write(wake_fd_, &one, sizeof one);
    (void)n;
  }
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
    wake_fd_ = -1;
  }
  subscribed_ = false;
}

void SystemdServiceWatcher::run() {
  // Everything that can throw (the bus session, the onChange callback) runs guarded: a failure is
  // reported as an internal error and the watcher reconnects after reconnect_interval_; it never
  // takes the agent down (std::terminate) and never stops silently.
  const std::string what = "systemd watcher for " + unit_;
  while (!stopping_) {
    runGuarded(
        what, [this] { watchOnce(); }, report_);
    subscribed_ = false;
    if (stopping_) break;
    bool go_on = false;
    runGuarded(
        what,
        [&] {
          go_on = pollBusOrWake(nullptr, wake_fd_, static_cast<int>(reconnect_interval_.count()));
        },
        report_);
    if (!go_on) break;
  }
}

void SystemdServiceWatcher::watchOnce() {
  SystemClock& clock = SystemClock::instance();
  BusFailure failure;
  BusPtr bus = openBus(bus_address_, Deadline(clock, kWatcherCallBudget), failure, &stopping_);
  if (!bus) return;
  std::string path;
  if (!loadUnit(bus.get(), unit_, Deadline(clock, kWatcherCallBudget), path, failure)) return;

  WatchFlags flags;
  const std::string match =
      "type='signal',sender='org.freedesktop.systemd1',path='" + path +
      "',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',arg0='" +
      kUnitIface + "'";
  sd_bus_slot* rawSlot = nullptr;
  if (sd_bus_add_match_async(bus.get(), &rawSlot, match.c_str(), &onPropertiesChanged, nullptr,
                             &flags) < 0)
    return;
  SlotPtr slot(rawSlot, &sd_bus_slot_unref);
  MessagePtr reply(nullptr, &sd_bus_message_unref);
  if (!callSystemd(
          bus.get(), kManagerPath, kManagerIface, "Subscribe", Deadline(clock, kWatcherCallBudget),
          [](sd_bus_message*) { return 0; }, reply, failure))
    return;

  auto readAndReport = [&]() -> bool {
    SystemdUnitStatus s;
    if (!readStatus(bus.get(), path, Deadline(clock, kWatcherCallBudget), s, failure)) return false;
    ServiceState state = serviceStateFrom(s);
    if (state == ServiceState::kUnknown) return true;  // a transient (deactivating)
    if (!have_baseline_) {
      have_baseline_ = true;
      last_reported_ = state;
      return true;
    }
    if (state != last_reported_) {
      last_reported_ = state;
      if (on_change_) {
        try {
          on_change_(state);
        } catch (...) {
        }
      }
    }
    return true;
  };
  if (!readAndReport()) return;
  subscribed_ = true;

  while (!stopping_) {
    int r;
    while ((r = sd_bus_process(bus.get(), nullptr)) > 0) {
    }
    if (r < 0) return;  // disconnected: reconnect
    if (flags.dirty) {
      flags.dirty = false;
      if (!readAndReport()) return;
      continue;  // the calls may have queued more signals
    }
    if (!pollBusOrWake(bus.get(), wake_fd_, -1)) return;
  }
}

}  // namespace pgvigil
