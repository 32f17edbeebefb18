// ScmServiceWatcher (scm_watcher.h): NotifyServiceStatusChangeW in an alertable wait, each status
// folded by ScmStopRule. The loop is tests/windows/svc_watch.cpp's (winpg), which recorded
// pg_ctl's statuses under Wine; tested against Wine's real SCM by scm_driver.exe (wine_scm).
#include "restart/windows/scm_watcher.h"

#include <windows.h>

#include <atomic>
#include <exception>
#include <utility>

#include "restart/windows/scm_win32.h"

namespace pgvigil {

namespace {

constexpr DWORD kEveryState = SERVICE_NOTIFY_STOPPED | SERVICE_NOTIFY_START_PENDING |
                              SERVICE_NOTIFY_STOP_PENDING | SERVICE_NOTIFY_RUNNING |
                              SERVICE_NOTIFY_CONTINUE_PENDING | SERVICE_NOTIFY_PAUSE_PENDING |
                              SERVICE_NOTIFY_PAUSED;
/// ERROR_SERVICE_NOTIFY_CLIENT_LAGGING (winerror.h), missing from mingw-w64's headers.
constexpr DWORD kNotifyClientLagging = 1294;
constexpr auto kStopTimeout = std::chrono::seconds(5);
constexpr DWORD kReopenPauseMs = 200;  ///< a reopen that keeps failing does not spin

DWORD maskOf(DWORD state) {  // SERVICE_NOTIFY_STOPPED (1) for SERVICE_STOPPED (1), and so on
  return state >= SERVICE_STOPPED && state <= SERVICE_PAUSED ? 1u << (state - 1) : 0;
}

struct HandleCloser {
  void operator()(HANDLE h) const {
    if (h != nullptr) ::CloseHandle(h);
  }
};

}  // namespace

struct ScmServiceWatcher::Shared {
  std::string service;
  std::chrono::milliseconds retry;
  ScmStopRule rule;
  std::function<void(ServiceState)> on_change;
  ErrorReporter report;
  std::unique_ptr<void, HandleCloser> stop_event;
  std::atomic<bool> stopping{false};
  std::atomic<bool> subscribed{false};
  bool have_baseline = false;
  ServiceState last_reported = ServiceState::kUnknown;
  SERVICE_NOTIFYW notify{};  ///< must outlive any APC queued for it: lives as long as the thread
  bool fired = false;

  enum class Next { kRetry, kReopen, kStop };

  void fail(const std::string& what) {
    if (!report) return;
    try {
      report("service watcher (" + service + "): " + what);
    } catch (...) {
    }
  }

  void deliver(ServiceState state) {
    if (!have_baseline) {
      have_baseline = true;
      last_reported = state;
      subscribed = true;
      return;
    }
    if (state == last_reported || stopping) return;
    last_reported = state;
    if (!on_change) return;
    try {
      on_change(state);
    } catch (const std::exception& e) {
      fail(std::string("onChange threw: ") + e.what());
    } catch (...) {
      fail("onChange threw");
    }
  }

  static void CALLBACK onNotify(void* param) {
    auto* n = static_cast<SERVICE_NOTIFYW*>(param);
    static_cast<Shared*>(n->pContext)->fired = true;
  }

  /// Waits alertably for the stop event up to ms; true if stopping.
  bool pause(DWORD ms) {
    const ULONGLONG until = ::GetTickCount64() + ms;
    for (;;) {
      if (stopping) return true;
      const ULONGLONG now = ::GetTickCount64();
      if (now >= until) return false;
      DWORD r = ::WaitForSingleObjectEx(stop_event.get(), static_cast<DWORD>(until - now), TRUE);
      if (r == WAIT_OBJECT_0) return true;
      if (r == WAIT_FAILED) return stopping.load();
    }
  }

  /// One open service: arm, wait, fold, until an error or stop().
  Next watchOnce() {
    ScHandle scm(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
    if (!scm) {
      fail("cannot reach the service manager: " + win32Message(::GetLastError()));
      return Next::kRetry;  // what was seen stays; the next status decides
    }
    ScHandle svc(::OpenServiceW(scm.get(), toWide(service).c_str(), SERVICE_QUERY_STATUS));
    if (!svc) {
      const DWORD err = ::GetLastError();
      if (err == ERROR_SERVICE_DOES_NOT_EXIST || err == ERROR_SERVICE_MARKED_FOR_DELETE) {
        deliver(rule.onGone());
      } else {
        fail("OpenServiceW: " + win32Message(err));
      }
      return Next::kRetry;
    }
    DWORD last =
        0;  // nothing seen on this handle: the first registration reports the current state
    for (;;) {
      notify = SERVICE_NOTIFYW{};
      notify.dwVersion = SERVICE_NOTIFY_STATUS_CHANGE;
      notify.pfnNotifyCallback = &Shared::onNotify;
      notify.pContext = this;
      fired = false;
      const DWORD err =
          ::NotifyServiceStatusChangeW(svc.get(), kEveryState & ~maskOf(last), &notify);
      if (err == ERROR_SERVICE_MARKED_FOR_DELETE) {
        deliver(rule.onGone());
        return Next::kReopen;
      }
      if (err == kNotifyClientLagging) return Next::kReopen;
      if (err != ERROR_SUCCESS) {
        fail("NotifyServiceStatusChangeW: " + win32Message(err));
        return Next::kRetry;
      }
      while (!fired) {
        const DWORD r = ::WaitForSingleObjectEx(stop_event.get(), INFINITE, TRUE);
        if (r == WAIT_OBJECT_0 || stopping) return Next::kStop;  // closing svc cancels the notify
        if (r == WAIT_FAILED) {
          fail("WaitForSingleObjectEx: " + win32Message(::GetLastError()));
          return Next::kRetry;
        }
      }
      if (notify.dwNotificationStatus == ERROR_SERVICE_MARKED_FOR_DELETE) {
        deliver(rule.onGone());
        return Next::kReopen;
      }
      if (notify.dwNotificationStatus == kNotifyClientLagging) return Next::kReopen;
      if (notify.dwNotificationStatus != ERROR_SUCCESS) {
        fail("notification: " + win32Message(notify.dwNotificationStatus));
        return Next::kRetry;
      }
      const SERVICE_STATUS_PROCESS& s = notify.ServiceStatus;
      ScmStatus status;
      status.state = s.dwCurrentState;
      status.win32_exit_code = s.dwWin32ExitCode;
      status.service_exit_code = s.dwServiceSpecificExitCode;
      status.check_point = s.dwCheckPoint;
      status.wait_hint_ms = s.dwWaitHint;
      status.process_id = s.dwProcessId;
      deliver(rule.onStatus(status));
      last = s.dwCurrentState;
    }
  }

  void run() {
    while (!stopping) {
      Next next = Next::kRetry;
      try {
        next = watchOnce();
      } catch (const std::exception& e) {
        fail(e.what());
      } catch (...) {
        fail("unknown exception");
      }
      if (next == Next::kStop) break;
      const DWORD wait = next == Next::kReopen ? kReopenPauseMs : static_cast<DWORD>(retry.count());
      if (pause(wait)) break;
    }
  }
};

ScmServiceWatcher::ScmServiceWatcher(std::string service, std::chrono::milliseconds retry_interval,
                                     std::uint32_t stop_wait_hint_ms)
    : shared_(std::make_shared<Shared>()) {
  shared_->service = std::move(service);
  shared_->retry = retry_interval;
  shared_->rule = ScmStopRule(stop_wait_hint_ms);
  shared_->stop_event.reset(::CreateEventW(nullptr, TRUE, FALSE, nullptr));
}

ScmServiceWatcher::~ScmServiceWatcher() {
  stop();
}

bool ScmServiceWatcher::subscribed() const {
  return shared_->subscribed.load();
}

void ScmServiceWatcher::start(std::function<void(ServiceState)> onChange) {
  if (thread_.joinable()) return;
  shared_->on_change = std::move(onChange);
  shared_->report = report_;
  if (!shared_->stop_event) {
    shared_->fail("CreateEventW: " + win32Message(::GetLastError()) + "; not watching");
    return;
  }
  std::promise<void> finished;
  done_ = finished.get_future();
  thread_ = std::thread([shared = shared_, finished = std::move(finished)]() mutable {
    shared->run();
    finished.set_value();
  });
}

void ScmServiceWatcher::stop() {
  if (!thread_.joinable()) return;
  shared_->stopping = true;
  ::SetEvent(shared_->stop_event.get());
  if (done_.wait_for(kStopTimeout) == std::future_status::ready) {
    thread_.join();
  } else {
    // Stuck in an SCM call: the thread owns its state (shared_), so it may end later.
    shared_->fail("the watcher thread did not end within 5 s; left to end on its own");
    thread_.detach();
  }
}

}  // namespace pgvigil
