#include "app/agent.h"

#include <algorithm>
#include <random>

#include "app/connection_watch.h"
#include "probes/round_runner.h"

namespace pgvigil {
namespace {

Random01 defaultRandom() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  auto mutex = std::make_shared<std::mutex>();
  return [engine, mutex] {
    std::lock_guard lock(*mutex);
    return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
  };
}

std::size_t workerCount(std::size_t requested, std::size_t targets) {
  if (requested > 0) return requested;
  return std::clamp<std::size_t>(targets, 2, 16);
}

/// Confirmation rounds come 50 ms apart at any interval (a refused connection costs
/// microseconds, a hung one already took `timeout`), so that a crash is confirmed over
/// unhealthy_after rounds in a fraction of a second; the first rounds after start are spread at
/// about 100 targets a second, so a long interval does not delay the first verdict.
Scheduler::Options schedulerOptions(std::size_t targets) {
  Scheduler::Options o;
  o.confirmInterval = std::chrono::milliseconds(50);
  o.maxStartSpread = std::max<Millis>(std::chrono::seconds(1), std::chrono::milliseconds(10 * targets));
  return o;
}

/// The loop sweeps every target's time-driven transitions this often, and never sleeps longer.
constexpr auto kSweepPeriod = std::chrono::milliseconds(250);
constexpr auto kLivezStale = std::chrono::seconds(5);

}  // namespace

Agent::Agent(Config config, AlertSink& events, AgentLog& log, AgentOptions options)
    : config_(std::move(config)),
      events_(events),
      log_(log),
      options_(std::move(options)),
      clock_(*options_.clock),
      startedAt_(clock_.wallNow()),
      store_(StateStore::pathFor(config_.agent.state_dir)),
      scheduler_(options_.random ? options_.random : (options_.random = defaultRandom()),
                 schedulerOptions(config_.targets.size())) {
  if (!options_.prober) options_.prober = [](const TargetConfig& t, const Clock& c) { return runRound(t, c); };
  if (!options_.restarterFactory)
    options_.restarterFactory = [](const RestartConfig& r, const Clock& c) { return makeRestarter(r, c); };
  if (!options_.watcherFactory)
    options_.watcherFactory = [](const RestartConfig& r) { return makeServiceWatcher(r); };
}

Agent::~Agent() { stop(); }

void Agent::start() {
  std::unique_lock lock(mutex_);
  if (started_) return;
  started_ = true;
  if (options_.watch_connections)
    connectionWatch_ = std::make_unique<ConnectionWatch>(
        clock_, [this](const std::string& name) { connectionDropped(name); },
        [this](const std::string& what) { log_.log(EventLevel::kError, what, {}); });

  auto loaded = store_.load();
  if (!loaded.error.empty())
    log_.log(EventLevel::kWarning, "restart state file was unreadable and was set aside",
             {{"path", store_.path().string()}, {"error", loaded.error}});

  const SteadyTime now = clock_.now();
  for (const auto& t : config_.targets) {
    addTarget(t, now);
    auto it = loaded.state.targets.find(t.name);
    if (it != loaded.state.targets.end()) {
      auto target = targets_.at(t.name);
      handle(target, target->supervisor.restore(it->second, now, clock_.wallNow()), lock);
    }
  }
  lastTickNs_ = now.time_since_epoch().count();
  loopThread_ = std::thread([this] { loop(); });
  for (std::size_t i = 0; i < workerCount(options_.workers, config_.targets.size()); ++i)
    workers_.emplace_back([this] { worker(); });
}

void Agent::stop() {
  std::vector<RestartThread> restarts;
  {
    std::lock_guard lock(mutex_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    restarts.swap(restartThreads_);  // no new ones start once stopping_ is set
  }
  loopCv_.notify_all();
  workCv_.notify_all();
  firstRoundCv_.notify_all();
  if (loopThread_.joinable()) loopThread_.join();
  for (auto& w : workers_) w.join();
  workers_.clear();
  // A restart in flight is let finish (it is bounded by restart.timeout): abandoning it halfway
  // could leave PostgreSQL stopped.
  for (auto& r : restarts) r.thread.join();
  if (connectionWatch_) connectionWatch_->stop();
  for (auto& [name, target] : targets_)
    if (target->watcher) target->watcher->stop();
  saveState();
}

bool Agent::waitFirstRounds(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return firstRoundCv_.wait_for(lock, timeout, [this] {
    if (stopping_) return true;
    return std::all_of(targets_.begin(), targets_.end(),
                       [](const auto& kv) { return kv.second->first_round_done; });
  });
}

void Agent::addTarget(const TargetConfig& config, SteadyTime now) {
  auto target = std::make_shared<Target>(config, options_.random, startedAt_);
  target->restarter = options_.restarterFactory(config.restart, clock_);
  targets_[config.name] = target;
  order_.push_back(config.name);
  scheduler_.add(config.name, config.interval, now);
  startWatcher(target);
  if (connectionWatch_) connectionWatch_->set(config);
}

void Agent::startWatcher(const TargetPtr& target) {
  target->watcher = options_.watcherFactory(target->config.restart);
  if (!target->watcher) return;
  std::weak_ptr<Target> weak = target;
  target->watcher->start([this, weak](ServiceState state) {
    auto t = weak.lock();
    if (!t) return;
    std::unique_lock lock(mutex_);
    if (stopping_ || t->removed) return;
    handle(t, t->supervisor.onServiceState(state, clock_.now(), clock_.wallNow()), lock);
  });
}

Agent::TargetPtr Agent::find(std::string_view name) const {
  auto it = targets_.find(name);
  return it == targets_.end() ? nullptr : it->second;
}

void Agent::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const SteadyTime now = clock_.now();
    const WallTime wall = clock_.wallNow();
    lastTickNs_ = now.time_since_epoch().count();
    // One worker per job: notify_all would wake all of them for every round (a thundering
    // herd that cost more than the rounds with 1,000 targets).
    for (auto& name : scheduler_.tick(now)) {
      jobs_.push_back(std::move(name));
      workCv_.notify_one();
    }
    // Time-driven transitions (backoff, grace, pause expiry) need no finer grain than the
    // sweep period; sweeping on every wake would cost O(targets) per finished round.
    if (now >= nextSweep_) {
      nextSweep_ = now + kSweepPeriod;
      for (auto& [name, target] : targets_) handle(target, target->supervisor.onTick(now, wall), lock);
    }
    joinFinishedRestarts();
    if (options_.on_tick) options_.on_tick(now);
    auto wakeAt = nextSweep_;
    if (auto due = scheduler_.nextDue(); due && *due < wakeAt) wakeAt = *due;
    loopWakeAt_ = wakeAt;
    // Woken early by wakeLoop() (a round finished, a crash hint, a restart done): the schedule
    // changed, so look again at once instead of sleeping to the old wake time.
    loopCv_.wait_until(lock, wakeAt, [this] { return stopping_ || loopWake_; });
    loopWake_ = false;
  }
}

void Agent::wakeLoop() {
  loopWake_ = true;  // mutex_ held by the caller
  loopCv_.notify_all();
}

void Agent::worker() {
  std::unique_lock lock(mutex_);
  while (true) {
    workCv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    std::string name = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    runRoundFor(name);
    lock.lock();
  }
}

void Agent::runRoundFor(const std::string& name) {
  TargetPtr target;
  TargetConfig config;
  {
    std::lock_guard lock(mutex_);
    target = find(name);
    if (!target) {
      scheduler_.done(name, clock_.now());
      return;
    }
    config = target->config;
  }
  RoundResult round = options_.prober(config, clock_);
  // Never delay a shutdown (SPEC.md §8): a failed round (shutting_down on a smart shutdown,
  // refused, timeout, ...) closes the monitoring session at once, so that it cannot hold the
  // server; it reopens after the next good round (ensure() below). connectionWatch_ is set
  // before the workers start and outlives them: no lock needed.
  if (!round.ok() && connectionWatch_) connectionWatch_->close(name);

  std::unique_lock lock(mutex_);
  const SteadyTime now = clock_.now();
  if (target->removed || stopping_) {
    scheduler_.done(name, now);
    return;
  }
  Action action = target->supervisor.onRound(round, now, clock_.wallNow());
  scheduler_.done(name, now, action.confirmSoon);
  if (round.ok() && connectionWatch_) connectionWatch_->ensure(name);
  handle(target, std::move(action), lock);
  if (!target->first_round_done) {
    target->first_round_done = true;
    firstRoundCv_.notify_all();
  }
  // Wake the loop only when this round moved the schedule before its planned wake (a
  // confirmation round, a round that overran): at 1,000 targets, 100 rounds end every second.
  if (auto due = scheduler_.dueOf(name); due && *due < loopWakeAt_) wakeLoop();
}

void Agent::handle(const TargetPtr& target, Action action, std::unique_lock<std::mutex>& lock) {
  (void)lock;  // held by the caller
  // State first, events after: once an event says a restart was made, the budget and backoff
  // that it used are on disk, even if the agent is killed the next instant.
  if (action.persist) saveState();
  for (const auto& e : action.events) events_.emit(e);
  if (action.probeNow) {
    scheduler_.runNow(target->config.name, clock_.now());
    wakeLoop();
  }
  if (action.restart && !target->restart_running && !stopping_) {
    target->restart_running = true;
    auto done = std::make_shared<std::atomic<bool>>(false);
    restartThreads_.push_back({std::thread([this, target, done] {
                                 runRestartFor(target);
                                 *done = true;
                               }),
                               done});
  }
}

void Agent::joinFinishedRestarts() {
  for (auto it = restartThreads_.begin(); it != restartThreads_.end();) {
    if (*it->done) {
      it->thread.join();
      it = restartThreads_.erase(it);
    } else {
      ++it;
    }
  }
}

void Agent::runRestartFor(TargetPtr target) {
  RestartOutcome outcome;
  ServiceState service = ServiceState::kUnknown;
  Restarter* restarter = target->restarter.get();
  if (!restarter) {
    outcome.result = RestartOutcome::Result::kFailed;
    outcome.detail = "restart method none";
  } else {
    const Deadline deadline(clock_, target->config.restart.timeout);
    outcome = restarter->restart(deadline);
    service = restarter->query(Deadline(clock_, std::chrono::seconds(5)));
  }
  std::unique_lock lock(mutex_);
  target->restart_running = false;
  if (target->removed) return;
  handle(target, target->supervisor.onRestartFinished(outcome, service, clock_.now(), clock_.wallNow()), lock);
  // Confirm at once: the first good round ends the grace.
  scheduler_.runNow(target->config.name, clock_.now());
  wakeLoop();
}

void Agent::connectionDropped(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (stopping_ || !find(name)) return;
  // A dropped monitoring connection is a hint, never a verdict: a fresh round confirms it.
  scheduler_.runNow(name, clock_.now());
  wakeLoop();
}

void Agent::saveState() {
  PersistedState state;
  const SteadyTime now = clock_.now();
  const WallTime wall = clock_.wallNow();
  for (const auto& [name, target] : targets_) state.targets[name] = target->supervisor.persisted(now, wall);
  if (auto error = store_.save(state); !error.empty())
    log_.log(EventLevel::kWarning, "could not save the restart state",
             {{"path", store_.path().string()}, {"error", error}});
}

void Agent::applyConfig(const Config& next) {
  std::unique_lock lock(mutex_);
  const SteadyTime now = clock_.now();
  std::map<std::string, const TargetConfig*> wanted;
  for (const auto& t : next.targets) wanted[t.name] = &t;

  for (auto it = targets_.begin(); it != targets_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    it->second->removed = true;
    if (it->second->watcher) it->second->watcher->stop();
    if (connectionWatch_) connectionWatch_->remove(it->first);
    scheduler_.remove(it->first);
    it = targets_.erase(it);
  }
  order_.clear();
  for (const auto& t : next.targets) {
    auto existing = find(t.name);
    if (!existing) {
      addTarget(t, now);
      order_.pop_back();
    } else if (!(existing->config == t)) {
      const bool restartChanged = !(existing->config.restart.method == t.restart.method &&
                                    existing->config.restart.unit == t.restart.unit &&
                                    existing->config.restart.container == t.restart.container &&
                                    existing->config.restart.service == t.restart.service &&
                                    existing->config.restart.docker_host == t.restart.docker_host &&
                                    existing->config.restart.command == t.restart.command);
      const bool conninfoChanged = existing->config.conninfo != t.conninfo ||
                                   existing->config.application_name != t.application_name;
      existing->config = t;
      existing->supervisor.reconfigure(t);
      scheduler_.update(t.name, t.interval, now);
      if (restartChanged && !existing->restart_running) {
        if (existing->watcher) existing->watcher->stop();
        existing->restarter = options_.restarterFactory(t.restart, clock_);
        startWatcher(existing);
      }
      if (conninfoChanged && connectionWatch_) connectionWatch_->set(t);
    }
    order_.push_back(t.name);
  }
  config_ = next;
  wakeLoop();
}

AgentStatus Agent::snapshot() const {
  AgentStatus s;
  s.version = options_.version;
  std::lock_guard lock(mutex_);
  s.config_path = config_.path;
  s.started_at = startedAt_;
  const SteadyTime now = clock_.now();
  s.now = clock_.wallNow();
  const auto lastTick = SteadyTime(SteadyTime::duration(lastTickNs_.load()));
  s.ticking = started_ && !stopping_ && now - lastTick < kLivezStale;
  for (const auto& name : order_) {
    auto target = find(name);
    if (target) s.targets.push_back(target->supervisor.status(now, s.now));
  }
  return s;
}

std::vector<AlertEvent> Agent::recentEvents(std::size_t limit) const {
  return recentEvents_ ? recentEvents_(limit) : std::vector<AlertEvent>{};
}

ControlResult Agent::pause(std::string_view name, std::optional<Millis> duration) {
  std::unique_lock lock(mutex_);
  auto target = find(name);
  if (!target) return ControlResult::notFound("no target named '" + std::string(name) + "'");
  Action a = target->supervisor.pause(duration, clock_.now(), clock_.wallNow());
  if (!a.accepted()) return {ControlResult::Code::kConflict, a.refused};
  handle(target, std::move(a), lock);
  return ControlResult::ok("paused");
}

ControlResult Agent::resume(std::string_view name) {
  std::unique_lock lock(mutex_);
  auto target = find(name);
  if (!target) return ControlResult::notFound("no target named '" + std::string(name) + "'");
  Action a = target->supervisor.resume(clock_.now(), clock_.wallNow());
  if (!a.accepted()) return {ControlResult::Code::kConflict, a.refused};
  handle(target, std::move(a), lock);
  return ControlResult::ok("resumed");
}

ControlResult Agent::restart(std::string_view name) {
  std::unique_lock lock(mutex_);
  auto target = find(name);
  if (!target) return ControlResult::notFound("no target named '" + std::string(name) + "'");
  if (target->restart_running) return {ControlResult::Code::kConflict, "a restart is already running"};
  Action a = target->supervisor.requestRestart(clock_.now(), clock_.wallNow());
  if (!a.accepted()) return {ControlResult::Code::kConflict, a.refused};
  handle(target, std::move(a), lock);
  return ControlResult::accepted("restart requested");
}

ControlResult Agent::reload() {
  if (!reloadHandler_) return {ControlResult::Code::kFailed, "reload is not available"};
  return reloadHandler_();
}

void Agent::emitAgentEvent(std::string_view name, EventLevel level, std::string msg,
                           std::vector<std::pair<std::string, std::string>> fields) {
  AlertEvent e;
  e.ts = clock_.wallNow();
  e.level = level;
  e.event = std::string(name);
  e.msg = std::move(msg);
  e.fields = std::move(fields);
  events_.emit(e);
}

}  // namespace pgvigil
