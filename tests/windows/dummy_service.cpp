// A Windows service for the Wine test (run_wine_test.sh): stands in for PostgreSQL's service.
//   dummy_service.exe NAME [--start-ms N] [--stop-ms N] [--hint-ms N] [--stop-hint-ms N]
//                     [--fail-start] [--hang-stop]
// Reports START_PENDING (checkpoint rising every 100 ms) for --start-ms, then RUNNING; on STOP,
// STOP_PENDING for --stop-ms, then STOPPED with exit code 0. --fail-start: STOPPED with
// ERROR_SERVICE_SPECIFIC_ERROR / 42 instead of RUNNING. --hang-stop: STOP_PENDING forever, the
// checkpoint never moving. Control 200 "crashes" it: the process ends with exit code 3 without
// telling the SCM, as a postmaster killed under PostgreSQL's service would.
// Like pg_ctl's service (pgwin32_ServiceHandler/ServiceMain): --stop-hint-ms N makes the STOP
// handler report STOP_PENDING with wait hint N (pg_ctl: 10000) where it otherwise keeps --hint-ms;
// control 201 is "the postmaster exited by itself": STOP_PENDING with the start's hint left as it
// was, then STOPPED with exit code 0 at once, as pg_ctl reports it.
// Win32 + standard C++ only; built with x86_64-w64-mingw32-g++ -municode.
#include <windows.h>

#include <cwchar>
#include <mutex>
#include <string>

namespace {

constexpr DWORD kControlCrash = 200;
constexpr DWORD kControlPostmasterExit = 201;

struct Options {
  std::wstring name;
  DWORD start_ms = 0;
  DWORD stop_ms = 0;
  DWORD hint_ms = 1000;
  DWORD stop_hint_ms = 0;  ///< 0: the STOP handler keeps hint_ms
  bool fail_start = false;
  bool hang_stop = false;
};

Options g_options;
SERVICE_STATUS_HANDLE g_handle = nullptr;
SERVICE_STATUS g_status{};
std::mutex g_mutex;
HANDLE g_stop = nullptr;
HANDLE g_crash = nullptr;
HANDLE g_exit = nullptr;

DWORD stopHint() {
  return g_options.stop_hint_ms != 0 ? g_options.stop_hint_ms : g_options.hint_ms;
}

void report(DWORD state, DWORD check_point = 0, DWORD hint = 0, DWORD exit_code = NO_ERROR,
            DWORD specific = 0) {
  std::lock_guard lock(g_mutex);
  g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  g_status.dwCurrentState = state;
  g_status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP : 0;
  g_status.dwWin32ExitCode = exit_code;
  g_status.dwServiceSpecificExitCode = specific;
  g_status.dwCheckPoint = check_point;
  g_status.dwWaitHint = hint;
  ::SetServiceStatus(g_handle, &g_status);
}

/// Reports `state` for `ms`, the checkpoint rising every 100 ms.
void pending(DWORD state, DWORD ms, DWORD hint) {
  DWORD check_point = 1;
  for (DWORD elapsed = 0; elapsed < ms; elapsed += 100) {
    report(state, check_point++, hint);
    ::Sleep(100);
  }
}

DWORD WINAPI handler(DWORD control, DWORD, LPVOID, LPVOID) {
  switch (control) {
    case SERVICE_CONTROL_STOP:
      report(SERVICE_STOP_PENDING, 1, stopHint());
      ::SetEvent(g_stop);
      return NO_ERROR;
    case kControlCrash:
      ::SetEvent(g_crash);
      return NO_ERROR;
    case kControlPostmasterExit:
      ::SetEvent(g_exit);
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

void WINAPI serviceMain(DWORD, LPWSTR*) {
  g_handle = ::RegisterServiceCtrlHandlerExW(g_options.name.c_str(), handler, nullptr);
  if (g_handle == nullptr) return;
  report(SERVICE_START_PENDING, 1, g_options.hint_ms);
  pending(SERVICE_START_PENDING, g_options.start_ms, g_options.hint_ms);
  if (g_options.fail_start) {
    report(SERVICE_STOPPED, 0, 0, ERROR_SERVICE_SPECIFIC_ERROR, 42);
    return;
  }
  report(SERVICE_RUNNING);
  HANDLE events[3] = {g_stop, g_crash, g_exit};
  DWORD which = ::WaitForMultipleObjects(3, events, FALSE, INFINITE);
  if (which == WAIT_OBJECT_0 + 1) ::TerminateProcess(::GetCurrentProcess(), 3);
  if (which == WAIT_OBJECT_0 + 2) {
    report(SERVICE_STOP_PENDING, 0, g_options.hint_ms);  // the hint left as it was
    report(SERVICE_STOPPED);
    return;
  }
  if (g_options.hang_stop) {
    for (;;) ::Sleep(1000);  // STOP_PENDING, checkpoint 1, forever; the test terminates it
  }
  pending(SERVICE_STOP_PENDING, g_options.stop_ms, stopHint());
  report(SERVICE_STOPPED);
}

DWORD number(const wchar_t* text) {
  return static_cast<DWORD>(std::wcstoul(text, nullptr, 10));
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  if (argc < 2) return 64;
  g_options.name = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::wstring a = argv[i];
    bool more = i + 1 < argc;
    if (a == L"--start-ms" && more)
      g_options.start_ms = number(argv[++i]);
    else if (a == L"--stop-ms" && more)
      g_options.stop_ms = number(argv[++i]);
    else if (a == L"--hint-ms" && more)
      g_options.hint_ms = number(argv[++i]);
    else if (a == L"--stop-hint-ms" && more)
      g_options.stop_hint_ms = number(argv[++i]);
    else if (a == L"--fail-start")
      g_options.fail_start = true;
    else if (a == L"--hang-stop")
      g_options.hang_stop = true;
    else
      return 64;
  }
  g_stop = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  g_crash = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  g_exit = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  SERVICE_TABLE_ENTRYW table[] = {{g_options.name.data(), serviceMain}, {nullptr, nullptr}};
  return ::StartServiceCtrlDispatcherW(table) ? 0 : static_cast<int>(::GetLastError());
}
