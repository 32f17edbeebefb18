// The Wine test's driver (run_wine_test.sh): creates services that run dummy_service.exe (next to
// this exe), drives pgvigil's real SCM restart sequence (ScmControl over Win32ScmApi) through
// every case against the real Service Control Manager, deletes the services, and prints
// "N passed, N failed" as its last line; exit code 0 only if all passed.
// Win32 + standard C++ only; built with x86_64-w64-mingw32-g++ -municode -static.
#include <windows.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/restart_outcome.h"
#include "restart/windows/scm_control.h"
#include "restart/windows/scm_watcher.h"
#include "restart/windows/scm_win32.h"

using namespace pgvigil;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr DWORD kControlCrash = 200;           // dummy_service.cpp: end the process, tell nobody
constexpr DWORD kControlPostmasterExit = 201;  // dummy_service.cpp: STOP_PENDING, STOPPED as pg_ctl

int g_passed = 0;
int g_failed = 0;

void check(bool ok, const std::string& what, const std::string& detail = "") {
  if (ok) {
    ++g_passed;
    std::printf("ok   - %s\n", what.c_str());
  } else {
    ++g_failed;
    std::printf("FAIL - %s%s%s\n", what.c_str(), detail.empty() ? "" : ": ", detail.c_str());
  }
  std::fflush(stdout);
}

void info(const std::string& text) {
  std::printf("     # %s\n", text.c_str());
  std::fflush(stdout);
}

std::string describe(const ScmOutcome& o) {
  return std::string(toString(o.code)) + " error=" + std::to_string(o.error) + " detail=\"" +
         o.detail + "\"";
}

long long msSince(SteadyClock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count();
}

/// ScmApi that opens every service for query only, as an account given SERVICE_QUERY_STATUS and
/// nothing more would: the SCM itself then refuses STOP and START with 5.
class QueryOnlyApi final : public ScmApi {
 public:
  std::uint32_t open(const std::string& s, bool) override { return inner_.open(s, false); }
  std::uint32_t queryStatus(ScmStatus& out) override { return inner_.queryStatus(out); }
  std::uint32_t stop(ScmStatus& out) override { return inner_.stop(out); }
  std::uint32_t start() override { return inner_.start(); }
  void close() override { inner_.close(); }
  std::string message(std::uint32_t e) override { return inner_.message(e); }

 private:
  Win32ScmApi inner_;
};

class Services {
 public:
  explicit Services(SC_HANDLE scm, std::wstring dummy) : scm_(scm), dummy_(std::move(dummy)) {}
  ~Services() {
    for (const auto& name : created_) remove(name);
  }

  /// Creates (after removing a leftover) a service running the dummy with these arguments.
  bool create(const std::string& name, const std::wstring& args,
              DWORD start_type = SERVICE_DEMAND_START) {
    remove(name);
    const std::wstring wname = toWide(name);
    const std::wstring path = L"\"" + dummy_ + L"\" " + wname + (args.empty() ? L"" : L" " + args);
    ScHandle svc(::CreateServiceW(scm_, wname.c_str(), wname.c_str(), SERVICE_ALL_ACCESS,
                                  SERVICE_WIN32_OWN_PROCESS, start_type, SERVICE_ERROR_NORMAL,
                                  path.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr));
    if (!svc) {
      info("CreateServiceW " + name + " failed: " + std::to_string(::GetLastError()));
      return false;
    }
    created_.push_back(name);
    return true;
  }
  /// Creates a service whose executable does not exist.
  bool createMissingBinary(const std::string& name) {
    remove(name);
    const std::wstring wname = toWide(name);
    std::wstring path = dummy_.substr(0, dummy_.find_last_of(L'\\') + 1) + L"no_such_program.exe";
    ScHandle svc(::CreateServiceW(scm_, wname.c_str(), wname.c_str(), SERVICE_ALL_ACCESS,
                                  SERVICE_WIN32_OWN_PROCESS, SERVICE_DEMAND_START,
                                  SERVICE_ERROR_NORMAL, path.c_str(), nullptr, nullptr, nullptr,
                                  nullptr, nullptr));
    if (!svc) return false;
    created_.push_back(name);
    return true;
  }

  SERVICE_STATUS_PROCESS status(const std::string& name) {
    SERVICE_STATUS_PROCESS st{};
    ScHandle svc(::OpenServiceW(scm_, toWide(name).c_str(), SERVICE_QUERY_STATUS));
    DWORD needed = 0;
    if (svc)
      ::QueryServiceStatusEx(svc.get(), SC_STATUS_PROCESS_INFO, reinterpret_cast<LPBYTE>(&st),
                             sizeof st, &needed);
    return st;
  }

  /// Sends a control code; returns 0 or the error.
  DWORD control(const std::string& name, DWORD code) {
    ScHandle svc(::OpenServiceW(scm_, toWide(name).c_str(), SERVICE_ALL_ACCESS));
    if (!svc) return ::GetLastError();
    SERVICE_STATUS st{};
    return ::ControlService(svc.get(), code, &st) ? 0 : ::GetLastError();
  }

 private:
  /// Stops the service (or terminates its process: only ever the pid the SCM gives for a service
  /// this driver created) and deletes it.
  void remove(const std::string& name) {
    ScHandle svc(::OpenServiceW(scm_, toWide(name).c_str(), SERVICE_ALL_ACCESS));
    if (!svc) return;
    SERVICE_STATUS st{};
    ::ControlService(svc.get(), SERVICE_CONTROL_STOP, &st);
    SERVICE_STATUS_PROCESS sp{};
    DWORD needed = 0;
    const auto until = SteadyClock::now() + 3s;
    while (SteadyClock::now() < until &&
           ::QueryServiceStatusEx(svc.get(), SC_STATUS_PROCESS_INFO, reinterpret_cast<LPBYTE>(&sp),
                                  sizeof sp, &needed) &&
           sp.dwCurrentState != SERVICE_STOPPED && sp.dwCurrentState != SERVICE_RUNNING)
      std::this_thread::sleep_for(100ms);
    if (sp.dwProcessId != 0 && sp.dwCurrentState != SERVICE_STOPPED) {
      HANDLE p = ::OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, sp.dwProcessId);
      if (p != nullptr) {
        ::TerminateProcess(p, 9);
        ::WaitForSingleObject(p, 3000);
        ::CloseHandle(p);
      }
    }
    ::DeleteService(svc.get());
  }

  SC_HANDLE scm_;
  std::wstring dummy_;
  std::vector<std::string> created_;
};

/// Waits (bounded) until the process is gone.
bool waitProcessGone(DWORD pid, DWORD ms) {
  HANDLE p = ::OpenProcess(SYNCHRONIZE, FALSE, pid);
  if (p == nullptr) return true;
  const bool gone = ::WaitForSingleObject(p, ms) == WAIT_OBJECT_0;
  ::CloseHandle(p);
  return gone;
}

bool processAlive(DWORD pid) {
  HANDLE p = ::OpenProcess(SYNCHRONIZE, FALSE, pid);
  if (p == nullptr) return false;
  const bool alive = ::WaitForSingleObject(p, 0) == WAIT_TIMEOUT;
  ::CloseHandle(p);
  return alive;
}

std::wstring dummyPath() {
  wchar_t self[MAX_PATH];
  const DWORD n = ::GetModuleFileNameW(nullptr, self, MAX_PATH);
  std::wstring dir(self, n);
  return dir.substr(0, dir.find_last_of(L'\\') + 1) + L"dummy_service.exe";
}

/// What a ScmServiceWatcher reported, in order, with bounded waits for the next one.
class Recorder {
 public:
  void add(ServiceState s) {
    std::lock_guard lock(mutex_);
    seen_.push_back(s);
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  /// Waits (bounded) until a state at or after index `from` is `want`.
  bool waitFor(std::size_t from, ServiceState want, std::chrono::milliseconds limit) {
    const auto until = SteadyClock::now() + limit;
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        for (std::size_t i = from; i < seen_.size(); ++i)
          if (seen_[i] == want) return true;
      }
      if (SteadyClock::now() >= until) return false;
      std::this_thread::sleep_for(20ms);
    }
  }
  bool contains(std::size_t from, ServiceState s) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = from; i < seen_.size(); ++i)
      if (seen_[i] == s) return true;
    return false;
  }
  std::string list() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (auto s : seen_) out += std::string(out.empty() ? "" : ",") + std::string(toString(s));
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<ServiceState> seen_;
};

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto until = SteadyClock::now() + limit;
  while (!done()) {
    if (SteadyClock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

/// ScmServiceWatcher (the windows-service watcher) against the real SCM and a service that
/// reports what pg_ctl's does: STOP_PENDING with hint 10000 on STOP, and STOP_PENDING with the
/// start's hint then STOPPED exit 0 when its "postmaster" exits by itself.
void watch(Services& services) {
  const std::string pg = "pgv-watch";
  if (!services.create(pg, L"--hint-ms 60000 --stop-hint-ms 10000 --stop-ms 300")) {
    check(false, "watcher: service created");
    return;
  }
  Recorder seen;
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  ScmServiceWatcher watcher(pg, 500ms);
  watcher.setErrorReporter([&](const std::string& e) {
    std::lock_guard lock(errors_mutex);
    errors.push_back(e);
  });
  watcher.start([&](ServiceState s) { seen.add(s); });
  check(waitUntil([&] { return watcher.subscribed(); }, 5s),
        "watcher: reads the service's first state");
  check(seen.size() == 0, "watcher: a service stopped before it looked is not reported",
        seen.list());

  auto start = [&] {
    ScHandle scm(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
    ScHandle svc(::OpenServiceW(scm.get(), toWide(pg).c_str(), SERVICE_START));
    return svc && ::StartServiceW(svc.get(), 0, nullptr);
  };
  auto stopped = [&] { return services.status(pg).dwCurrentState == SERVICE_STOPPED; };

  std::size_t mark = seen.size();
  check(start(), "watcher: service started");
  check(seen.waitFor(mark, ServiceState::kRunning, 10s), "watcher: a start -> running",
        seen.list());

  // sc stop: operator_stopped, and never failed on the way.
  mark = seen.size();
  check(services.control(pg, SERVICE_CONTROL_STOP) == 0, "watcher: STOP sent");
  check(waitUntil(stopped, 10s), "watcher: service STOPPED after STOP");
  check(seen.waitFor(mark, ServiceState::kOperatorStopped, 5s),
        "watcher: sc stop -> operator_stopped", seen.list());
  std::this_thread::sleep_for(300ms);  // anything after STOPPED would show here
  check(!seen.contains(mark, ServiceState::kFailed), "watcher: sc stop is never failed",
        seen.list());

  mark = seen.size();
  check(start(), "watcher: service started again");
  check(seen.waitFor(mark, ServiceState::kRunning, 10s), "watcher: the operator's start -> running",
        seen.list());

  // The "postmaster" exits by itself: pg_ctl's STOP_PENDING with the start's hint, STOPPED exit 0.
  mark = seen.size();
  check(services.control(pg, kControlPostmasterExit) == 0, "watcher: postmaster-exit control sent");
  check(waitUntil(stopped, 10s), "watcher: service STOPPED after the postmaster exit");
  check(seen.waitFor(mark, ServiceState::kFailed, 5s), "watcher: a crash-like stop -> failed",
        seen.list());
  check(!seen.contains(mark, ServiceState::kOperatorStopped),
        "watcher: the crash is never operator_stopped", seen.list());

  const auto t0 = SteadyClock::now();
  watcher.stop();
  check(msSince(t0) < 1000, "watcher: stop() ends its thread at once",
        std::to_string(msSince(t0)) + " ms");
  info("watcher reported: " + seen.list());
  for (const auto& e : errors) info("watcher error: " + e);

  // A service that does not exist: the baseline is not_found; stop() still ends at once.
  ScmServiceWatcher missing("pgv-watch-missing", 500ms);
  Recorder none;
  missing.start([&](ServiceState s) { none.add(s); });
  check(waitUntil([&] { return missing.subscribed(); }, 5s),
        "watcher: a missing service is watched (1060, retried)");
  const auto t1 = SteadyClock::now();
  missing.stop();
  check(msSince(t1) < 1000 && none.size() == 0, "watcher: stop() while retrying ends at once",
        std::to_string(msSince(t1)) + " ms, " + none.list());
}

void run(Services& services) {
  Win32ScmApi api;
  ScmControl ctl(api);
  auto restart = [&](const std::string& name, std::chrono::milliseconds budget) {
    const auto t0 = SteadyClock::now();
    ScmOutcome o = ctl.restart(name, SteadyClock::now() + budget);
    info(name + ": " + describe(o) + " in " + std::to_string(msSince(t0)) + " ms");
    return o;
  };

  // No such service: 1060 -> not found, also for query.
  {
    ScmOutcome o = restart("pgv-missing", 5s);
    check(o.code == ScmOutcome::Code::kNotFound && o.error == 1060, "no such service: not_found",
          describe(o));
    check(o.detail.find("1060") != std::string::npos, "not_found names 1060", o.detail);
    std::uint32_t err = 0;
    check(ctl.query("pgv-missing", &err) == ScmView::kNotFound && err == 1060,
          "query of a missing service: not_found", std::to_string(err));
  }

  // A stopped service is started; a running one is stopped and started (a new process). The
  // dummies' wait hints are PostgreSQL's (10 s), so that a loaded machine's scheduling delays are
  // not taken for a stall; stalls have their own case below (hint 500 ms).
  const std::string basic = "pgv-basic";
  if (services.create(basic, L"--start-ms 300 --stop-ms 300 --hint-ms 10000")) {
    std::uint32_t err = 0;
    ScmView v = ctl.query(basic, &err);
    check(v == ScmView::kUnknown, "never-started service reads unknown",
          std::string(toString(v)) + " " + std::to_string(err));

    ScmOutcome o = restart(basic, 15s);
    check(o.code == ScmOutcome::Code::kSucceeded && o.started_directly && !o.stopped,
          "restart of a stopped service starts it", describe(o));
    const DWORD pid1 = services.status(basic).dwProcessId;
    check(ctl.query(basic) == ScmView::kRunning && pid1 != 0 && processAlive(pid1),
          "it runs afterwards", std::to_string(pid1));

    o = restart(basic, 15s);
    const DWORD pid2 = services.status(basic).dwProcessId;
    check(o.code == ScmOutcome::Code::kSucceeded && o.stopped && !o.started_directly,
          "restart of a running service stops then starts it", describe(o));
    check(pid2 != 0 && pid2 != pid1 && processAlive(pid2) && !processAlive(pid1),
          "a new process replaced the old one",
          std::to_string(pid1) + " -> " + std::to_string(pid2));

    // The process dies without telling the SCM (a crash).
    const DWORD crash_error = services.control(basic, kControlCrash);
    const bool gone = waitProcessGone(pid2, 5000);
    check(gone, "the crashed process is gone", "control 200 -> " + std::to_string(crash_error));
    SERVICE_STATUS_PROCESS after = services.status(basic);
    info("after the crash the SCM says state " + std::to_string(after.dwCurrentState) +
         ", exit code " + std::to_string(after.dwWin32ExitCode));
    o = restart(basic, 15s);
    const DWORD pid3 = services.status(basic).dwProcessId;
    check(o.code == ScmOutcome::Code::kSucceeded && o.started_directly,
          "restart after a crash starts it directly", describe(o));
    check(pid3 != 0 && pid3 != pid2 && processAlive(pid3), "a new process runs after the crash",
          std::to_string(pid3));
    check(ctl.query(basic) == ScmView::kRunning, "query says running after the crash restart");
  }

  // START_PENDING and STOP_PENDING with moving checkpoints are waited out.
  const std::string slow = "pgv-slow";
  if (services.create(slow, L"--start-ms 1500 --stop-ms 1500 --hint-ms 10000")) {
    auto t0 = SteadyClock::now();
    ScmOutcome o = restart(slow, 20s);
    const long long took_start = msSince(t0);
    check(o.code == ScmOutcome::Code::kSucceeded && took_start >= 1400,
          "a slow start is waited out", describe(o) + " " + std::to_string(took_start) + " ms");
    t0 = SteadyClock::now();
    o = restart(slow, 20s);
    const long long took_both = msSince(t0);
    check(o.code == ScmOutcome::Code::kSucceeded && o.stopped && took_both >= 2900,
          "a slow stop and start are waited out",
          describe(o) + " " + std::to_string(took_both) + " ms");
  }

  // A start that fails: Wine says so at once (1053), Windows may say yes and then STOPPED.
  const std::string failing = "pgv-failstart";
  if (services.create(failing, L"--fail-start --start-ms 200")) {
    ScmOutcome o = restart(failing, 15s);
    check(o.code == ScmOutcome::Code::kFailed && o.error != 0 && !o.detail.empty(),
          "a failing start is a failure with its error", describe(o));
  }

  // A disabled service: 1058, with the system's text.
  const std::string disabled = "pgv-disabled";
  if (services.create(disabled, L"", SERVICE_DISABLED)) {
    ScmOutcome o = restart(disabled, 5s);
    check(o.code == ScmOutcome::Code::kFailed && o.error == 1058, "disabled: failed with 1058",
          describe(o));
    check(o.detail.size() > std::string("start failed (1058)").size(),
          "the detail carries the system's message", o.detail);
  }

  // A service whose program is missing.
  const std::string missing_exe = "pgv-noexe";
  if (services.createMissingBinary(missing_exe)) {
    ScmOutcome o = restart(missing_exe, 10s);
    check(o.code == ScmOutcome::Code::kFailed && o.error != 0, "missing program: failed",
          describe(o));
  }

  // Only query rights: the SCM refuses STOP / START with 5 -> permission denied.
  {
    QueryOnlyApi query_only;
    ScmControl limited(query_only);
    ScmOutcome o = limited.restart(basic, SteadyClock::now() + 10s);
    info("query-only restart of running " + basic + ": " + describe(o));
    check(o.code == ScmOutcome::Code::kPermissionDenied && o.error == 5,
          "stop without SERVICE_STOP: permission_denied", describe(o));
    o = limited.restart(failing, SteadyClock::now() + 10s);
    info("query-only restart of stopped " + failing + ": " + describe(o));
    check(o.code == ScmOutcome::Code::kPermissionDenied && o.error == 5,
          "start without SERVICE_START: permission_denied", describe(o));
  }

  // A stop whose checkpoint never moves stalls after the wait hint, long before the deadline.
  const std::string hang = "pgv-hangstop";
  if (services.create(hang, L"--hang-stop --hint-ms 500")) {
    ScmOutcome o = restart(hang, 15s);
    check(o.code == ScmOutcome::Code::kSucceeded, "hang-stop service starts", describe(o));
    const auto t0 = SteadyClock::now();
    o = restart(hang, 15s);
    const long long took = msSince(t0);
    check(o.code == ScmOutcome::Code::kFailed &&
              o.detail.find("made no progress") != std::string::npos && took < 5000,
          "a stalled stop fails after its wait hint", describe(o) + " " + std::to_string(took));
  }

  // The deadline ends a start that takes too long.
  const std::string late = "pgv-late";
  if (services.create(late, L"--start-ms 6000 --hint-ms 0")) {
    const auto t0 = SteadyClock::now();
    ScmOutcome o = restart(late, 1500ms);
    const long long took = msSince(t0);
    check(o.code == ScmOutcome::Code::kTimedOut && took >= 1400 && took < 5000,
          "a start slower than the deadline times out on time",
          describe(o) + " " + std::to_string(took) + " ms");
  }
}

}  // namespace

int wmain() {
  const auto t0 = SteadyClock::now();
  ScHandle scm(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_ALL_ACCESS));
  if (!scm) {
    std::printf("FAIL - OpenSCManagerW: %lu\n0 passed, 1 failed\n", ::GetLastError());
    return 1;
  }
  {
    Services services(scm.get(), dummyPath());
    run(services);
    watch(services);
  }  // every service created is deleted here
  info("took " + std::to_string(msSince(t0)) + " ms");
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  std::fflush(stdout);
  return g_failed == 0 && g_passed > 0 ? 0 : 1;
}
