// The sd-bus toolkit. See systemd_bus.h.
#include "restart/systemd_bus.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgvigil::systemd_bus {

std::string errnoText(int r) {
  return std::strerror(r < 0 ? -r : r);
}

namespace {

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

}  // namespace

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

BusPtr openBus(const std::string& address, const Deadline& deadline, BusFailure& failure,
               const std::atomic<bool>* cancel) {
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

namespace {

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

}  // namespace

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

bool fetchStatus(const std::string& address, const std::string& unit, const Deadline& deadline,
                 SystemdUnitStatus& status, BusFailure& failure) {
  BusPtr bus = openBus(address, deadline, failure);
  if (!bus) return false;
  std::string path;
  if (!loadUnit(bus.get(), unit, deadline, path, failure)) return false;
  return readStatus(bus.get(), path, deadline, status, failure);
}

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

}  // namespace pgvigil::systemd_bus
