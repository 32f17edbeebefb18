// The agent's writer thread: the state file, then the events, in order ("state saved before the
// event that announces it"), off the loop so that a slow disk or a blocked log output never
// stalls it. Saves coalesce (the newest state covers the older ones); events wait for the save
// queued before them, up to a bound, and what does not fit is dropped and counted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/alert_event.h"
#include "core/state_store.h"
#include "events/agent_log.h"

namespace pgvigil {

class StateEventWriter {
 public:
  StateEventWriter(const StateStore& store, AlertSink& events, AgentLog& log,
                   std::size_t maxEvents);
  ~StateEventWriter();
  StateEventWriter(const StateEventWriter&) = delete;
  StateEventWriter& operator=(const StateEventWriter&) = delete;

  /// Queues a save of `state` (if any), then `events`. Never blocks on the disk or the sink.
  void submit(std::optional<PersistedState> state, std::vector<AlertEvent> events);
  /// Writes out what is queued, then ends the thread.
  void stop();
  /// Events that did not fit under the bound, or that the sink refused.
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  struct Entry {
    bool save = false;
    AlertEvent event;
  };
  void run();
  void save(const PersistedState& state);

  const StateStore& store_;
  AlertSink& events_;
  AgentLog& log_;
  const std::size_t maxEvents_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Entry> queue_;
  std::optional<PersistedState> pending_;
  bool saveQueued_ = false;
  std::size_t eventsQueued_ = 0;
  bool stopping_ = false;
  bool failing_ = false;  ///< writer thread only
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace pgvigil
