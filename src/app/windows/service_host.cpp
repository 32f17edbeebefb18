#include "app/windows/service_host.h"

#include <atomic>
#include <exception>
#include <mutex>

namespace pgvigil {
namespace {

class Host final : public ServiceSession {
 public:
  explicit Host(ServiceHostOptions options)
      : options_(std::move(options)), stop_(CreateEventW(nullptr, TRUE, FALSE, nullptr)) {}
  ~Host() override {
    if (stop_) CloseHandle(stop_);
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  int exitCode() const { return exitCode_; }
  bool registered() const { return registered_.load(); }

  void serviceMain(DWORD argc, LPWSTR* argv) {
    // Own-process services: argv[0] is the service's name as the SCM knows it.
    const wchar_t* name = argc > 0 && argv && argv[0] ? argv[0] : L"";
    handle_ = RegisterServiceCtrlHandlerExW(name, &Host::handler, this);
    if (!handle_) {
      exitCode_ = -1;  // the SCM cannot be told anything; it times the start out itself
      return;
    }
    registered_ = true;
    report(SERVICE_START_PENDING, options_.start_wait_hint_ms);
    int code = 0;
    if (!stop_) {
      code = static_cast<int>(GetLastError());
    } else {
      try {
        code = options_.body ? options_.body(*this) : 0;
      } catch (const std::exception&) {
        code = 70;  // EX_SOFTWARE, as the run loop's own internal error
      } catch (...) {
        code = 70;
      }
    }
    exitCode_ = code;
    registered_ = false;
    // Last: after STOPPED the SCM may end the process at any time.
    std::lock_guard lock(mutex_);
    reportLocked(SERVICE_STOPPED, 0, code);
  }

  void progress(DWORD waitHintMs) override {
    std::lock_guard lock(mutex_);
    if (state_ == SERVICE_START_PENDING || state_ == SERVICE_STOP_PENDING)
      reportLocked(state_, waitHintMs);
  }
  void running() override {
    std::lock_guard lock(mutex_);
    if (state_ == SERVICE_START_PENDING) reportLocked(SERVICE_RUNNING, 0);
  }
  void stopping(DWORD waitHintMs) override {
    std::lock_guard lock(mutex_);
    if (state_ != SERVICE_STOPPED) reportLocked(SERVICE_STOP_PENDING, waitHintMs);
  }
  bool stopRequested() const override {
    return stop_ && WaitForSingleObject(stop_, 0) == WAIT_OBJECT_0;
  }
  bool waitForStop(DWORD timeoutMs) override {
    return stop_ && WaitForSingleObject(stop_, timeoutMs) == WAIT_OBJECT_0;
  }

 private:
  static DWORD WINAPI handler(DWORD control, DWORD, LPVOID, LPVOID context) {
    return static_cast<Host*>(context)->control(control);
  }

  DWORD control(DWORD control) {
    const char* why = nullptr;
    switch (control) {
      case SERVICE_CONTROL_STOP:
        why = "service stop";
        break;
      case SERVICE_CONTROL_SHUTDOWN:
        why = "system shutdown";
        break;
      case SERVICE_CONTROL_PRESHUTDOWN:
        why = "system preshutdown";
        break;
      case SERVICE_CONTROL_PARAMCHANGE:
        if (options_.on_paramchange) options_.on_paramchange();
        return NO_ERROR;
      case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
      default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
    stopping(options_.stop_wait_hint_ms);
    if (stop_) SetEvent(stop_);
    if (options_.on_stop) options_.on_stop(why);
    return NO_ERROR;
  }

  void report(DWORD state, DWORD waitHintMs) {
    std::lock_guard lock(mutex_);
    reportLocked(state, waitHintMs);
  }

  void reportLocked(DWORD state, DWORD waitHintMs, int exitCode = 0) {
    if (state_ != state) checkPoint_ = 0;
    state_ = state;
    SERVICE_STATUS status{};
    status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    status.dwCurrentState = state;
    // Controls only while RUNNING: the SCM refuses them in the pending states anyway.
    status.dwControlsAccepted = state == SERVICE_RUNNING
                                    ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
                                          SERVICE_ACCEPT_PRESHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE
                                    : 0;
    if (state == SERVICE_STOPPED && exitCode != 0) {
      status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
      status.dwServiceSpecificExitCode = static_cast<DWORD>(exitCode);
    } else {
      status.dwWin32ExitCode = NO_ERROR;
    }
    const bool pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
    status.dwCheckPoint = pending ? ++checkPoint_ : 0;
    status.dwWaitHint = pending ? waitHintMs : 0;
    SetServiceStatus(handle_, &status);
  }

  ServiceHostOptions options_;
  HANDLE stop_;
  SERVICE_STATUS_HANDLE handle_ = nullptr;
  std::mutex mutex_;
  DWORD state_ = SERVICE_STOPPED;
  DWORD checkPoint_ = 0;
  int exitCode_ = 0;
  std::atomic<bool> registered_{false};
};

std::atomic<Host*> g_host{nullptr};

void WINAPI serviceMain(DWORD argc, LPWSTR* argv) {
  if (Host* host = g_host.load()) host->serviceMain(argc, argv);
}

}  // namespace

int runServiceHost(ServiceHostOptions options, DWORD* error) {
  Host host(std::move(options));
  g_host = &host;
  wchar_t empty[] = L"";  // ignored for SERVICE_WIN32_OWN_PROCESS
  SERVICE_TABLE_ENTRYW table[] = {{empty, serviceMain}, {nullptr, nullptr}};
  const BOOL ok = StartServiceCtrlDispatcherW(table);
  const DWORD lastError = ok ? NO_ERROR : GetLastError();
  g_host = nullptr;
  if (!ok) {
    if (error) *error = lastError;
    return -1;
  }
  if (error) *error = NO_ERROR;
  return host.exitCode();
}

ServiceSession* currentServiceSession() {
  Host* host = g_host.load();
  return host && host->registered() ? host : nullptr;
}

}  // namespace pgvigil
