#include "agent/serial_executor.h"

#include <exception>

#include "core/guarded.h"

namespace pgvigil {

SerialExecutor::SerialExecutor(AgentLog& log, std::string name)
    : log_(log), name_(std::move(name)) {
  thread_ = std::thread([this] { run(); });
}

SerialExecutor::~SerialExecutor() {
  stop();
}

void SerialExecutor::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

void SerialExecutor::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void SerialExecutor::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    auto fn = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      fn();
    } catch (...) {
      log_.log(EventLevel::kError, "internal error in the agent's " + name_ + " thread",
               {{"error", describeException(std::current_exception())}});
    }
    lock.lock();
  }
}

}  // namespace pgvigil
