#include "app/agent_signals.h"

#include <windows.h>

#include <mutex>

namespace pgvigil {
namespace {

struct Requests {
  HANDLE stop = CreateEventW(nullptr, TRUE, FALSE, nullptr);     // manual reset: stays set
  HANDLE reload = CreateEventW(nullptr, FALSE, FALSE, nullptr);  // auto reset: one per request
  std::mutex mutex;
  std::string stopName;
};

Requests& requests() {
  static Requests r;  // never destroyed before the handlers that use it are gone: process-wide
  return r;
}

BOOL WINAPI consoleHandler(DWORD type) {
  switch (type) {
    case CTRL_C_EVENT:
      requestAgentStop("Ctrl+C");
      return TRUE;
    case CTRL_BREAK_EVENT:
      requestAgentStop("Ctrl+Break");
      return TRUE;
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      requestAgentStop(type == CTRL_CLOSE_EVENT ? "console closed" : "system shutdown");
      // Windows ends the process when this handler returns (and at the latest about 5 s after
      // the event): keep it alive for the clean stop; main() returning ends it earlier.
      Sleep(4500);
      return TRUE;
    default:
      return FALSE;  // CTRL_LOGOFF_EVENT: another user's logoff is no reason to stop
  }
}

}  // namespace

void prepareAgentSignals() {
  (void)requests();
  SetConsoleCtrlHandler(consoleHandler, TRUE);
}

AgentSignal waitAgentSignal(std::chrono::milliseconds timeout) {
  Requests& r = requests();
  HANDLE handles[] = {r.stop, r.reload};
  const DWORD rc = WaitForMultipleObjects(2, handles, FALSE, static_cast<DWORD>(timeout.count()));
  if (rc == WAIT_OBJECT_0) {
    std::lock_guard lock(r.mutex);
    return {AgentRequest::kStop, r.stopName};
  }
  if (rc == WAIT_OBJECT_0 + 1) return {AgentRequest::kReload, "reload request"};
  if (rc == WAIT_FAILED) Sleep(static_cast<DWORD>(timeout.count()));  // never spin
  return {};
}

void requestAgentStop(const std::string& name) {
  Requests& r = requests();
  {
    std::lock_guard lock(r.mutex);
    if (r.stopName.empty()) r.stopName = name;  // the first reason wins
  }
  SetEvent(r.stop);
}

void requestAgentReload() {
  SetEvent(requests().reload);
}

}  // namespace pgvigil
