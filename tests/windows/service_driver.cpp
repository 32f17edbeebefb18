// The Wine test of the Windows app layer (run_wine_service_test.sh): pgvigil's service host,
// `service install` / `uninstall` and the event log, against Wine's real Service Control Manager,
// without the agent. One exe, two roles:
//   service_driver.exe run --service -c MODE   the service (the image path `service install`
//       writes, with this exe as the binary): the host runs a dummy body wired exactly as
//       `pgvigil run --service` wires the agent (ServiceNotifier, requestAgentStop/Reload,
//       waitAgentSignal). MODE ok: START_PENDING with moving checkpoints, RUNNING, a reload per
//       PARAMCHANGE, STOP_PENDING, exit 0. MODE config-error: exit 78 at once, as a bad config.
//       What it did goes to service-<MODE>.log beside the exe (a service has no stdout).
//   service_driver.exe test                     the checks; "N passed, N failed" last; exit 0
//       only if all passed.
//   service_driver.exe install | uninstall      the service alone, for the script's `sc` round.
//   service_driver.exe not-a-service            the host from a console: 1063, not a hang.
// Win32 + standard C++ only; built with x86_64-w64-mingw32-g++ -municode -static.
#include <windows.h>
// after windows.h
#include <sddl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "app/agent_signals.h"
#include "app/service_notify.h"
#include "app/windows/service_host.h"
#include "app/windows/service_install.h"
#include "events/windows/event_log.h"

using namespace pgvigil;

namespace {

const std::wstring kName = L"pgvigil-test";
const std::wstring kSource = L"pgvigil-test";
const std::wstring kPostgres = L"pgvigil-test-pg";

int g_passed = 0;
int g_failed = 0;

void check(bool ok, const std::string& what, const std::string& detail = "") {
  ++(ok ? g_passed : g_failed);
  std::printf("%s - %s%s%s\n", ok ? "ok  " : "FAIL", what.c_str(), ok || detail.empty() ? "" : ": ",
              ok ? "" : detail.c_str());
  std::fflush(stdout);
}

void info(const std::string& text) {
  std::printf("     # %s\n", text.c_str());
  std::fflush(stdout);
}

std::wstring exePath() {
  wchar_t buffer[MAX_PATH];
  const DWORD n = GetModuleFileNameW(nullptr, buffer, MAX_PATH);
  return std::wstring(buffer, n);
}

std::wstring exeDir() {
  const std::wstring path = exePath();
  return path.substr(0, path.find_last_of(L'\\'));
}

std::wstring logPath(const std::wstring& mode) {
  return exeDir() + L"\\service-" + mode + L".log";
}

std::string readAll(const std::wstring& path) {
  std::ifstream in(path.c_str(), std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// --- the service role ----------------------------------------------------------------------

int serviceRole(const std::wstring& mode) {
  std::ofstream log(logPath(mode).c_str(), std::ios::app);
  auto note = [&log](const std::string& line) { log << line << std::endl; };
  ServiceHostOptions options;
  options.on_stop = [](const std::string& why) { requestAgentStop(why); };
  options.on_paramchange = [] { requestAgentReload(); };
  options.body = [&](ServiceSession& session) -> int {
    note("body started");
    if (mode == L"config-error") return 78;  // kExitConfig
    ServiceNotifier notifier;                // exactly as runAgent uses it
    auto t = std::chrono::steady_clock::now();
    for (int i = 0; i < 6; ++i) {  // "the first rounds": ticks move the START_PENDING checkpoint
      Sleep(200);
      t += std::chrono::seconds(1);
      notifier.watchdogKick(t);
    }
    notifier.ready();
    note("running");
    for (;;) {
      const AgentSignal signal = waitAgentSignal(std::chrono::milliseconds(1000));
      if (signal.request == AgentRequest::kReload) note("reload");
      if (signal.request == AgentRequest::kStop) {
        note("stop: " + signal.name + (session.stopRequested() ? " (host saw it)" : ""));
        break;
      }
    }
    notifier.stopping();
    for (int i = 0; i < 4; ++i) {  // the clean stop takes a moment, with progress
      Sleep(200);
      t += std::chrono::seconds(1);
      notifier.watchdogKick(t);
    }
    note("stopped cleanly");
    return 0;
  };
  DWORD error = 0;
  const int rc = runServiceHost(std::move(options), &error);
  note("host returned " + std::to_string(rc) + " error " + std::to_string(error));
  return rc < 0 ? 64 : rc;
}

// --- the test role -------------------------------------------------------------------------

struct Seen {
  std::vector<DWORD> states;  // distinct consecutive states
  DWORD maxStartCheckpoint = 0;
  DWORD startWaitHint = 0;
  DWORD maxStopCheckpoint = 0;
  SERVICE_STATUS_PROCESS last{};
};

/// Polls every 10 ms until `until` is reached (or `timeoutMs`); records the states in order.
Seen watch(SC_HANDLE service, DWORD until, DWORD timeoutMs) {
  Seen seen;
  const ULONGLONG deadline = GetTickCount64() + timeoutMs;
  while (GetTickCount64() < deadline) {
    SERVICE_STATUS_PROCESS s{};
    DWORD needed = 0;
    if (!QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO, reinterpret_cast<BYTE*>(&s),
                              sizeof(s), &needed))
      break;
    seen.last = s;
    if (seen.states.empty() || seen.states.back() != s.dwCurrentState)
      seen.states.push_back(s.dwCurrentState);
    if (s.dwCurrentState == SERVICE_START_PENDING) {
      seen.maxStartCheckpoint = std::max(seen.maxStartCheckpoint, s.dwCheckPoint);
      seen.startWaitHint = s.dwWaitHint;
    }
    if (s.dwCurrentState == SERVICE_STOP_PENDING)
      seen.maxStopCheckpoint = std::max(seen.maxStopCheckpoint, s.dwCheckPoint);
    if (s.dwCurrentState == until) break;
    Sleep(10);
  }
  return seen;
}

std::string names(const std::vector<DWORD>& states) {
  std::string out;
  for (DWORD s : states) {
    if (!out.empty()) out += " ";
    out += s == SERVICE_STOPPED         ? "STOPPED"
           : s == SERVICE_START_PENDING ? "START_PENDING"
           : s == SERVICE_STOP_PENDING  ? "STOP_PENDING"
           : s == SERVICE_RUNNING       ? "RUNNING"
                                        : std::to_string(s);
  }
  return out;
}

ServiceInstallSpec spec(const std::wstring& mode) {
  ServiceInstallSpec s;
  s.name = kName;
  s.display_name = L"pgvigil test service";
  s.command_line = serviceCommandLine(exePath(), mode);
  s.account = L"LocalService";
  s.data_dir = exeDir() + L"\\data";
  s.event_source = kSource;
  s.message_file = exePath();
  s.postgres_service = kPostgres;
  return s;
}

bool installOk(const ServiceSetupResult& r, const std::string& what) {
  for (const auto& l : r.lines) info(l);
  for (const auto& l : r.warnings) info("warning: " + l);
  check(r.ok, what, r.failure);
  return r.ok;
}

void checkConfig(SC_HANDLE scm) {
  ScHandle service(OpenServiceW(scm, kName.c_str(), SERVICE_QUERY_CONFIG));
  check(service != nullptr, "the installed service opens", std::to_string(GetLastError()));
  if (!service) return;
  DWORD needed = 0;
  QueryServiceConfigW(service.get(), nullptr, 0, &needed);
  std::vector<BYTE> buffer(needed + 16);
  auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data());
  if (!QueryServiceConfigW(service.get(), config, static_cast<DWORD>(buffer.size()), &needed)) {
    check(false, "QueryServiceConfigW", std::to_string(GetLastError()));
    return;
  }
  check(config->dwServiceType == SERVICE_WIN32_OWN_PROCESS, "own process",
        std::to_string(config->dwServiceType));
  check(config->dwStartType == SERVICE_AUTO_START, "automatic start",
        std::to_string(config->dwStartType));
  check(
      config->lpBinaryPathName && config->lpBinaryPathName == serviceCommandLine(exePath(), L"ok"),
      "image path is `\"EXE\" run --service -c CONFIG`",
      config->lpBinaryPathName ? toUtf8(config->lpBinaryPathName) : "null");
  check(!config->lpDependencies || config->lpDependencies[0] == L'\0', "no dependencies");
  check(config->lpServiceStartName &&
            std::wstring(config->lpServiceStartName) == L"NT AUTHORITY\\LocalService",
        "account NT AUTHORITY\\LocalService",
        config->lpServiceStartName ? toUtf8(config->lpServiceStartName) : "null");
  check(config->lpDisplayName && std::wstring(config->lpDisplayName) == L"pgvigil test service",
        "display name");

  auto query2 = [&](DWORD level, std::vector<BYTE>& out) {
    DWORD n = 0;
    QueryServiceConfig2W(service.get(), level, nullptr, 0, &n);
    out.assign(n + 64, 0);
    if (QueryServiceConfig2W(service.get(), level, out.data(), static_cast<DWORD>(out.size()), &n))
      return DWORD{NO_ERROR};
    return GetLastError();
  };
  std::vector<BYTE> b;
  DWORD rc = query2(SERVICE_CONFIG_DESCRIPTION, b);
  auto* d = reinterpret_cast<SERVICE_DESCRIPTIONW*>(b.data());
  check(rc == NO_ERROR && d->lpDescription &&
            std::wstring(d->lpDescription) == ServiceInstallSpec{}.description,
        "description", "error " + std::to_string(rc));
  rc = query2(SERVICE_CONFIG_DELAYED_AUTO_START_INFO, b);
  if (rc == ERROR_INVALID_LEVEL || rc == ERROR_CALL_NOT_IMPLEMENTED)
    info("Wine cannot read back the delayed start (error " + std::to_string(rc) + ")");
  else
    check(rc == NO_ERROR &&
              reinterpret_cast<SERVICE_DELAYED_AUTO_START_INFO*>(b.data())->fDelayedAutostart,
          "delayed automatic start", "error " + std::to_string(rc));
  rc = query2(SERVICE_CONFIG_FAILURE_ACTIONS, b);
  auto* fa = reinterpret_cast<SERVICE_FAILURE_ACTIONSW*>(b.data());
  if (rc == ERROR_INVALID_LEVEL || rc == ERROR_CALL_NOT_IMPLEMENTED) {
    info("Wine cannot read back the failure actions (error " + std::to_string(rc) + ")");
  } else {
    const bool actionsOk = rc == NO_ERROR && fa->dwResetPeriod == 86400 && fa->cActions == 3 &&
                           fa->lpsaActions && fa->lpsaActions[0].Type == SC_ACTION_RESTART &&
                           fa->lpsaActions[0].Delay == 5000 && fa->lpsaActions[1].Delay == 5000 &&
                           fa->lpsaActions[2].Delay == 60000;
    check(actionsOk, "failure actions restart/5000/restart/5000/restart/60000 reset 86400",
          "error " + std::to_string(rc) + " reset " + std::to_string(rc ? 0 : fa->dwResetPeriod) +
              " actions " + std::to_string(rc ? 0 : fa->cActions));
  }
  rc = query2(SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, b);
  if (rc == ERROR_INVALID_LEVEL || rc == ERROR_CALL_NOT_IMPLEMENTED)
    info("Wine cannot read back the failure-actions flag (error " + std::to_string(rc) + ")");
  else
    check(rc == NO_ERROR && reinterpret_cast<SERVICE_FAILURE_ACTIONS_FLAG*>(b.data())
                                ->fFailureActionsOnNonCrashFailures,
          "failure-actions flag (error exits count)", "error " + std::to_string(rc));

  // The event source in the registry.
  HKEY key = nullptr;
  const std::wstring path =
      L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\" + kSource;
  LSTATUS r = RegOpenKeyExW(HKEY_LOCAL_MACHINE, path.c_str(), 0, KEY_QUERY_VALUE, &key);
  check(r == ERROR_SUCCESS, "event source key exists", std::to_string(r));
  if (r == ERROR_SUCCESS) {
    wchar_t value[MAX_PATH * 2] = {};
    DWORD size = sizeof(value), type = 0;
    r = RegQueryValueExW(key, L"EventMessageFile", nullptr, &type, reinterpret_cast<BYTE*>(value),
                         &size);
    check(r == ERROR_SUCCESS && type == REG_EXPAND_SZ && exePath() == value,
          "EventMessageFile is the exe", toUtf8(value));
    DWORD types = 0;
    size = sizeof(types);
    r = RegQueryValueExW(key, L"TypesSupported", nullptr, &type, reinterpret_cast<BYTE*>(&types),
                         &size);
    check(r == ERROR_SUCCESS && types == 7, "TypesSupported 7", std::to_string(types));
    RegCloseKey(key);
  }
  const DWORD attributes = GetFileAttributesW((exeDir() + L"\\data\\state").c_str());
  check(attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY),
        "data folder and its state\\ exist");
}

/// Whether the PostgreSQL stand-in's DACL lets LocalService (S-1-5-19) query, start and stop.
void checkPostgresAce(SC_HANDLE scm) {
  ScHandle pg(OpenServiceW(scm, kPostgres.c_str(), READ_CONTROL));
  DWORD needed = 0;
  QueryServiceObjectSecurity(pg.get(), DACL_SECURITY_INFORMATION, nullptr, 0, &needed);
  std::vector<BYTE> sd(needed + 16);
  if (!pg || !QueryServiceObjectSecurity(pg.get(), DACL_SECURITY_INFORMATION, sd.data(),
                                         static_cast<DWORD>(sd.size()), &needed)) {
    info("QueryServiceObjectSecurity on the stand-in failed: " + std::to_string(GetLastError()));
    return;
  }
  BOOL present = FALSE, defaulted = FALSE;
  PACL dacl = nullptr;
  GetSecurityDescriptorDacl(sd.data(), &present, &dacl, &defaulted);
  PSID local = nullptr;
  ConvertStringSidToSidW(L"S-1-5-19", &local);
  bool found = false;
  for (DWORD i = 0; present && dacl && i < dacl->AceCount; ++i) {
    void* ace = nullptr;
    if (!GetAce(dacl, i, &ace) || static_cast<ACE_HEADER*>(ace)->AceType != ACCESS_ALLOWED_ACE_TYPE)
      continue;
    auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
    const DWORD want = SERVICE_QUERY_STATUS | SERVICE_START | SERVICE_STOP;
    if (EqualSid(reinterpret_cast<PSID>(&allowed->SidStart), local) &&
        (allowed->Mask & want) == want)
      found = true;
  }
  LocalFree(local);
  // Wine's SetServiceObjectSecurity is a stub (it succeeds and stores nothing), so the ACE can
  // only be read back on Windows.
  info(std::string("LocalService ACE on the stand-in ") +
       (found ? "present" : "not stored (Wine: SetServiceObjectSecurity is a stub)"));
}

void testRole() {
  ScHandle scm(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_ALL_ACCESS));
  check(scm != nullptr, "OpenSCManagerW", std::to_string(GetLastError()));
  if (!scm) return;
  for (const wchar_t* mode : {L"ok", L"config-error"}) DeleteFileW(logPath(mode).c_str());
  (void)uninstallService(kName, kSource, 5000);  // a leftover of an interrupted run

  // A stand-in for the PostgreSQL service, for the ACE step (never started).
  {
    ScHandle old(OpenServiceW(scm.get(), kPostgres.c_str(), DELETE));
    if (old) DeleteService(old.get());
  }
  const std::wstring standIn = L"\"" + exePath() + L"\" never-started";
  ScHandle pg(CreateServiceW(scm.get(), kPostgres.c_str(), kPostgres.c_str(), SERVICE_ALL_ACCESS,
                             SERVICE_WIN32_OWN_PROCESS, SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL,
                             standIn.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr));
  check(pg != nullptr, "the PostgreSQL stand-in service is created",
        std::to_string(GetLastError()));

  // service install, twice (the second updates), then what the SCM has.
  check(normalizeServiceAccount(L"localservice") == L"NT AUTHORITY\\LocalService" &&
            normalizeServiceAccount(L"NT AUTHORITY\\NetworkService") ==
                L"NT AUTHORITY\\NetworkService" &&
            normalizeServiceAccount(L"SYSTEM") == L"LocalSystem" &&
            normalizeServiceAccount(L"HOST\\pgvigil").empty(),
        "accounts: the three built-in service accounts, nothing else");
  ServiceInstallSpec bad = spec(L"ok");
  bad.account = L"HOST\\someone";
  const ServiceSetupResult refused = installService(bad);
  check(!refused.ok && refused.error == ERROR_INVALID_SERVICE_ACCOUNT,
        "a user account is refused before anything is changed", refused.failure);
  if (!installOk(installService(spec(L"config-error")), "service install (new)")) return;
  const ServiceSetupResult again = installService(spec(L"ok"));
  installOk(again, "service install again (update)");
  check(!again.lines.empty() && again.lines[0].rfind("updated service", 0) == 0,
        "the second install updates the service", again.lines.empty() ? "" : again.lines[0]);
  checkConfig(scm.get());
  checkPostgresAce(scm.get());

  // start -> START_PENDING (checkpoints moving) -> RUNNING
  ScHandle service(OpenServiceW(scm.get(), kName.c_str(),
                                SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS |
                                    SERVICE_USER_DEFINED_CONTROL | SERVICE_PAUSE_CONTINUE));
  check(service != nullptr, "open the service for control", std::to_string(GetLastError()));
  if (!service) return;
  check(StartServiceW(service.get(), 0, nullptr) != 0, "StartServiceW",
        std::to_string(GetLastError()));
  Seen start = watch(service.get(), SERVICE_RUNNING, 20000);
  info("start: " + names(start.states) + ", START_PENDING checkpoints up to " +
       std::to_string(start.maxStartCheckpoint) + ", wait hint " +
       std::to_string(start.startWaitHint) + " ms");
  check(start.states.size() >= 2 && start.states.back() == SERVICE_RUNNING &&
            start.states[start.states.size() - 2] == SERVICE_START_PENDING,
        "START_PENDING then RUNNING", names(start.states));
  check(start.maxStartCheckpoint >= 3, "the checkpoint moves while the body starts",
        std::to_string(start.maxStartCheckpoint));
  check(start.startWaitHint > 0, "START_PENDING carries a wait hint");
  check((start.last.dwControlsAccepted &
         (SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN)) ==
            (SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN),
        "RUNNING accepts STOP, SHUTDOWN and PRESHUTDOWN",
        std::to_string(start.last.dwControlsAccepted));

  // PARAMCHANGE -> a reload request in the body.
  SERVICE_STATUS status{};
  const BOOL param = ControlService(service.get(), SERVICE_CONTROL_PARAMCHANGE, &status);
  if (!param) {
    info("PARAMCHANGE not delivered (error " + std::to_string(GetLastError()) + ")");
  } else {
    std::string log;
    for (int i = 0; i < 100 && log.find("reload") == std::string::npos; ++i) {
      Sleep(20);
      log = readAll(logPath(L"ok"));
    }
    check(log.find("reload") != std::string::npos, "PARAMCHANGE reaches the body as a reload", log);
  }

  // stop -> STOP_PENDING (checkpoints) -> STOPPED, exit 0
  check(ControlService(service.get(), SERVICE_CONTROL_STOP, &status) != 0, "ControlService STOP",
        std::to_string(GetLastError()));
  Seen stop = watch(service.get(), SERVICE_STOPPED, 20000);
  info("stop: " + names(stop.states) + ", STOP_PENDING checkpoints up to " +
       std::to_string(stop.maxStopCheckpoint));
  check(stop.states.size() >= 2 && stop.states.back() == SERVICE_STOPPED &&
            stop.states[stop.states.size() - 2] == SERVICE_STOP_PENDING,
        "STOP_PENDING then STOPPED", names(stop.states));
  check(stop.last.dwWin32ExitCode == NO_ERROR, "clean stop: exit code 0",
        std::to_string(stop.last.dwWin32ExitCode));
  const std::string okLog = readAll(logPath(L"ok"));
  check(okLog.find("stop: service stop (host saw it)") != std::string::npos &&
            okLog.find("stopped cleanly") != std::string::npos &&
            okLog.find("host returned 0 error 0") != std::string::npos,
        "the body got the stop as \"service stop\" and the host returned 0", okLog);

  // A config error: STOPPED with ERROR_SERVICE_SPECIFIC_ERROR and 78, so recovery can act.
  installOk(installService(spec(L"config-error")), "service install with a failing body");
  check(StartServiceW(service.get(), 0, nullptr) != 0, "StartServiceW (failing body)",
        std::to_string(GetLastError()));
  Seen failed = watch(service.get(), SERVICE_STOPPED, 20000);
  info("failing start: " + names(failed.states));
  check(failed.last.dwCurrentState == SERVICE_STOPPED &&
            failed.last.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR &&
            failed.last.dwServiceSpecificExitCode == 78,
        "a config error ends STOPPED with 1066 / service-specific 78",
        std::to_string(failed.last.dwWin32ExitCode) + "/" +
            std::to_string(failed.last.dwServiceSpecificExitCode));

  // The event log: Wine's is a stub, so only that every call succeeds can be checked.
  DWORD error = 0;
  auto eventLog = WindowsEventLog::open(kSource, &error);
  check(eventLog != nullptr, "RegisterEventSourceW", std::to_string(error));
  if (eventLog) {
    check(eventLog->report(EVENTLOG_INFORMATION_TYPE, "pgvigil test: information") == NO_ERROR &&
              eventLog->report(EVENTLOG_WARNING_TYPE, "pgvigil test: warning") == NO_ERROR &&
              eventLog->report(EVENTLOG_ERROR_TYPE, "pgvigil test: error \xc3\xa9") == NO_ERROR &&
              eventLog->report(EVENTLOG_ERROR_TYPE, std::string(40000, 'x')) == NO_ERROR,
          "ReportEventW for each level (and an over-long text, cut)");
  }

  // uninstall while it runs: stopped (bounded), deleted, source removed; again: nothing to do.
  installOk(installService(spec(L"ok")), "service install (back to the working body)");
  StartServiceW(service.get(), 0, nullptr);
  watch(service.get(), SERVICE_RUNNING, 20000);
  service.reset();
  const ServiceSetupResult removed = uninstallService(kName, kSource, 20000);
  installOk(removed, "service uninstall (running service)");
  bool stoppedFirst = false;
  for (const auto& l : removed.lines) stoppedFirst |= l.rfind("stopped service", 0) == 0;
  check(stoppedFirst, "uninstall stopped the running service first");
  ScHandle gone(OpenServiceW(scm.get(), kName.c_str(), SERVICE_QUERY_STATUS));
  check(!gone && GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST, "the service is gone",
        std::to_string(GetLastError()));
  HKEY key = nullptr;
  const std::wstring path =
      L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\" + kSource;
  const LSTATUS r = RegOpenKeyExW(HKEY_LOCAL_MACHINE, path.c_str(), 0, KEY_QUERY_VALUE, &key);
  if (r == ERROR_SUCCESS) RegCloseKey(key);
  check(r == ERROR_FILE_NOT_FOUND, "the event source is gone", std::to_string(r));
  const ServiceSetupResult twice = uninstallService(kName, kSource, 1000);
  check(twice.ok && !twice.lines.empty() &&
            twice.lines[0].find("nothing to remove") != std::string::npos,
        "uninstall again: nothing to remove, no error", twice.failure);
  if (pg) DeleteService(pg.get());
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  std::vector<std::wstring> args(argv + 1, argv + argc);
  if (args.size() == 4 && args[0] == L"run" && args[1] == L"--service" && args[2] == L"-c")
    return serviceRole(args[3]);
  if (args.size() == 1 && args[0] == L"not-a-service") {
    // From a console: the dispatcher must fail (1063) and the host say so, not hang.
    DWORD error = 0;
    const auto t0 = GetTickCount64();
    ServiceHostOptions options;
    options.body = [](ServiceSession&) { return 0; };
    const int rc = runServiceHost(std::move(options), &error);
    std::printf("runServiceHost from a console: %d, error %lu, after %llu ms\n", rc, error,
                static_cast<unsigned long long>(GetTickCount64() - t0));
    return rc == -1 && error == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT ? 0 : 1;
  }
  if (args.size() == 1 && (args[0] == L"install" || args[0] == L"uninstall")) {
    // For the script's own `sc start` / `sc query` / `sc stop` round.
    const ServiceSetupResult r = args[0] == L"install" ? installService(spec(L"ok"))
                                                       : uninstallService(kName, kSource, 20000);
    for (const auto& l : r.lines) std::printf("%s\n", l.c_str());
    if (!r.ok) std::printf("failed: %s\n", r.failure.c_str());
    return r.ok ? 0 : 1;
  }
  if (args.size() == 1 && args[0] == L"test") {
    testRole();
    std::printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 && g_passed > 0 ? 0 : 1;
  }
  std::fprintf(stderr,
               "usage: service_driver.exe test | install | uninstall | not-a-service | "
               "run --service -c MODE\n");
  return 64;
}
