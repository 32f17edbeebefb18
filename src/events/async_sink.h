// Puts a queue between the agent and a log output that may block (a stdout pipe nobody reads, a
// stalled log daemon, a slow disk): emit() and log() only enqueue, one thread writes. The queue
// is bounded; what does not fit is dropped and counted, and once the output takes lines again a
// warning line says how many were lost (issue 9: a stalled log must never stall /health or the
// watchdog kick). flush() and the destructor write out what is queued, bounded by a deadline,
// so nothing is lost at an orderly exit.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "core/alert_event.h"
#include "events/agent_log.h"

namespace pgvigil {

class AsyncSink final : public AlertSink, public AgentLog {
 public:
  static constexpr std::size_t kDefaultBound = 10'000;

  /// `events` and `log` are usually the same LogSink; both must outlive this object.
  AsyncSink(AlertSink& events, AgentLog& log, std::size_t bound = kDefaultBound);
  ~AsyncSink() override;
  AsyncSink(const AsyncSink&) = delete;
  AsyncSink& operator=(const AsyncSink&) = delete;

  void emit(const AlertEvent& event) override;
  void log(EventLevel level, std::string_view msg, const EventFields& fields) override;

  /// Waits until the queue is written out, at most `timeout`; false when it was not.
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Lines dropped because the queue was full, since start.
  std::uint64_t dropped() const { return dropped_.load(); }
  std::size_t queued() const;

 private:
  struct Item {
    bool isEvent = true;
    AlertEvent event;  ///< for a log line: level, msg and fields
  };
  void push(Item item);
  void run();

  AlertSink& events_;
  AgentLog& log_;
  const std::size_t bound_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable idleCv_;
  std::deque<Item> queue_;
  bool writing_ = false;
  bool stopping_ = false;
  std::uint64_t droppedUnreported_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace pgvigil
