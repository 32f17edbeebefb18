// How `pgvigil run` is asked to stop or reload, per platform (src/app/posix, src/app/windows):
//  * POSIX: SIGTERM, SIGINT, SIGQUIT stop, SIGHUP reloads; blocked in every thread and taken by
//    the run loop with sigtimedwait, so no work happens inside a signal handler.
//  * Windows: Ctrl+C, Ctrl+Break and closing the console stop (SetConsoleCtrlHandler); as a
//    service, the SCM's STOP, SHUTDOWN and PRESHUTDOWN stop and PARAMCHANGE reloads (the service
//    host calls requestAgentStop / requestAgentReload). `pgvigil reload`-style reloads go through
//    the HTTP control endpoint on every platform.
#pragma once

#include <chrono>
#include <string>

namespace pgvigil {

enum class AgentRequest { kNone, kStop, kReload };

struct AgentSignal {
  AgentRequest request = AgentRequest::kNone;
  std::string name;  ///< what asked, for the agent_stopping event: "SIGTERM", "service stop", ...
};

/// Call once, before any thread starts. POSIX: blocks the agent's signals in the calling thread
/// (every later thread inherits the mask; children reset it) and ignores SIGPIPE. Windows:
/// installs the console control handler.
void prepareAgentSignals();

/// Waits up to `timeout` for a stop or reload request; kNone when none came.
AgentSignal waitAgentSignal(std::chrono::milliseconds timeout);

/// Asks the run loop to stop (`name` says who asked) or to reload. Thread-safe; callable from a
/// console or service control handler. POSIX: raises SIGTERM / SIGHUP at the process.
void requestAgentStop(const std::string& name);
void requestAgentReload();

}  // namespace pgvigil
