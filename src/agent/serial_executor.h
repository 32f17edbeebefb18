// One thread that runs closures in the order they were posted: the agent's service thread
// (service watchers started and stopped, monitoring-session commands), where a join or a D-Bus
// call may take its time without holding up the loop. Every closure is guarded: a throw is
// reported to the agent's log as an internal error and the thread goes on.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "events/agent_log.h"

namespace pgvigil {

class SerialExecutor {
 public:
  /// `name` says which thread in the log line of an internal error ("service").
  SerialExecutor(AgentLog& log, std::string name);
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  /// Queues `fn` (dropped once stopping).
  void post(std::function<void()> fn);
  /// Runs what is queued, then ends the thread.
  void stop();

 private:
  void run();

  AgentLog& log_;
  std::string name_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgvigil
