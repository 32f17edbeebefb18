#include "events/event_ring.h"

#include <algorithm>

namespace pgvigil {

EventRing::EventRing(std::size_t capacity) : slots_(std::max<std::size_t>(capacity, 1)) {}

void EventRing::emit(const AlertEvent& event) {
  AlertEvent copy = redactor_.apply(event);
  std::lock_guard lock(mutex_);
  slots_[next_] = std::move(copy);
  next_ = (next_ + 1) % slots_.size();
  size_ = std::min(size_ + 1, slots_.size());
  ++total_;
}

std::vector<AlertEvent> EventRing::recent(std::size_t limit) const {
  std::lock_guard lock(mutex_);
  std::size_t n = std::min(limit, size_);
  std::vector<AlertEvent> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t idx = (next_ + slots_.size() - 1 - i) % slots_.size();
    out.push_back(slots_[idx]);
  }
  return out;
}

std::size_t EventRing::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

std::uint64_t EventRing::totalEmitted() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace pgvigil
