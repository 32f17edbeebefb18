// One event, many sinks (the log output, the in-memory ring, ...). A sink that throws does not
// keep the event from the others.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "core/alert_event.h"

namespace pgvigil {

class FanoutSink final : public AlertSink {
 public:
  FanoutSink() = default;
  explicit FanoutSink(std::vector<std::shared_ptr<AlertSink>> sinks);

  /// Adds a sink; events emitted afterwards reach it. Null is ignored. Thread-safe.
  void add(std::shared_ptr<AlertSink> sink);
  /// Removes a sink (e.g. the old log output after a reload). Thread-safe.
  void remove(const AlertSink* sink);

  /// Hands the event to every sink in the order they were added. Thread-safe; sinks are called
  /// outside the fan-out's lock, so a slow sink never blocks add/remove.
  void emit(const AlertEvent& event) override;

  std::size_t size() const;
  /// Exceptions thrown by sinks and swallowed here.
  std::uint64_t failures() const { return failures_.load(); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const std::vector<std::shared_ptr<AlertSink>>> sinks_ =
      std::make_shared<const std::vector<std::shared_ptr<AlertSink>>>();
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace pgvigil
