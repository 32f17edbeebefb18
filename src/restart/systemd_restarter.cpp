// restart.method: systemd, through sd-bus. See systemd_restarter.h for the contract.
//
// D-Bus surface used (org.freedesktop.systemd1, docs: org.freedesktop.systemd1(5)):
//   Manager.LoadUnit(s name) -> o path           any caller; loads the unit if need be
//   Properties.Get(Unit, LoadState|ActiveState|SubState), Properties.Get(Service, Result)
//   Manager.Subscribe()                           so systemd emits JobRemoved / PropertiesChanged
//   Manager.RestartUnit(s name, s "replace") -> o job   needs root or polkit
//   Manager.StartUnit(s name, s "replace") -> o job     (manage-units, see packaging/polkit)
//   signal Manager.JobRemoved(u id, o job, s unit, s result)   result "done" = success
//   signal Properties.PropertiesChanged(s iface, a{sv}, as) on the unit's path (the watcher)
#include "restart/systemd_restarter.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

namespace pgvigil {
namespace {

constexpr const char* kDestination = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManagerIface = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnitIface = "org.freedesktop.systemd1.Unit";
constexpr const char* kServiceIface = "org.freedesktop.systemd1.Service";
constexpr const char* kPropertiesIface = "org.freedesktop.DBus.Properties";
/// Bound on one watcher round trip (it has no caller's deadline).
constexpr Millis kWatcherCallBudget{5000};

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

std::string errnoText(int r) {
  return std::strerror(r < 0 ? -r : r);
}

bool isConnectionErrno(int r) {
  switch (-r) {
    case ECONNRESET:
    case ECONNREFUSED:
    case ENOTCONN:
    case EPIPE:
    case ENOENT:
    case ENXIO:
    case ESHUTDOWN:
    case ECONNABORTED:
      return true;
    default:
      return false;
  }
}

BusFailure classify(int r, const BusError& error, std::string_view what) {
  BusFailure f;
  std::string detail = error.isSet() ? error.text() : errnoText(r);
  f.text = std::string(what) + ": " + detail;
  if (error.hasName(SD_BUS_ERROR_ACCESS_DENIED) ||
      error.hasName(SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED) || r == -EACCES ||
      r == -EPERM) {
    f.kind = BusFailure::Kind::kDenied;
  } else if (error.hasName("org.freedesktop.systemd1.NoSuchUnit")) {
    f.kind = BusFailure::Kind::kNotFound;
  } else if (error.hasName(SD_BUS_ERROR_TIMEOUT) || error.hasName(SD_BUS_ERROR_NO_REPLY) ||
             r == -ETIMEDOUT) {
    f.kind = BusFailure::Kind::kTimeout;
  } else if (error.hasName(SD_BUS_ERROR_SERVICE_UNKNOWN) ||
             error.hasName(SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
             error.hasName(SD_BUS_ERROR_DISCONNECTED) || (!error.isSet() && isConnectionErrno(r))) {
    f.kind = BusFailure::Kind::kUnreachable;
  }
  return f;
}

uint64_t usecFor(Millis remaining) {
  auto ms = std::max<Millis::rep>(remaining.count(), 1);
  return static_cast<uint64_t>(ms) * 1000;
}

/// Opens a connection to the system bus, or to address when it is not empty, and waits for the
/// D-Bus handshake within the deadline (sd-bus itself would wait for it without a bound inside
/// the first call, so a hung dbus-daemon would hang us too). Never throws.
BusPtr openBus(const std::string& address, const Deadline& deadline, BusFailure& failure,
               const std::atomic<bool>* cancel = nullptr) {
  const std::string where = address.empty() ? std::string("system bus") : address;
  sd_bus* raw = nullptr;
  int r = 0;
  if (address.empty()) {
    r = sd_bus_open_system(&raw);
  } else {
    r = sd_bus_new(&raw);
    if (r >= 0) r = sd_bus_set_address(raw, address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(raw, 1);
    if (r >= 0) r = sd_bus_start(raw);
  }
  BusPtr bus(raw, &sd_bus_close_unref);
  for (;;) {
    if (r < 0) {
      failure.kind =
          r == -EACCES || r == -EPERM ? BusFailure::Kind::kDenied : BusFailure::Kind::kUnreachable;
      failure.text = "D-Bus connect (" + where + "): " + errnoText(r);
      return BusPtr(nullptr, &sd_bus_close_unref);
    }
    if (sd_bus_is_ready(bus.get()) > 0) return bus;
    if (deadline.expired() || (cancel && cancel->load())) {
      failure = {BusFailure::Kind::kUnreachable,
                 "D-Bus connect (" + where + "): no answer within the deadline"};
      return BusPtr(nullptr, &sd_bus_close_unref);
    }
    r = sd_bus_process(bus.get(), nullptr);
    if (r > 0) continue;
    if (r >= 0) {
      auto wait = std::min<Millis>(deadline.remaining(), Millis{200});
      r = sd_bus_wait(bus.get(), usecFor(wait));
      if (r == -EINTR) r = 0;
    }
  }
}

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

bool loadUnit(sd_bus* bus, const std::string& unit, const Deadline& deadline, std::string& path,
              BusFailure& failure) {
  MessagePtr reply(nullptr, &sd_bus_message_unref);
  auto append = [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", unit.c_str()); };
  if (!callSystemd(bus, kManagerPath, kManagerIface, "LoadUnit", deadline, append, reply, failure))
    return false;
  const char* p = nullptr;
  int r = sd_bus_message_read(reply.get(), "o", &p);
  if (r < 0 || !p) {
    failure = {BusFailure::Kind::kOther, "LoadUnit: bad reply: " + errnoText(r)};
    return false;
  }
  path = p;
  return true;
}

bool getStringProperty(sd_bus* bus, const std::string& path, const char* iface, const char* name,
                       const Deadline& deadline, std::string& out, BusFailure& failure) {
  MessagePtr reply(nullptr, &sd_bus_message_unref);
  auto append = [&](sd_bus_message* m) { return sd_bus_message_append(m, "ss", iface, name); };
  if (!callSystemd(bus, path.c_str(), kPropertiesIface, "Get", deadline, append, reply, failure))
    return false;
  const char* value = nullptr;
  int r = sd_bus_message_enter_container(reply.get(), 'v', "s");
  if (r >= 0) r = sd_bus_message_read(reply.get(), "s", &value);
  if (r < 0 || !value) {
    failure = {BusFailure::Kind::kOther, std::string("Get ") + name + ": bad reply"};
    return false;
  }
  out = value;
  return true;
}

bool readStatus(sd_bus* bus, const std::string& path, const Deadline& deadline,
                SystemdUnitStatus& status, BusFailure& failure) {
  status = {};
  if (!getStringProperty(bus, path, kUnitIface, "LoadState", deadline, status.load_state, failure))
    return false;
  if (status.load_state == "not-found") return true;
  if (!getStringProperty(bus, path, kUnitIface, "ActiveState", deadline, status.active_state,
                         failure) ||
      !getStringProperty(bus, path, kUnitIface, "SubState", deadline, status.sub_state, failure))
    return false;
  // Only service units have a Result; for other types the ActiveState alone decides.
  BusFailure ignored;
  if (!getStringProperty(bus, path, kServiceIface, "Result", deadline, status.result, ignored)) {
    if (ignored.kind == BusFailure::Kind::kUnreachable ||
        ignored.kind == BusFailure::Kind::kTimeout) {
      failure = ignored;
      return false;
    }
    status.result = status.active_state == "failed" ? "" : "success";
  }
  // Unit.Job is (id, path); id 0 when no job is queued.
  MessagePtr reply(nullptr, &sd_bus_message_unref);
  auto append = [](sd_bus_message* m) { return sd_bus_message_append(m, "ss", kUnitIface, "Job"); };
  if (!callSystemd(bus, path.c_str(), kPropertiesIface, "Get", deadline, append, reply, failure))
    return false;
  uint32_t jobId = 0;
  const char* jobPath = nullptr;
  int r = sd_bus_message_enter_container(reply.get(), 'v', "(uo)");
  if (r >= 0) r = sd_bus_message_read(reply.get(), "(uo)", &jobId, &jobPath);
  if (r < 0) {
    failure = {BusFailure::Kind::kOther, "Get Job: bad reply"};
    return false;
  }
  status.job_pending = jobId != 0;
  return true;
}

/// Load and read a unit over a fresh connection.
bool fetchStatus(const std::string& address, const std::string& unit, const Deadline& deadline,
                 SystemdUnitStatus& status, BusFailure& failure) {
  BusPtr bus = openBus(address, deadline, failure);
  if (!bus) return false;
  std::string path;
  if (!loadUnit(bus.get(), unit, deadline, path, failure)) return false;
  return readStatus(bus.get(), path, deadline, status, failure);
}

/// JobRemoved signals seen on one connection: job path -> result.
struct [[nodiscard]] JobResults {
  std::map<std::string, std::string> removed;
};

int onJobRemoved(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
  auto* jobs = static_cast<JobResults*>(userdata);
  uint32_t id = 0;
  const char* job = nullptr;
  const char* unit = nullptr;
  const char* result = nullptr;
  if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0 && job && result)
    jobs->removed[job] = result;
  return 0;
}

RestartOutcome outcomeFromFailure(const BusFailure& f) {
  RestartOutcome out;
  switch (f.kind) {
    case BusFailure::Kind::kUnreachable:
      out.result = RestartOutcome::Result::kUnreachable;
      break;
    case BusFailure::Kind::kDenied:
      out.result = RestartOutcome::Result::kPermissionDenied;
      break;
    case BusFailure::Kind::kNotFound:
      out.result = RestartOutcome::Result::kNotFound;
      break;
    case BusFailure::Kind::kTimeout:
      out.result = RestartOutcome::Result::kTimedOut;
      break;
    case BusFailure::Kind::kOther:
      out.result = RestartOutcome::Result::kFailed;
      break;
  }
  out.detail = f.text;
  return out;
}

}  // namespace

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

// ---------------------------------------------------------------------------------------------
// SystemdRestarter

SystemdRestarter::SystemdRestarter(std::string unit, const Clock& clock, std::string bus_address)
    : unit_(systemdUnitName(unit)), clock_(clock), bus_address_(systemdBusAddress(bus_address)) {}

bool SystemdRestarter::status(const Deadline& deadline, SystemdUnitStatus& out,
                              std::string& error) {
  BusFailure failure;
  if (fetchStatus(bus_address_, unit_, deadline, out, failure)) return true;
  error = failure.text;
  return false;
}

ServiceState SystemdRestarter::query(const Deadline& deadline) {
  try {
    SystemdUnitStatus s;
    BusFailure failure;
    if (!fetchStatus(bus_address_, unit_, deadline, s, failure))
      return failure.kind == BusFailure::Kind::kNotFound ? ServiceState::kNotFound
                                                         : ServiceState::kUnknown;
    return serviceStateFrom(s);
  } catch (...) {
    return ServiceState::kUnknown;
  }
}

RestartOutcome SystemdRestarter::restart(const Deadline& deadline) {
  const SteadyTime started = clock_.now();
  auto finish = [&](RestartOutcome out) {
    out.took = std::chrono::duration_cast<Millis>(clock_.now() - started);
    return out;
  };
  try {
    BusFailure failure;
    BusPtr bus = openBus(bus_address_, deadline, failure);
    if (!bus) {
      // Could not even connect: the manager is unreachable, whatever errno said.
      failure.kind =
          failure.kind == BusFailure::Kind::kDenied ? failure.kind : BusFailure::Kind::kUnreachable;
      return finish(outcomeFromFailure(failure));
    }
    std::string path;
    SystemdUnitStatus s;
    // Before the restart is asked for, a bus that does not answer in time is an unreachable
    // manager (nothing was tried); only a job that outlives the deadline is kTimedOut.
    auto notTried = [&](BusFailure f) {
      if (f.kind == BusFailure::Kind::kTimeout) f.kind = BusFailure::Kind::kUnreachable;
      return finish(outcomeFromFailure(f));
    };
    if (!loadUnit(bus.get(), unit_, deadline, path, failure) ||
        !readStatus(bus.get(), path, deadline, s, failure))
      return notTried(failure);

    const ServiceState state = serviceStateFrom(s);
    if (state == ServiceState::kNotFound) {
      return finish({RestartOutcome::Result::kNotFound, "unit " + unit_ + " not found", {}, {}});
    }
    if (state == ServiceState::kOperatorStopped) {
      return finish(
          {RestartOutcome::Result::kOperatorStopped,
           "unit " + unit_ + " was stopped cleanly (inactive, result success): not started",
           {},
           {}});
    }
    const bool down = s.active_state == "failed" || s.active_state == "inactive";
    const char* method = down ? "StartUnit" : "RestartUnit";

    // Listen for the job's end before asking for it, so the signal cannot be missed.
    JobResults jobs;
    sd_bus_slot* rawSlot = nullptr;
    // Asynchronous AddMatch: no round trip of its own; the bus daemon handles it before the
    // Subscribe and RestartUnit calls that follow it on this connection.
    int r = sd_bus_match_signal_async(bus.get(), &rawSlot, kDestination, kManagerPath,
                                      kManagerIface, "JobRemoved", &onJobRemoved, nullptr, &jobs);
    SlotPtr slot(rawSlot, &sd_bus_slot_unref);
    if (r < 0) {
      BusError none;
      return notTried(classify(r, none, "AddMatch JobRemoved"));
    }
    MessagePtr reply(nullptr, &sd_bus_message_unref);
    if (!callSystemd(
            bus.get(), kManagerPath, kManagerIface, "Subscribe", deadline,
            [](sd_bus_message*) { return 0; }, reply, failure))
      return notTried(failure);

    auto appendUnit = [&](sd_bus_message* m) {
      return sd_bus_message_append(m, "ss", unit_.c_str(), "replace");
    };
    if (!callSystemd(bus.get(), kManagerPath, kManagerIface, method, deadline, appendUnit, reply,
                     failure)) {
      return finish(outcomeFromFailure(failure));
    }
    const char* jobPath = nullptr;
    if (sd_bus_message_read(reply.get(), "o", &jobPath) < 0 || !jobPath) {
      return finish({RestartOutcome::Result::kFailed, std::string(method) + ": bad reply", {}, {}});
    }
    const std::string job = jobPath;

    for (;;) {
      r = sd_bus_process(bus.get(), nullptr);
      if (auto it = jobs.removed.find(job); it != jobs.removed.end()) {
        if (it->second == "done")
          return finish({RestartOutcome::Result::kSucceeded,
                         std::string(method) + " " + unit_ + ": job done",
                         {},
                         {}});
        // Say why, as systemctl would: the unit's Result ("exit-code", "start-limit-hit", ...).
        std::string why;
        SystemdUnitStatus after;
        BusFailure ignored;
        if (readStatus(bus.get(), path, deadline.sooner(std::chrono::seconds{2}), after, ignored) &&
            !after.result.empty() && after.result != "success")
          why = " (unit result " + after.result + ")";
        return finish({RestartOutcome::Result::kFailed,
                       std::string(method) + " " + unit_ + ": job " + it->second + why,
                       {},
                       {}});
      }
      if (r < 0) {
        return finish(
            {RestartOutcome::Result::kUnreachable,
             std::string(method) + " " + unit_ + ": lost the bus while waiting: " + errnoText(r),
             {},
             {}});
      }
      if (r > 0) continue;  // more queued messages
      if (deadline.expired()) {
        return finish({RestartOutcome::Result::kTimedOut,
                       std::string(method) + " " + unit_ + ": job still running at the deadline",
                       {},
                       {}});
      }
      // Short waits: the deadline comes from the injected clock, not from the wall.
      auto wait = std::min<Millis>(deadline.remaining(), Millis{200});
      r = sd_bus_wait(bus.get(), usecFor(wait));
      if (r < 0 && r != -EINTR) {
        return finish(
            {RestartOutcome::Result::kUnreachable,
             std::string(method) + " " + unit_ + ": lost the bus while waiting: " + errnoText(r),
             {},
             {}});
      }
    }
  } catch (const std::exception& e) {
    return finish({RestartOutcome::Result::kFailed, std::string("internal: ") + e.what(), {}, {}});
  } catch (...) {
    return finish({RestartOutcome::Result::kFailed, "internal error", {}, {}});
  }
}

// ---------------------------------------------------------------------------------------------
// SystemdServiceWatcher

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

namespace {

/// Waits for the bus (or the wake fd) to be ready, or timeout_ms (-1: forever). Returns false
/// when the wake fd fired.
bool pollBusOrWake(sd_bus* bus, int wake_fd, int timeout_ms) {
  struct pollfd fds[2];
  int n = 0;
  fds[n++] = {wake_fd, POLLIN, 0};
  if (bus) {
    int events = sd_bus_get_events(bus);
    fds[n++] = {sd_bus_get_fd(bus), static_cast<short>(events < 0 ? 0 : events), 0};
    uint64_t until = 0;
    if (sd_bus_get_timeout(bus, &until) >= 0 && until != UINT64_MAX) {
      struct timespec ts {};
      clock_gettime(CLOCK_MONOTONIC, &ts);
      uint64_t nowUsec = static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
      int busMs = until <= nowUsec ? 0 : static_cast<int>((until - nowUsec + 999) / 1000);
      if (timeout_ms < 0 || busMs < timeout_ms) timeout_ms = busMs;
    }
  }
  int r = ::poll(fds, n, timeout_ms);
  return !(r > 0 && (fds[0].revents & POLLIN));
}

struct WatchFlags {
  bool dirty = false;
};

int onPropertiesChanged(sd_bus_message* /*m*/, void* userdata, sd_bus_error* /*error*/) {
  static_cast<WatchFlags*>(userdata)->dirty = true;
  return 0;
}

}  // namespace

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
