#include "events/async_sink.h"

#include <exception>
#include <string>

namespace pgvigil {

AsyncSink::AsyncSink(AlertSink& events, AgentLog& log, std::size_t bound)
    : events_(events), log_(log), bound_(bound == 0 ? 1 : bound) {
  thread_ = std::thread([this] { run(); });
}

AsyncSink::~AsyncSink() {
  flush();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  // A writer stuck in the output for good must not keep the process from exiting: after the
  // flush deadline it is left behind (the process is ending anyway).
  if (thread_.joinable()) {
    std::unique_lock lock(mutex_);
    if (!writing_ && queue_.empty()) {
      lock.unlock();
      thread_.join();
    } else {
      lock.unlock();
      thread_.detach();
    }
  }
}

void AsyncSink::push(Item item) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (queue_.size() >= bound_) {
      ++droppedUnreported_;
      dropped_.fetch_add(1);
      return;
    }
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

void AsyncSink::emit(const AlertEvent& event) {
  push({true, event});
}

void AsyncSink::log(EventLevel level, std::string_view msg, const EventFields& fields) {
  Item item;
  item.isEvent = false;
  item.event.level = level;
  item.event.msg = std::string(msg);
  item.event.fields = fields;
  push(std::move(item));
}

std::size_t AsyncSink::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool AsyncSink::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idleCv_.wait_for(lock, timeout, [this] { return queue_.empty() && !writing_; });
}

void AsyncSink::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    Item item = std::move(queue_.front());
    queue_.pop_front();
    const std::uint64_t lost = droppedUnreported_;
    // The output took the last line: say what was lost before the next one.
    const bool reportLoss = lost > 0;
    if (reportLoss) droppedUnreported_ = 0;
    writing_ = true;
    lock.unlock();
    try {
      if (reportLoss)
        log_.log(EventLevel::kWarning, "log lines were dropped while the log output was blocked",
                 {{"dropped", std::to_string(lost)}});
      if (item.isEvent)
        events_.emit(item.event);
      else
        log_.log(item.event.level, item.event.msg, item.event.fields);
    } catch (const std::exception&) {
      // The output's own error handling failed; the line is lost, never the agent.
      dropped_.fetch_add(1);
    } catch (...) {
      dropped_.fetch_add(1);
    }
    lock.lock();
    writing_ = false;
    if (queue_.empty()) idleCv_.notify_all();
  }
}

}  // namespace pgvigil
