// The most recent events in memory, for GET /events (docs/reference.md §4): a bounded ring that an
// AlertSink fan-out feeds and the HTTP layer reads, newest first.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/alert_event.h"
#include "events/redactor.h"

namespace pgvigil {

class EventRing final : public AlertSink {
 public:
  static constexpr std::size_t kDefaultCapacity = 1000;

  /// capacity 0 is taken as 1.
  explicit EventRing(std::size_t capacity = kDefaultCapacity);

  /// Stores a (redacted) copy; when full, the oldest event is dropped. Thread-safe.
  void emit(const AlertEvent& event) override;

  /// At most `limit` events, newest first. Thread-safe.
  std::vector<AlertEvent> recent(std::size_t limit) const;

  std::size_t size() const;
  std::size_t capacity() const { return slots_.size(); }
  /// Events ever emitted, including those the ring has since dropped.
  std::uint64_t totalEmitted() const;

  /// Secrets to mask in what the ring stores (and so in every /events answer).
  void setSecrets(std::vector<std::string> secrets) { redactor_.setSecrets(std::move(secrets)); }

 private:
  Redactor redactor_;
  mutable std::mutex mutex_;
  std::vector<AlertEvent> slots_;
  std::size_t next_ = 0;  ///< slot the next event goes to
  std::size_t size_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace pgvigil
