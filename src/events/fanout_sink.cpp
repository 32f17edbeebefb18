#include "events/fanout_sink.h"

#include <algorithm>
#include <exception>

namespace pgvigil {

using SinkList = std::vector<std::shared_ptr<AlertSink>>;

FanoutSink::FanoutSink(std::vector<std::shared_ptr<AlertSink>> sinks) {
  std::erase(sinks, nullptr);
  sinks_ = std::make_shared<const SinkList>(std::move(sinks));
}

void FanoutSink::add(std::shared_ptr<AlertSink> sink) {
  if (!sink) return;
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<SinkList>(*sinks_);
  next->push_back(std::move(sink));
  sinks_ = std::move(next);
}

void FanoutSink::remove(const AlertSink* sink) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<SinkList>(*sinks_);
  std::erase_if(*next, [sink](const std::shared_ptr<AlertSink>& s) { return s.get() == sink; });
  sinks_ = std::move(next);
}

void FanoutSink::emit(const AlertEvent& event) {
  std::shared_ptr<const SinkList> sinks;
  {
    std::lock_guard lock(mutex_);
    sinks = sinks_;
  }
  for (const auto& sink : *sinks) {
    try {
      sink->emit(event);
    } catch (const std::exception&) {
      failures_.fetch_add(1);
    } catch (...) {
      failures_.fetch_add(1);
    }
  }
}

std::size_t FanoutSink::size() const {
  std::lock_guard lock(mutex_);
  return sinks_->size();
}

}  // namespace pgvigil
