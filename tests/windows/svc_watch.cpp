// Watches one Windows service's status changes as the SCM announces them, for the end-to-end test
// (run_wine_e2e.sh): does an operator's stop look different from a postmaster crash?
//   svc_watch.exe NAME MAX_SECONDS
// Prints the current status, then one line per change, "<ms> <state> <exit code> <wait hint>
// <checkpoint>", from NotifyServiceStatusChangeW (no polling: a STOP_PENDING that lasts
// microseconds is still reported). Ends at the first STOPPED after another state, or after
// MAX_SECONDS (exit code 2), or on an error (1).
// Win32 + standard C++ only; built with x86_64-w64-mingw32-g++ -municode.
#include <windows.h>

#include <cstdio>
#include <cwchar>

namespace {

SERVICE_NOTIFYW g_notify{};
bool g_fired = false;
DWORD g_start = 0;

void CALLBACK onChange(void* param) {
  const auto* notify = static_cast<SERVICE_NOTIFYW*>(param);
  const SERVICE_STATUS_PROCESS& s = notify->ServiceStatus;
  std::printf("%lu %lu %lu %lu %lu\n", GetTickCount() - g_start, s.dwCurrentState,
              s.dwWin32ExitCode, s.dwWaitHint, s.dwCheckPoint);
  std::fflush(stdout);
  g_fired = true;
}

DWORD maskOf(DWORD state) {  // SERVICE_NOTIFY_STOPPED is 1 for SERVICE_STOPPED (1), and so on
  return state >= SERVICE_STOPPED && state <= SERVICE_PAUSED ? 1u << (state - 1) : 0;
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: svc_watch.exe NAME MAX_SECONDS\n");
    return 64;
  }
  const DWORD limit_ms = std::wcstoul(argv[2], nullptr, 10) * 1000;
  SC_HANDLE scm = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
  SC_HANDLE service = scm ? OpenServiceW(scm, argv[1], SERVICE_QUERY_STATUS) : nullptr;
  if (service == nullptr) {
    std::printf("open: %lu\n", GetLastError());
    return 1;
  }
  constexpr DWORD kAll = SERVICE_NOTIFY_STOPPED | SERVICE_NOTIFY_START_PENDING |
                         SERVICE_NOTIFY_STOP_PENDING | SERVICE_NOTIFY_RUNNING |
                         SERVICE_NOTIFY_CONTINUE_PENDING | SERVICE_NOTIFY_PAUSE_PENDING |
                         SERVICE_NOTIFY_PAUSED;
  g_start = GetTickCount();
  DWORD last = 0;  // no state seen yet: the first registration reports the current one at once
  bool left_stopped = false;
  int rc = 2;
  for (;;) {
    g_notify = SERVICE_NOTIFYW{};
    g_notify.dwVersion = SERVICE_NOTIFY_STATUS_CHANGE;
    g_notify.pfnNotifyCallback = onChange;
    g_notify.pContext = &g_notify;
    // Every state but the last one seen: the SCM reports the next change, however short.
    const DWORD err = NotifyServiceStatusChangeW(service, kAll & ~maskOf(last), &g_notify);
    if (err != ERROR_SUCCESS) {
      std::printf("notify: %lu\n", err);
      rc = 1;
      break;
    }
    g_fired = false;
    while (!g_fired) {
      const DWORD elapsed = GetTickCount() - g_start;
      if (elapsed >= limit_ms) {
        break;
      }
      SleepEx(limit_ms - elapsed, TRUE);  // alertable: the callback is an APC on this thread
    }
    if (!g_fired) {
      break;
    }
    last = g_notify.ServiceStatus.dwCurrentState;
    if (last != SERVICE_STOPPED) {
      left_stopped = true;
    } else if (left_stopped) {
      rc = 0;
      break;
    }
  }
  CloseServiceHandle(service);
  CloseServiceHandle(scm);
  return rc;
}
