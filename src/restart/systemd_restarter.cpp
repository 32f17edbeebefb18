// restart.method: systemd, the restarter: one restart (StartUnit or RestartUnit) and its job's
// end, over the sd-bus toolkit (systemd_bus.h). See systemd_restarter.h for the contract.
#include "restart/systemd_restarter.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <map>

#include "restart/systemd_bus.h"

namespace pgvigil {
namespace {

using namespace systemd_bus;

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

constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitIface = "org.freedesktop.PolicyKit1.Authority";
constexpr const char* kManageUnits = "org.freedesktop.systemd1.manage-units";

/// Asks polkit whether this connection's process may manage units. polkit lets only trusted
/// callers (root, an action owner) pass details, so an unprivileged agent asks without the unit
/// and verb that systemd itself passes on RestartUnit: a rule that names the unit (as
/// packaging/polkit/50-pgvigil.rules does) then answers "with a password" (a challenge), exactly
/// as no rule at all does with polkit's defaults. So: authorized -> ok; a plain no (no challenge)
/// -> broken; a challenge -> cannot tell, ok (a real attempt's permission_denied marks the path
/// broken then); no polkit on the bus -> broken (without it only root may manage units).
RestartPathCheck polkitAllowsRestart(sd_bus* bus, const std::string& unit,
                                     const Deadline& deadline) {
  const std::string notAllowed =
      "not allowed to restart " + unit + " (uid " + std::to_string(::geteuid()) + ", not root): ";
  const char* self = nullptr;
  int r = sd_bus_get_unique_name(bus, &self);
  const RestartPathCheck kCannotTell{true, "", false};
  if (r < 0 || !self) return kCannotTell;
  sd_bus_message* raw = nullptr;
  r = sd_bus_message_new_method_call(bus, &raw, kPolkitName, kPolkitPath, kPolkitIface,
                                     "CheckAuthorization");
  MessagePtr call(raw, &sd_bus_message_unref);
  if (r >= 0) r = sd_bus_message_open_container(call.get(), 'r', "sa{sv}");
  if (r >= 0) r = sd_bus_message_append(call.get(), "s", "system-bus-name");
  if (r >= 0) r = sd_bus_message_append(call.get(), "a{sv}", 1, "name", "s", self);
  if (r >= 0) r = sd_bus_message_close_container(call.get());
  if (r >= 0) r = sd_bus_message_append(call.get(), "s", kManageUnits);
  if (r >= 0) r = sd_bus_message_append(call.get(), "a{ss}", 0);
  if (r >= 0) r = sd_bus_message_append(call.get(), "us", 0u, "");
  if (r < 0) return kCannotTell;
  BusError error;
  sd_bus_message* rawReply = nullptr;
  r = sd_bus_call(bus, call.get(), usecFor(deadline.remaining()), error.get(), &rawReply);
  MessagePtr reply(rawReply, &sd_bus_message_unref);
  if (r < 0) {
    if (error.hasName(SD_BUS_ERROR_SERVICE_UNKNOWN) ||
        error.hasName(SD_BUS_ERROR_NAME_HAS_NO_OWNER))
      return {false, notAllowed + "polkit is not running (" + error.text() +
                         "); without it only root may manage units"};
    return kCannotTell;  // polkit would not say
  }
  int authorized = 0;
  int challenge = 0;
  r = sd_bus_message_enter_container(reply.get(), 'r', "bba{ss}");
  if (r >= 0) r = sd_bus_message_read(reply.get(), "bb", &authorized, &challenge);
  if (r >= 0 && authorized) return {};
  if (r < 0 || challenge) return kCannotTell;
  return {false, notAllowed + "polkit does not allow " + std::string(kManageUnits) +
                     "; install packaging/polkit/50-pgvigil.rules with this unit in its list"};
}

}  // namespace

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

RestartPathCheck SystemdRestarter::preflight(const Deadline& deadline) {
  try {
    BusFailure failure;
    BusPtr bus = openBus(bus_address_, deadline, failure);
    if (!bus) return {false, "systemd not reachable over D-Bus: " + failure.text};
    std::string path;
    SystemdUnitStatus st;
    if (!loadUnit(bus.get(), unit_, deadline, path, failure) ||
        !readStatus(bus.get(), path, deadline, st, failure)) {
      if (failure.kind == BusFailure::Kind::kNotFound)
        return {false, "unit " + unit_ + " does not exist"};
      return {false, "cannot read unit " + unit_ + ": " + failure.text};
    }
    if (st.load_state == "not-found") return {false, "unit " + unit_ + " does not exist"};
    if (st.load_state != "loaded")
      return {false, "unit " + unit_ + " cannot be started: LoadState " + st.load_state};
    if (::geteuid() == 0) return {};
    return polkitAllowsRestart(bus.get(), unit_, deadline);
  } catch (...) {
    return {false, "internal error: " + describeException(std::current_exception())};
  }
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

}  // namespace pgvigil
