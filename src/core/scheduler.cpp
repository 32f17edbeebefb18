#include "core/scheduler.h"

#include <algorithm>
#include <cmath>

namespace pgvigil {

Scheduler::Scheduler(Random01 random) : Scheduler(std::move(random), Options{}) {}

Scheduler::Scheduler(Random01 random, Options options)
    : random_(std::move(random)), options_(options) {
  options_.confirmInterval = std::max(Millis{1}, options_.confirmInterval);
}

Millis Scheduler::sane(Millis interval) {
  return std::max(Millis{1}, interval);
}

Millis Scheduler::confirmInterval(Millis interval) const {
  interval = sane(interval);
  return std::min(interval, options_.confirmInterval);
}

void Scheduler::enqueue(const std::string& id, Entry& e, SteadyTime due) {
  if (e.due) queue_.erase({*e.due, id});
  e.due = due;
  queue_.emplace(due, id);
}

void Scheduler::dequeue(const std::string& id, Entry& e) {
  if (e.due) queue_.erase({*e.due, id});
  e.due.reset();
}

void Scheduler::add(const std::string& id, Millis interval, SteadyTime now) {
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    Entry& e = it->second;
    if (e.removed) {      // re-added while its old round is still running: wait for that round,
      e.removed = false;  // then run one at once (the old round's verdict is about the old config)
      --removedInFlight_;
      e.interval = sane(interval);
      e.runAfterDone = true;
      return;
    }
    update(id, interval, now);
    return;
  }
  Entry& e = entries_[id];
  e.interval = sane(interval);
  double r = random_ ? random_() : 0.0;
  if (!(r >= 0.0)) r = 0.0;
  if (r >= 1.0) r = 0.0;
  Millis spread = e.interval;
  if (options_.maxStartSpread > Millis{0} && options_.maxStartSpread < spread)
    spread = options_.maxStartSpread;
  const auto jitter = std::chrono::duration_cast<SteadyTime::duration>(
      std::chrono::duration<double, std::milli>(r * double(spread.count())));
  enqueue(id, e, now + jitter);
}

bool Scheduler::remove(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.removed) return false;
  Entry& e = it->second;
  dequeue(id, e);
  if (e.inFlight) {
    e.removed = true;
    e.runAfterDone = false;
    ++removedInFlight_;
  } else {
    entries_.erase(it);
  }
  return true;
}

bool Scheduler::update(const std::string& id, Millis interval, SteadyTime now) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.removed) return false;
  Entry& e = it->second;
  e.interval = sane(interval);
  if (e.inFlight) return true;  // done() schedules with the new interval
  SteadyTime due =
      e.started ? std::max(now, *e.started + e.interval) : std::min(*e.due, now + e.interval);
  enqueue(id, e, due);
  return true;
}

std::vector<std::string> Scheduler::tick(SteadyTime now) {
  std::vector<std::string> out;
  while (!queue_.empty() && queue_.begin()->first <= now) {
    auto node = queue_.extract(queue_.begin());
    std::string& id = node.value().second;
    Entry& e = entries_.at(id);
    e.due.reset();
    e.inFlight = true;
    e.started = now;
    ++inFlight_;
    out.push_back(std::move(id));
  }
  return out;
}

bool Scheduler::done(const std::string& id, SteadyTime now, bool confirmSoon) {
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.inFlight) return false;
  Entry& e = it->second;
  e.inFlight = false;
  --inFlight_;
  if (e.removed) {
    --removedInFlight_;
    entries_.erase(it);
    return true;
  }
  SteadyTime due = now;
  if (!e.runAfterDone) {
    const Millis wait = confirmSoon ? confirmInterval(e.interval) : e.interval;
    due = std::max(now, *e.started + wait);
  }
  e.runAfterDone = false;
  enqueue(id, e, due);
  return true;
}

bool Scheduler::runNow(const std::string& id, SteadyTime now) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.removed) return false;
  Entry& e = it->second;
  if (e.inFlight) {
    // The round in flight may have started before whatever prompted this: run one more.
    e.runAfterDone = true;
    return true;
  }
  if (!e.due || *e.due > now) enqueue(id, e, now);
  return true;
}

std::optional<SteadyTime> Scheduler::nextDue() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first;
}

std::optional<SteadyTime> Scheduler::dueOf(const std::string& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.due;
}

bool Scheduler::contains(const std::string& id) const {
  auto it = entries_.find(id);
  return it != entries_.end() && !it->second.removed;
}

bool Scheduler::inFlight(const std::string& id) const {
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.inFlight;
}

std::size_t Scheduler::size() const {
  return entries_.size() - removedInFlight_;
}

}  // namespace pgvigil
