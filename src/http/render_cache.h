// One rendering per published snapshot: the agent publishes an immutable AgentStatus at most
// about once a second (at once on a change of state), and /health, /status and /metrics are
// pure functions of it. So the first reader of a new snapshot renders it, and every other reader
// of the same snapshot copies the cached bytes. At 1,000 targets /status is a 2 MB document; a
// scraper and a dashboard polling it no longer render it each time, and no reader waits for a
// writer: the lock only guards swapping two shared pointers (rendering happens outside it; two
// readers that miss at once both render, and either result is right).
#pragma once

#include <memory>
#include <mutex>
#include <utility>

#include "core/status.h"

namespace pgvigil {

template <typename Rendered>
class RenderCache {
 public:
  /// The rendering of `snapshot` by `render`, computed once per snapshot.
  template <typename Render>
  std::shared_ptr<const Rendered> get(const std::shared_ptr<const AgentStatus>& snapshot,
                                      Render&& render) const {
    {
      std::lock_guard lock(mutex_);
      // Holding the key keeps its address from being reused by a later snapshot.
      if (key_ == snapshot && value_) return value_;
    }
    auto value = std::make_shared<const Rendered>(std::forward<Render>(render)(*snapshot));
    std::lock_guard lock(mutex_);
    key_ = snapshot;
    value_ = value;
    return value;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const AgentStatus> key_;
  mutable std::shared_ptr<const Rendered> value_;
};

}  // namespace pgvigil
