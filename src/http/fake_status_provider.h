// A StatusProvider for tests and the HTTP bench: holds an AgentStatus and events set by the test,
// records control calls, and answers them with configurable results. Thread-safe.
#pragma once

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "http/status_provider.h"

namespace pgvigil {

class FakeStatusProvider final : public StatusProvider {
 public:
  struct Call {
    std::string op;  ///< "pause", "resume", "restart", "reload"
    std::string target;
    std::optional<Millis> duration;
  };

  void setStatus(AgentStatus status) {
    std::lock_guard lock(mutex_);
    status_ = std::move(status);
  }
  /// Events in the order the provider returns them: newest first.
  void setEvents(std::vector<AlertEvent> events) {
    std::lock_guard lock(mutex_);
    events_ = std::move(events);
  }
  void setControlResult(ControlResult result) {
    std::lock_guard lock(mutex_);
    result_ = std::move(result);
  }
  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  int snapshots() const {
    std::lock_guard lock(mutex_);
    return snapshots_;
  }

  std::shared_ptr<const AgentStatus> snapshot() const override {
    std::lock_guard lock(mutex_);
    ++snapshots_;
    return std::make_shared<const AgentStatus>(status_);
  }
  std::vector<AlertEvent> recentEvents(std::size_t limit) const override {
    std::lock_guard lock(mutex_);
    auto n = std::min(limit, events_.size());
    return {events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(n)};
  }
  ControlResult pause(std::string_view target, std::optional<Millis> duration) override {
    return record({"pause", std::string(target), duration});
  }
  ControlResult resume(std::string_view target) override {
    return record({"resume", std::string(target), std::nullopt});
  }
  ControlResult restart(std::string_view target) override {
    return record({"restart", std::string(target), std::nullopt});
  }
  ControlResult reload() override { return record({"reload", "", std::nullopt}); }

 private:
  ControlResult record(Call call) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
    if (!calls_.back().target.empty() && result_.code == ControlResult::Code::kOk) {
      bool known =
          std::any_of(status_.targets.begin(), status_.targets.end(),
                      [&](const TargetStatus& t) { return t.name == calls_.back().target; });
      if (!known) return ControlResult::notFound("no target named " + calls_.back().target);
    }
    return result_;
  }

  mutable std::mutex mutex_;
  AgentStatus status_;
  std::vector<AlertEvent> events_;
  ControlResult result_ = ControlResult::ok();
  std::vector<Call> calls_;
  mutable int snapshots_ = 0;
};

}  // namespace pgvigil
