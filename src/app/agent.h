// The agent: pgvigil's main loop (SPEC.md §3). It owns no policy of its own — the pure core
// decides (Scheduler: when; TargetSupervisor: what it means and whether to restart) — and does
// the I/O around it: runs rounds on a small worker pool, restarts through the Restarter, watches
// monitoring connections and service managers so a crash is seen at once, saves the restart
// state, and answers the HTTP endpoint from memory (StatusProvider).
//
// Threads: one loop thread (scheduler ticks, timers, watchdog), `workers` probe threads (a round
// is bounded by its target's timeout, so hundreds of targets need no thread each), one thread per
// restart in flight (rare, bounded by restart.timeout), one thread polling every monitoring
// connection, and one per service watcher (docker, systemd). One mutex guards the targets.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/round_result.h"
#include "core/scheduler.h"
#include "core/state_store.h"
#include "core/target_supervisor.h"
#include "events/agent_log.h"
#include "http/status_provider.h"
#include "restart/restarter.h"

namespace pgvigil {

class ConnectionWatch;

struct AgentOptions {
  const Clock* clock = &SystemClock::instance();
  /// One round on one target; runRound() of the probes layer by default.
  std::function<RoundResult(const TargetConfig&, const Clock&)> prober;
  std::function<RestarterPtr(const RestartConfig&, const Clock&)> restarterFactory;
  std::function<ServiceWatcherPtr(const RestartConfig&)> watcherFactory;
  /// Keep a monitoring connection per target and probe at once when it drops.
  bool watch_connections = true;
  std::size_t workers = 0;  ///< probe threads; 0: between 2 and 16, by the number of targets
  Random01 random;          ///< start-up jitter and backoff jitter; a seeded PRNG by default
  /// Called from the loop thread on every tick (the systemd watchdog kick).
  std::function<void(SteadyTime)> on_tick;
  std::string version;
};

class Agent final : public StatusProvider {
 public:
  Agent(Config config, AlertSink& events, AgentLog& log, AgentOptions options = {});
  ~Agent() override;
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  /// Restores the saved restart state and starts every thread.
  void start();
  /// Stops every thread; waits for rounds (bounded by their timeouts) and restarts in flight.
  void stop();
  /// True once every target has finished one round (or the timeout passed): READY=1.
  bool waitFirstRounds(std::chrono::milliseconds timeout);

  /// Applies a new, already validated config: unchanged targets keep their state, changed ones
  /// are reconfigured (state kept), removed ones dropped, new ones added.
  void applyConfig(const Config& next);
  const Config& config() const { return config_; }

  /// Set by the app: reread the config file and apply it (what SIGHUP and POST /reload do).
  void setReloadHandler(std::function<ControlResult()> handler) { reloadHandler_ = std::move(handler); }

  // StatusProvider
  AgentStatus snapshot() const override;
  std::vector<AlertEvent> recentEvents(std::size_t limit) const override;
  ControlResult pause(std::string_view target, std::optional<Millis> duration) override;
  ControlResult resume(std::string_view target) override;
  ControlResult restart(std::string_view target) override;
  ControlResult reload() override;

  void setEventSource(std::function<std::vector<AlertEvent>(std::size_t)> recent) {
    recentEvents_ = std::move(recent);
  }
  /// Emits an agent-wide event (agent_started, config_loaded, ...).
  void emitAgentEvent(std::string_view name, EventLevel level, std::string msg,
                      std::vector<std::pair<std::string, std::string>> fields = {});

 private:
  struct Target {
    TargetConfig config;
    TargetSupervisor supervisor;
    RestarterPtr restarter;
    ServiceWatcherPtr watcher;
    bool restart_running = false;
    bool first_round_done = false;
    bool removed = false;
    Target(const TargetConfig& c, Random01 random, WallTime startedAt)
        : config(c), supervisor(c, std::move(random), startedAt) {}
  };
  using TargetPtr = std::shared_ptr<Target>;

  void loop();
  void worker();
  void runRoundFor(const std::string& name);
  void runRestartFor(TargetPtr target);
  void joinFinishedRestarts();
  void handle(const TargetPtr& target, Action action, std::unique_lock<std::mutex>& lock);
  void addTarget(const TargetConfig& config, SteadyTime now);
  void startWatcher(const TargetPtr& target);
  void saveState();
  void connectionDropped(const std::string& name);
  TargetPtr find(std::string_view name) const;
  void wakeLoop();  ///< mutex_ held

  Config config_;
  AlertSink& events_;
  AgentLog& log_;
  AgentOptions options_;
  const Clock& clock_;
  WallTime startedAt_;
  StateStore store_;

  mutable std::mutex mutex_;
  std::condition_variable loopCv_;
  std::condition_variable workCv_;
  std::condition_variable firstRoundCv_;
  std::map<std::string, TargetPtr, std::less<>> targets_;
  std::vector<std::string> order_;  ///< config order, for stable output
  Scheduler scheduler_;
  std::deque<std::string> jobs_;
  bool stopping_ = false;
  bool loopWake_ = false;  ///< set by wakeLoop(): the loop re-reads the schedule at once
  SteadyTime nextSweep_{};  ///< next supervisor onTick sweep over all targets
  SteadyTime loopWakeAt_{};  ///< when the sleeping loop wakes by itself
  bool started_ = false;
  std::atomic<std::int64_t> lastTickNs_{0};

  std::thread loopThread_;
  std::vector<std::thread> workers_;
  struct RestartThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<RestartThread> restartThreads_;  ///< finished ones are joined by the loop
  std::unique_ptr<ConnectionWatch> connectionWatch_;
  std::function<ControlResult()> reloadHandler_;
  std::function<std::vector<AlertEvent>(std::size_t)> recentEvents_;
};

}  // namespace pgvigil
