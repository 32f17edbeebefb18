// The agent's runtime: the threads and the I/O around the pure AgentCore (agent_core.h), which
// makes every decision. Nothing here decides anything; nothing that blocks runs where a reader
// or the loop waits for it.
//
// Threads (dnsdist/Envoy style: each owns its data, they talk through queues):
// - the loop: the only thread that touches the AgentCore. It drains a mailbox of inputs (rounds,
//   restart outcomes, watcher events, dropped sessions, control requests, reloads), asks the core,
//   hands the effects to the threads below, publishes an immutable AgentStatus, and kicks the
//   systemd watchdog. It never does I/O, so the kick and /livez reflect only its own health.
// - `workers` probe threads: run rounds (bounded by the target's timeout).
// - one thread per restart in flight (rare, bounded by restart.timeout).
// - the service thread: builds and stops service watchers (stop joins their threads) and drives
//   the monitoring sessions (ConnectionWatch); it may block, nobody waits for it.
// - the checks thread: preflight checks of the restart paths (docker ping, D-Bus and polkit,
//   stat of the command), bounded; nobody waits for it either.
// - the writer: saves the restart state, then emits the events that announce it, in order. A
//   stalled disk delays events, never /health; events waiting for it are bounded.
// - ConnectionWatch's poll thread and each watcher's own thread.
// Readers (/health, /status, /metrics, /livez) copy a shared_ptr to the last published snapshot
// under a mutex held for nanoseconds; they never wait for the loop, a round or an output.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "agent/agent_core.h"
#include "agent/serial_executor.h"
#include "agent/state_event_writer.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/round_result.h"
#include "core/state_store.h"
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
  /// Called from the loop thread on every pass (the systemd watchdog kick).
  std::function<void(SteadyTime)> on_tick;
  /// Lines the log output dropped (AsyncSink::dropped); shown as a metric.
  std::function<std::uint64_t()> log_dropped;
  /// Events waiting for the state file beyond this are dropped and counted.
  std::size_t max_queued_events = 10'000;
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
  /// Stops every thread; waits for rounds (bounded by their timeouts) and restarts in flight,
  /// saves the state and writes out the events.
  void stop();
  /// True once every target has finished one round (or the timeout passed): READY=1.
  bool waitFirstRounds(std::chrono::milliseconds timeout);
  /// The loop thread died of an internal error: the agent must exit non-zero.
  bool failed() const { return failed_.load(); }

  /// Applies a new, already validated config (see AgentCore::reload); returns once the loop
  /// has taken it.
  void applyConfig(const Config& next);
  Config config() const;

  /// Set by the app: reread the config file and apply it (what SIGHUP and POST /reload do).
  void setReloadHandler(std::function<ControlResult()> handler) {
    reloadHandler_ = std::move(handler);
  }

  // StatusProvider
  std::shared_ptr<const AgentStatus> snapshot() const override;
  std::vector<AlertEvent> recentEvents(std::size_t limit) const override;
  ControlResult pause(std::string_view target, std::optional<Millis> duration) override;
  ControlResult resume(std::string_view target) override;
  ControlResult restart(std::string_view target) override;
  ControlResult reload() override;

  void setEventSource(std::function<std::vector<AlertEvent>(std::size_t)> recent) {
    recentEvents_ = std::move(recent);
  }
  /// Emits an agent-wide event (agent_started, config_loaded, ...), in order with the others.
  /// `numbers`: the keys of `fields` that are counts (JSON numbers).
  void emitAgentEvent(std::string_view name, EventLevel level, std::string msg,
                      std::vector<std::pair<std::string, std::string>> fields = {},
                      std::vector<std::string> numbers = {});

 private:
  struct RoundDone {
    ProbeJob job;
    RoundResult round;
  };
  struct RestartDone {
    RestartJob job;
    RestartOutcome outcome;
    ServiceState service = ServiceState::kUnknown;
  };
  struct ServiceEvent {
    std::string target;
    std::uint64_t generation = 0;
    ServiceState state = ServiceState::kUnknown;
  };
  struct Dropped {
    std::string target;
    std::string sqlstate;
    std::string message;
  };
  struct SessionReport {
    std::string target;
    MonitorSessionState state = MonitorSessionState::kClosed;
    std::optional<Millis> idle_session_timeout;
    std::optional<Millis> keepalive_every;
  };
  struct PathChecked {
    PathCheckJob job;
    RestartPathCheck check;
  };
  struct RecoveryDone {
    RecoveryJob job;
    RecoveryReading reading;
  };
  struct Control {
    enum class Kind { kPause, kResume, kRestart } kind = Kind::kPause;
    std::string target;
    std::optional<Millis> duration;
    std::shared_ptr<std::promise<ControlResult>> reply;
  };
  struct Reload {
    Config config;
    std::shared_ptr<std::promise<void>> done;
  };
  struct Stop {};
  using Input = std::variant<RoundDone, RestartDone, ServiceEvent, Dropped, SessionReport,
                             PathChecked, RecoveryDone, Control, Reload, Stop>;

  void post(Input input, bool wake = true);
  void loop();
  bool handle(Input& input, SteadyTime now, WallTime wall, Effects& fx);
  void execute(Effects& fx, SteadyTime now, WallTime wall);
  void publish(SteadyTime now, WallTime wall);
  void worker();
  void startRestart(const RestartJob& job);
  void joinFinishedRestarts();
  ControlResult control(Control request);

  AgentCore core_;  ///< touched by the loop thread only (and by stop() once the loop is joined)
  Config initialConfig_;
  AlertSink& events_;
  AgentLog& log_;
  AgentOptions options_;
  const Clock& clock_;
  WallTime startedAt_;
  StateStore store_;

  // mailbox
  std::mutex mailboxMutex_;
  std::condition_variable mailboxCv_;
  std::vector<Input> mailbox_;
  /// Inputs in mailbox_ that need the loop now; a quiet good round waits for the next wake.
  std::size_t urgent_ = 0;

  // probe jobs
  std::mutex jobsMutex_;
  std::condition_variable jobsCv_;
  std::deque<ProbeJob> jobs_;
  bool jobsStopping_ = false;
  std::vector<std::thread> workers_;

  // restarts (loop thread only)
  struct RestarterSlot {
    std::uint64_t generation = 0;
    std::shared_ptr<Restarter> restarter;
  };
  std::map<std::string, RestarterSlot, std::less<>> restarters_;
  struct RestartThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<RestartThread> restartThreads_;

  // service thread: watchers (owned by it) and the monitoring sessions
  struct WatcherSlot {
    std::uint64_t generation = 0;
    ServiceWatcherPtr watcher;
  };
  std::map<std::string, WatcherSlot> watchers_;  ///< service thread only
  std::unique_ptr<ConnectionWatch> connectionWatch_;
  std::unique_ptr<SerialExecutor> service_;
  /// Preflight checks of restart paths (Restarter::preflight), one at a time, each bounded by
  /// kPreflightTimeout: a slow Docker daemon or D-Bus delays only the next check.
  std::unique_ptr<SerialExecutor> checks_;
  /// Recovery progress readings (small local files and /proc), one at a time: a slow disk
  /// delays only the next reading.
  std::unique_ptr<SerialExecutor> recovery_;
  std::unique_ptr<StateEventWriter> writer_;

  // published state
  mutable std::mutex publishedMutex_;
  std::shared_ptr<const AgentStatus> published_;
  std::shared_ptr<const Config> config_;  ///< the config the loop runs, for config()
  SteadyTime lastPublish_{};
  /// Targets whose monitoring session should be opened (ensure), handed to the service thread
  /// together every kEnsurePeriod. Loop thread only.
  std::set<std::string> pendingEnsures_;
  SteadyTime lastEnsureFlush_{};

  std::mutex firstMutex_;
  std::condition_variable firstCv_;
  bool firstRoundsDone_ = false;

  std::atomic<std::int64_t> lastTickNs_{0};
  std::atomic<bool> running_{false};
  std::atomic<bool> failed_{false};
  bool started_ = false;
  bool stopped_ = false;
  std::thread loopThread_;
  std::function<ControlResult()> reloadHandler_;
  std::function<std::vector<AlertEvent>(std::size_t)> recentEvents_;
};

}  // namespace pgvigil
