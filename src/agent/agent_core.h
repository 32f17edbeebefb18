// The agent's decisions as a pure state machine (issue 9): no threads, no I/O, no clock. It is
// driven by `now` and inputs — rounds that finished, restarts that finished, service-manager
// events, dropped monitoring sessions, control requests, reloads — and answers each with
// Effects: what the runtime must do (probe jobs, restart jobs, restarters and watchers to build
// or drop, monitoring sessions to open or close, events, state to persist) and when to wake it
// next. The runtime (agent.h) owns the threads and does the I/O; it never decides.
//
// Every piece of work handed out carries the target's incarnation (a new one each time a name is
// added) and its restart path's generation (a new one each time the restart config changes), so
// an answer that comes back after a reload changed or removed its target is recognised and
// dropped here — the runtime needs no lock-step with reloads.
//
// Single-threaded by design: exactly one thread (the runtime's loop) calls into it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert_event.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/control_result.h"
#include "core/restart_outcome.h"
#include "core/restart_path.h"
#include "core/round_result.h"
#include "core/scheduler.h"
#include "core/state_store.h"
#include "core/status.h"
#include "core/target_supervisor.h"

namespace pgvigil {

using TargetConfigPtr = std::shared_ptr<const TargetConfig>;

/// Run one round on a target and hand the result back with roundFinished().
struct ProbeJob {
  std::string target;
  std::uint64_t incarnation = 0;
  TargetConfigPtr config;  ///< immutable: a reload makes a new one, never edits this
  /// The target is healthy and settled (last round good, no restart, no grace, first round done): a
  /// good answer changes nothing that cannot wait for the loop's next wake (at most the sweep
  /// period), so the runtime need not wake the loop for it. A failed answer always wakes it.
  bool quiet = false;
};

/// Run one restart attempt with the restarter of generation `restarter` of the target, then
/// hand the outcome back with restartFinished().
struct RestartJob {
  std::string target;
  std::uint64_t incarnation = 0;
  std::uint64_t restarter = 0;  ///< generation of the restart path to use
  Millis timeout{0};            ///< restart.timeout when the attempt began
  std::string reason;           ///< "auto" | "manual"
};

/// Build (config set) or drop (config empty) a target's restarter and service watcher. The
/// watcher's events come back through serviceState() with the same generation.
struct RestarterChange {
  std::string target;
  std::uint64_t incarnation = 0;
  std::uint64_t generation = 0;
  std::optional<RestartConfig> config;
};

/// Check, off the loop, whether the restarter of generation `restarter` of the target can work
/// (Restarter::preflight), then hand the answer back with restartPathChecked().
struct PathCheckJob {
  std::string target;
  std::uint64_t incarnation = 0;
  std::uint64_t restarter = 0;  ///< generation of the restart path to check
};

/// Read, off the loop, the recovery progress of a target that answers starting up
/// (probes/recovery_reader.h), then hand the reading back with recoveryRead().
struct RecoveryJob {
  std::string target;
  std::uint64_t incarnation = 0;
  TargetConfigPtr config;  ///< where to read: recovery.*, or pg-restart's PGDATA
};

/// The long-lived monitoring session of a target (ConnectionWatch).
struct MonitorCommand {
  enum class Op {
    kSet,     ///< watch with this config (replaces a previous session)
    kRemove,  ///< stop watching
    kEnsure,  ///< open the session if it is not open (after a good round)
    kClose,   ///< close the session now, do not reopen before kEnsure (a failed round)
  };
  Op op = Op::kSet;
  std::string target;
  TargetConfigPtr config;  ///< with kSet
};

/// What the runtime must do after one or more inputs. Order of execution: restarter changes and
/// monitor commands, then `persist` (saved before the events that announce it), then events, then
/// probe and restart jobs.
struct [[nodiscard]] Effects {
  std::vector<RestarterChange> restarters;
  std::vector<MonitorCommand> monitors;
  bool persist = false;  ///< the restart state changed: save AgentCore::persisted()
  std::vector<AlertEvent> events;
  std::vector<ProbeJob> probes;
  std::vector<RestartJob> restarts;
  std::vector<PathCheckJob> pathChecks;
  std::vector<RecoveryJob> recoveryReads;
  bool statusChanged = false;    ///< something /status shows changed
  bool stateChanged = false;     ///< a displayed state changed: publish at once
  bool firstRoundsDone = false;  ///< every target has finished its first round (READY=1)

  bool empty() const {
    return restarters.empty() && monitors.empty() && !persist && events.empty() && probes.empty() &&
           restarts.empty() && pathChecks.empty() && recoveryReads.empty() && !statusChanged;
  }
};

class AgentCore {
 public:
  struct Options {
    Scheduler::Options scheduler;
    /// Time-driven transitions (pause expiry, grace, backoff) are swept this often.
    Millis sweepPeriod{250};
  };
  /// Scheduler options for `targets` targets: confirmation rounds 50 ms apart, first rounds
  /// spread at about 100 targets a second.
  static Options defaultOptions(std::size_t targets);

  AgentCore(Random01 random, WallTime startedAt, Options options);

  /// The first config, with the restart state saved by an earlier run (may be empty).
  void start(const Config& config, const PersistedState& saved, SteadyTime now, WallTime wall,
             Effects& out);
  /// Time passes: hands out the rounds that are due and sweeps time-driven transitions.
  void tick(SteadyTime now, WallTime wall, Effects& out);
  /// When tick() has something to do next.
  SteadyTime nextWake() const;

  void roundFinished(const ProbeJob& job, const RoundResult& round, SteadyTime now, WallTime wall,
                     Effects& out);
  void restartFinished(const RestartJob& job, const RestartOutcome& outcome, ServiceState service,
                       SteadyTime now, WallTime wall, Effects& out);
  void serviceState(std::string_view target, std::uint64_t generation, ServiceState state,
                    SteadyTime now, WallTime wall, Effects& out);
  /// A preflight check of a restart path is over (restart_path_broken / restart_path_ok).
  void restartPathChecked(const PathCheckJob& job, const RestartPathCheck& check, SteadyTime now,
                          WallTime wall, Effects& out);
  /// A recovery progress reading is back (see TargetSupervisor::onRecoveryProgress).
  void recoveryRead(const RecoveryJob& job, const RecoveryReading& reading, SteadyTime now,
                    WallTime wall, Effects& out);
  /// A monitoring session dropped: a hint, never a verdict — a fresh round confirms it.
  void connectionDropped(std::string_view target, SteadyTime now, Effects& out);
  /// A monitoring session dropped: a hint, never a verdict — a fresh round confirms it. Not
  /// when the server said it ended the session for idleness (57P05, idle_session_timeout): that
  /// server is up, and the session opens again after the next good round.
  void connectionDropped(std::string_view target, std::string_view sqlstate,
                         std::string_view message, SteadyTime now, WallTime wall, Effects& out);
  /// The monitoring session's state changed (opening, open with the timeout it read, closed).
  void monitorSession(std::string_view target, MonitorSessionState state,
                      std::optional<Millis> idleSessionTimeout, std::optional<Millis> keepAlive,
                      WallTime wall, Effects& out);

  ControlResult pause(std::string_view target, std::optional<Millis> duration, SteadyTime now,
                      WallTime wall, Effects& out);
  ControlResult resume(std::string_view target, SteadyTime now, WallTime wall, Effects& out);
  ControlResult restart(std::string_view target, SteadyTime now, WallTime wall, Effects& out);

  /// An already validated config: unchanged targets keep their state, changed ones are
  /// reconfigured (state kept; a restart path changed while a restart runs is swapped when that
  /// restart ends), removed ones dropped, new ones added.
  void reload(const Config& next, SteadyTime now, WallTime wall, Effects& out);

  /// What survives an agent restart (StateStore).
  PersistedState persisted(SteadyTime now, WallTime wall) const;
  /// The picture /status shows, targets in config order. Refreshes every target's status.
  AgentStatus status(SteadyTime now, WallTime wall);

  const Config& config() const { return config_; }
  bool firstRoundsDone() const;
  bool restartRunning(std::string_view target) const;
  std::size_t restartsRunning() const;
  std::optional<std::uint64_t> generationOf(std::string_view target) const;
  const TargetSupervisor* supervisor(std::string_view target) const;

 private:
  struct Slot {
    TargetConfigPtr config;
    TargetSupervisor supervisor;
    std::uint64_t incarnation = 0;
    std::uint64_t generation = 0;                 ///< of the restart path
    std::optional<RestartConfig> pendingRestart;  ///< changed while a restart ran
    bool restartRunning = false;
    bool firstRoundDone = false;
    RestartPathWatch path;
    bool pathCheckRunning = false;
    bool pathCheckAgain = false;  ///< asked for while one ran (new path, reload)
    SteadyTime nextPathCheck = SteadyTime::max();
    bool recoveryReadRunning = false;
    SteadyTime nextRecoveryRead{};
    MonitorSessionStatus session;  ///< /status's monitoring_session
    Slot(TargetConfigPtr c, Random01 random, WallTime startedAt)
        : config(c), supervisor(*c, std::move(random), startedAt) {}
  };

  Slot* find(std::string_view target);
  const Slot* find(std::string_view target) const;
  Slot& add(const TargetConfig& config, SteadyTime now, Effects& out);
  void newRestartPath(const std::string& name, Slot& slot, Effects& out);
  void apply(const std::string& name, Slot& slot, Action action, SteadyTime now, Effects& out);
  /// Hands out a preflight check of the slot's restart path (method none: nothing to check).
  void checkPath(const std::string& name, Slot& slot, Effects& out);
  void notePath(const std::string& name, Slot& slot, const RestartPathCheck& check, SteadyTime now,
                WallTime wall, Effects& out);
  void noteFirstRound(Slot& slot, Effects& out);
  /// Hands out a recovery reading while the target answers starting up, one at a time, every
  /// kRecoveryReadPeriod at most.
  void readRecovery(const std::string& name, Slot& slot, SteadyTime now, Effects& out);

  Random01 random_;
  WallTime startedAt_;
  Options options_;
  Scheduler scheduler_;
  Config config_;
  std::map<std::string, Slot, std::less<>> slots_;
  std::vector<std::string> order_;  ///< config order, for stable output
  std::uint64_t nextIncarnation_ = 1;
  std::uint64_t nextGeneration_ = 1;
  SteadyTime nextSweep_{};
  /// The earliest TargetSupervisor::nextDeadline() known (may be stale-early: one extra sweep).
  SteadyTime nextDeadline_ = SteadyTime::max();
  bool firstRoundsAnnounced_ = false;
};

}  // namespace pgvigil
