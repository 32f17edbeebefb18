#include "app/agent_signals.h"

#include <signal.h>
#include <unistd.h>

#include <ctime>

namespace pgvigil {
namespace {

sigset_t agentSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGQUIT);
  return set;
}

}  // namespace

void prepareAgentSignals() {
  sigset_t set = agentSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

AgentSignal waitAgentSignal(std::chrono::milliseconds timeout) {
  sigset_t set = agentSignals();
  timespec ts{static_cast<time_t>(timeout.count() / 1000),
              static_cast<long>((timeout.count() % 1000) * 1'000'000)};
  const int sig = sigtimedwait(&set, nullptr, &ts);
  switch (sig) {
    case SIGHUP:
      return {AgentRequest::kReload, "SIGHUP"};
    case SIGINT:
      return {AgentRequest::kStop, "SIGINT"};
    case SIGTERM:
      return {AgentRequest::kStop, "SIGTERM"};
    case SIGQUIT:
      return {AgentRequest::kStop, "SIGQUIT"};
    default:
      return {};
  }
}

void requestAgentStop(const std::string&) {
  kill(getpid(), SIGTERM);
}

void requestAgentReload() {
  kill(getpid(), SIGHUP);
}

}  // namespace pgvigil
