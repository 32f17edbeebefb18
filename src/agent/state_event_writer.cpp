#include "agent/state_event_writer.h"

#include <exception>

#include "core/guarded.h"

namespace pgvigil {

StateEventWriter::StateEventWriter(const StateStore& store, AlertSink& events, AgentLog& log,
                                   std::size_t maxEvents)
    : store_(store), events_(events), log_(log), maxEvents_(maxEvents) {
  thread_ = std::thread([this] { run(); });
}

StateEventWriter::~StateEventWriter() {
  stop();
}

void StateEventWriter::submit(std::optional<PersistedState> state, std::vector<AlertEvent> events) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (state) {
      // One save marker in the queue at a time: it saves the newest state when its turn
      // comes, which covers every change announced by the events queued after it.
      pending_ = std::move(state);
      if (!saveQueued_) {
        queue_.push_back({true, {}});
        saveQueued_ = true;
      }
    }
    for (auto& e : events) {
      if (eventsQueued_ >= maxEvents_) {
        dropped_.fetch_add(1);
        continue;
      }
      ++eventsQueued_;
      queue_.push_back({false, std::move(e)});
    }
  }
  cv_.notify_one();
}

void StateEventWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void StateEventWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and written out
    Entry entry = std::move(queue_.front());
    queue_.pop_front();
    std::optional<PersistedState> state;
    if (entry.save) {
      saveQueued_ = false;
      state = std::move(pending_);
      pending_.reset();
    } else {
      --eventsQueued_;
    }
    lock.unlock();
    if (state) {
      save(*state);
    } else if (!entry.save) {
      try {
        events_.emit(entry.event);
      } catch (...) {
        dropped_.fetch_add(1);
      }
    }
    lock.lock();
  }
}

void StateEventWriter::save(const PersistedState& state) {
  std::string error;
  try {
    error = store_.save(state);
  } catch (...) {
    error = describeException(std::current_exception());
  }
  if (!error.empty()) {
    if (!failing_)
      log_.log(EventLevel::kWarning, "could not save the restart state; watching goes on",
               {{"path", store_.path().string()}, {"error", error}});
    failing_ = true;
  } else if (failing_) {
    failing_ = false;
    log_.log(EventLevel::kInfo, "the restart state is saved again",
             {{"path", store_.path().string()}});
  }
}

}  // namespace pgvigil
