// A sink for tests of other layers: records every event (and every agent_log diagnostic) so a
// test can assert what was emitted, how often and in which order. Thread-safe; waitFor() lets
// a test that drives real threads wait for an event without sleeping blindly.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert_event.h"
#include "events/agent_log.h"

namespace pgvigil {

class RecordingSink final : public AlertSink, public AgentLog {
 public:
  void emit(const AlertEvent& event) override {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(event);
    }
    changed_.notify_all();
  }

  /// Diagnostics are kept apart from events, as the real sinks keep them out of the ring.
  void log(EventLevel level, std::string_view msg, const EventFields& fields) override {
    {
      std::lock_guard lock(mutex_);
      logs_.push_back(makeAgentLogEvent(level, msg, fields, {}));
    }
    changed_.notify_all();
  }

  /// Every event so far, oldest first.
  std::vector<AlertEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  /// The event names so far, oldest first.
  std::vector<std::string> names() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    out.reserve(events_.size());
    for (const auto& e : events_) out.push_back(e.event);
    return out;
  }
  /// How many events named `name` (every event when name is empty).
  std::size_t count(std::string_view name = {}) const {
    std::lock_guard lock(mutex_);
    if (name.empty()) return events_.size();
    std::size_t n = 0;
    for (const auto& e : events_) n += e.event == name ? 1 : 0;
    return n;
  }
  /// The most recent event; throws std::out_of_range when there is none.
  AlertEvent last() const {
    std::lock_guard lock(mutex_);
    if (events_.empty()) throw std::out_of_range("RecordingSink: no event recorded");
    return events_.back();
  }
  /// Diagnostics (as agent_log events, ts left at the epoch), oldest first.
  std::vector<AlertEvent> logs() const {
    std::lock_guard lock(mutex_);
    return logs_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    events_.clear();
    logs_.clear();
  }

  /// Waits until at least `n` events named `name` (any name when empty) were recorded, or the
  /// timeout passed. Returns whether they were. For tests that drive real threads.
  template <class Rep, class Period>
  bool waitFor(std::string_view name, std::size_t n, std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      std::size_t seen = 0;
      for (const auto& e : events_) seen += (name.empty() || e.event == name) ? 1 : 0;
      return seen >= n;
    });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<AlertEvent> events_;
  std::vector<AlertEvent> logs_;
};

}  // namespace pgvigil
