#include "agent/agent_core.h"

#include <algorithm>

#include "core/idle_session.h"

namespace pgvigil {
namespace {

bool sameRestartPath(const RestartConfig& a, const RestartConfig& b) {
  return a.method == b.method && a.unit == b.unit && a.container == b.container &&
         a.service == b.service && a.docker_host == b.docker_host && a.command == b.command;
}

/// How often a starting-up target's recovery progress is read: each reading scans /proc and
/// reads a few small files (or the last 64 KiB of the server log).
Millis recoveryReadPeriod(const TargetConfig& t) {
  return std::max<Millis>(
      std::chrono::milliseconds(250),
      std::min<Millis>({t.interval, t.restart.recovery_grace / 4, std::chrono::seconds(5)}));
}

}  // namespace

AgentCore::Options AgentCore::defaultOptions(std::size_t targets) {
  Options o;
  // Confirmation rounds come 50 ms apart at any interval (a refused connection costs
  // microseconds, a hung one already took `timeout`), so that a crash is confirmed over
  // unhealthy_after rounds in a fraction of a second; the first rounds after start are spread at
  // about 100 targets a second, so a long interval does not delay the first verdict.
  o.scheduler.confirmInterval = std::chrono::milliseconds(50);
  o.scheduler.maxStartSpread =
      std::max<Millis>(std::chrono::seconds(1), std::chrono::milliseconds(10 * targets));
  return o;
}

AgentCore::AgentCore(Random01 random, WallTime startedAt, Options options)
    : random_(std::move(random)),
      startedAt_(startedAt),
      options_(options),
      scheduler_(random_, options_.scheduler) {}

AgentCore::Slot* AgentCore::find(std::string_view target) {
  auto it = slots_.find(target);
  return it == slots_.end() ? nullptr : &it->second;
}

const AgentCore::Slot* AgentCore::find(std::string_view target) const {
  auto it = slots_.find(target);
  return it == slots_.end() ? nullptr : &it->second;
}

const TargetSupervisor* AgentCore::supervisor(std::string_view target) const {
  const Slot* slot = find(target);
  return slot ? &slot->supervisor : nullptr;
}

std::optional<std::uint64_t> AgentCore::generationOf(std::string_view target) const {
  const Slot* slot = find(target);
  if (!slot) return std::nullopt;
  return slot->generation;
}

bool AgentCore::restartRunning(std::string_view target) const {
  const Slot* slot = find(target);
  return slot && slot->restartRunning;
}

std::size_t AgentCore::restartsRunning() const {
  return static_cast<std::size_t>(std::count_if(
      slots_.begin(), slots_.end(), [](const auto& kv) { return kv.second.restartRunning; }));
}

bool AgentCore::firstRoundsDone() const {
  return std::all_of(slots_.begin(), slots_.end(),
                     [](const auto& kv) { return kv.second.firstRoundDone; });
}

void AgentCore::noteFirstRound(Slot& slot, Effects& out) {
  slot.firstRoundDone = true;
  if (!firstRoundsAnnounced_ && firstRoundsDone()) {
    firstRoundsAnnounced_ = true;
    out.firstRoundsDone = true;
  }
}

AgentCore::Slot& AgentCore::add(const TargetConfig& config, SteadyTime now, Effects& out) {
  auto ptr = std::make_shared<const TargetConfig>(config);
  auto [it, inserted] = slots_.try_emplace(config.name, ptr, random_, startedAt_);
  Slot& slot = it->second;
  slot.incarnation = nextIncarnation_++;
  scheduler_.add(config.name, config.interval, now);
  newRestartPath(config.name, slot, out);
  if (config.monitoring_session)
    out.monitors.push_back({MonitorCommand::Op::kSet, config.name, ptr});
  else
    slot.session.state = MonitorSessionState::kOff;
  out.statusChanged = out.stateChanged = true;
  return slot;
}

void AgentCore::newRestartPath(const std::string& name, Slot& slot, Effects& out) {
  slot.generation = nextGeneration_++;
  out.restarters.push_back({name, slot.incarnation, slot.generation, slot.config->restart});
  slot.path.reset();
  checkPath(name, slot, out);
}

void AgentCore::checkPath(const std::string& name, Slot& slot, Effects& out) {
  if (slot.config->restart.method == RestartMethod::kNone) {
    slot.nextPathCheck = SteadyTime::max();
    return;
  }
  if (slot.pathCheckRunning) {
    slot.pathCheckAgain = true;
    return;
  }
  slot.pathCheckRunning = true;
  slot.nextPathCheck = SteadyTime::max();
  out.pathChecks.push_back({name, slot.incarnation, slot.generation});
}

void AgentCore::notePath(const std::string& name, Slot& slot, const RestartPathCheck& check,
                         SteadyTime now, WallTime wall, Effects& out) {
  if (auto event = slot.path.update(name, slot.config->restart.method, check, wall)) {
    out.events.push_back(std::move(*event));
    out.stateChanged = true;
  }
  out.statusChanged = true;
  // A broken path is looked at again soon, so that its repair is announced without a crash.
  if (!slot.pathCheckRunning)
    slot.nextPathCheck = now + (check.ok ? kRestartPathRecheckOk : kRestartPathRecheckBroken);
}

void AgentCore::restartPathChecked(const PathCheckJob& job, const RestartPathCheck& check,
                                   SteadyTime now, WallTime wall, Effects& out) {
  Slot* slot = find(job.target);
  if (!slot || slot->incarnation != job.incarnation) return;
  slot->pathCheckRunning = false;
  if (slot->generation != job.restarter || slot->pathCheckAgain) {
    // About a path a reload replaced, or asked for again while it ran: check (again) now.
    slot->pathCheckAgain = false;
    checkPath(job.target, *slot, out);
    return;
  }
  notePath(job.target, *slot, check, now, wall, out);
}

void AgentCore::start(const Config& config, const PersistedState& saved, SteadyTime now,
                      WallTime wall, Effects& out) {
  config_ = config;
  nextSweep_ = now;
  for (const auto& t : config.targets) {
    Slot& slot = add(t, now, out);
    order_.push_back(t.name);
    if (auto it = saved.targets.find(t.name); it != saved.targets.end())
      apply(t.name, slot, slot.supervisor.restore(it->second, now, wall), now, out);
  }
  if (config.targets.empty()) {
    firstRoundsAnnounced_ = true;
    out.firstRoundsDone = true;
  }
}

void AgentCore::apply(const std::string& name, Slot& slot, Action action, SteadyTime now,
                      Effects& out) {
  // State first, events after: once an event says a restart was made, the budget and backoff
  // that it used are on disk (the runtime saves before it emits).
  if (action.persist) out.persist = true;
  if (!action.events.empty()) {
    out.stateChanged = true;
    for (auto& e : action.events) out.events.push_back(std::move(e));
  }
  if (action.persist || action.restart || action.probeNow || out.stateChanged)
    out.statusChanged = true;
  if (action.probeNow) scheduler_.runNow(name, now);
  // A backoff, grace or hang_after that this action started ends at an instant the loop must
  // wake for: the restart comes at the time the events and /status announce.
  if (auto at = slot.supervisor.nextDeadline(now); at && *at < nextDeadline_) nextDeadline_ = *at;
  if (action.restart && !slot.restartRunning) {
    slot.restartRunning = true;
    out.restarts.push_back(
        {name, slot.incarnation, slot.generation, slot.config->restart.timeout, action.reason});
    out.statusChanged = true;
  }
}

void AgentCore::tick(SteadyTime now, WallTime wall, Effects& out) {
  for (auto& name : scheduler_.tick(now)) {
    Slot* slot = find(name);
    if (!slot) {
      scheduler_.done(name, now);
      continue;
    }
    const auto& sup = slot->supervisor;
    const bool quiet = slot->firstRoundDone && sup.state() == TargetState::kHealthy &&
                       sup.health().consecutiveFailures() == 0 && !sup.restarting() &&
                       !sup.inGrace() && !slot->restartRunning;
    out.probes.push_back({name, slot->incarnation, slot->config, quiet});
  }
  // Time-driven transitions (backoff, grace, pause expiry) need no finer grain than the sweep
  // period; sweeping on every input would cost O(targets) per finished round.
  // A target's own deadline (backoff end, hang_after, grace end, pause end) is met at its
  // instant, not at the next sweep.
  if (now >= nextSweep_ || now >= nextDeadline_) {
    nextSweep_ = now + options_.sweepPeriod;
    nextDeadline_ = SteadyTime::max();
    for (auto& [name, slot] : slots_) {
      apply(name, slot, slot.supervisor.onTick(now, wall), now, out);
      if (now >= slot.nextPathCheck) checkPath(name, slot, out);
      readRecovery(name, slot, now, out);
    }
    for (auto& [name, slot] : slots_)
      if (auto at = slot.supervisor.nextDeadline(now); at && *at < nextDeadline_)
        nextDeadline_ = *at;
  }
}

SteadyTime AgentCore::nextWake() const {
  SteadyTime at = std::min(nextSweep_, nextDeadline_);
  if (auto due = scheduler_.nextDue(); due && *due < at) at = *due;
  return at;
}

void AgentCore::roundFinished(const ProbeJob& job, const RoundResult& round, SteadyTime now,
                              WallTime wall, Effects& out) {
  Slot* slot = find(job.target);
  if (!slot || slot->incarnation != job.incarnation) {
    // Removed (or removed and added again) while the round ran: its verdict is about a config
    // that is gone. The scheduler still needs to hear that the round is over.
    scheduler_.done(job.target, now);
    return;
  }
  Action action = slot->supervisor.onRound(round, now, wall);
  scheduler_.done(job.target, now, action.confirmSoon);
  // The long-lived session is for seeing a crash at once; it must never hold a server that is
  // refusing, shutting down or hung (a smart shutdown waits for every session): closed on the
  // first failed round, opened again only once a round succeeds. Except on a full server
  // (too_many_connections): it is up and not shutting down, and the open session is then the
  // only way to read who holds the slots, so it is kept (a reopen while full is refused like
  // the round's own session).
  const bool keep = round.ok() || round.cause == Cause::kTooManyConnections;
  if (slot->config->monitoring_session)
    out.monitors.push_back(
        {keep ? MonitorCommand::Op::kEnsure : MonitorCommand::Op::kClose, job.target, nullptr});
  out.statusChanged = true;
  apply(job.target, *slot, std::move(action), now, out);
  // The first reading of a recovery is taken at once, so that the restart_deferred announced a
  // round or two later already knows whether progress can be read.
  readRecovery(job.target, *slot, now, out);
  if (!slot->firstRoundDone) noteFirstRound(*slot, out);
}

void AgentCore::restartFinished(const RestartJob& job, const RestartOutcome& outcome,
                                ServiceState service, SteadyTime now, WallTime wall, Effects& out) {
  Slot* slot = find(job.target);
  if (!slot || slot->incarnation != job.incarnation) return;
  slot->restartRunning = false;
  apply(job.target, *slot, slot->supervisor.onRestartFinished(outcome, service, now, wall), now,
        out);
  // The attempt itself says whether the path works: one that never reached the restarter
  // breaks it (restart_path_broken), one that did shows it works. Not for an attempt of a path a
  // reload has replaced meanwhile.
  if (job.restarter == slot->generation) {
    if (restartResultIsPathFailure(outcome.result))
      notePath(job.target, *slot, {false, outcome.detail}, now, wall, out);
    else if (outcome.result != RestartOutcome::Result::kTimedOut)
      notePath(job.target, *slot, {true, {}}, now, wall, out);
  }
  // Confirm at once: the first good round ends the grace.
  scheduler_.runNow(job.target, now);
  out.statusChanged = true;
  // A restart path changed by a reload while this attempt ran takes over now.
  if (slot->pendingRestart) {
    slot->pendingRestart.reset();
    newRestartPath(job.target, *slot, out);
  }
}

void AgentCore::serviceState(std::string_view target, std::uint64_t generation, ServiceState state,
                             SteadyTime now, WallTime wall, Effects& out) {
  Slot* slot = find(target);
  // A watcher of a restart path that a reload replaced may still deliver an event or two.
  if (!slot || slot->generation != generation) return;
  apply(std::string(target), *slot, slot->supervisor.onServiceState(state, now, wall), now, out);
}

void AgentCore::readRecovery(const std::string& name, Slot& slot, SteadyTime now, Effects& out) {
  if (slot.recoveryReadRunning || now < slot.nextRecoveryRead) return;
  if (slot.supervisor.health().state() != TargetState::kStartingUp) return;
  slot.recoveryReadRunning = true;
  slot.nextRecoveryRead = now + recoveryReadPeriod(*slot.config);
  out.recoveryReads.push_back({name, slot.incarnation, slot.config});
}

void AgentCore::recoveryRead(const RecoveryJob& job, const RecoveryReading& reading, SteadyTime now,
                             WallTime wall, Effects& out) {
  Slot* slot = find(job.target);
  if (!slot || slot->incarnation != job.incarnation) return;
  slot->recoveryReadRunning = false;
  // A reading of a place a reload replaced says nothing about the new one.
  if (!(job.config->recovery == slot->config->recovery) ||
      job.config->restart.command != slot->config->restart.command)
    return;
  apply(job.target, *slot, slot->supervisor.onRecoveryProgress(reading, now, wall), now, out);
  out.statusChanged = true;
}

void AgentCore::connectionDropped(std::string_view target, std::string_view sqlstate,
                                  std::string_view message, SteadyTime now, WallTime wall,
                                  Effects& out) {
  Slot* slot = find(target);
  // A session of a target whose session a reload turned off since: nothing to say about it.
  if (!slot || !slot->config->monitoring_session) return;
  MonitorSessionStatus& s = slot->session;
  ++s.drops;
  s.last_drop_at = wall;
  s.last_drop_sqlstate = std::string(sqlstate);
  s.last_drop_message = std::string(message);
  out.statusChanged = true;
  // 57P05: the server ended an idle session (idle_session_timeout, e.g. lowered since the
  // session read it). A server that says so is up: no confirming round. Any other drop — EOF or
  // reset after a kill -9, 57P01 on a fast shutdown or from pg_terminate_backend, 57P02 — may be
  // the server going away, and only a fresh round can tell: it runs now.
  if (sqlstate == kSqlstateIdleSessionTimeout) return;
  scheduler_.runNow(std::string(target), now);
}

void AgentCore::monitorSession(std::string_view target, MonitorSessionState state,
                               std::optional<Millis> idleSessionTimeout,
                               std::optional<Millis> keepAlive, WallTime wall, Effects& out) {
  Slot* slot = find(target);
  if (!slot || !slot->config->monitoring_session) return;
  MonitorSessionStatus& s = slot->session;
  if (s.state != state) s.since = wall;
  s.state = state;
  s.idle_session_timeout = idleSessionTimeout;
  s.keepalive_every = keepAlive;
  out.statusChanged = true;
}

ControlResult AgentCore::pause(std::string_view target, std::optional<Millis> duration,
                               SteadyTime now, WallTime wall, Effects& out) {
  Slot* slot = find(target);
  if (!slot) return ControlResult::notFound("no target named '" + std::string(target) + "'");
  Action a = slot->supervisor.pause(duration, now, wall);
  if (!a.accepted()) return {ControlResult::Code::kConflict, a.refused};
  apply(std::string(target), *slot, std::move(a), now, out);
  out.statusChanged = out.stateChanged = true;
  return ControlResult::ok("paused");
}

ControlResult AgentCore::resume(std::string_view target, SteadyTime now, WallTime wall,
                                Effects& out) {
  Slot* slot = find(target);
  if (!slot) return ControlResult::notFound("no target named '" + std::string(target) + "'");
  Action a = slot->supervisor.resume(now, wall);
  if (!a.accepted()) return {ControlResult::Code::kConflict, a.refused};
  apply(std::string(target), *slot, std::move(a), now, out);
  out.statusChanged = out.stateChanged = true;
  return ControlResult::ok("resumed");
}

ControlResult AgentCore::restart(std::string_view target, SteadyTime now, WallTime wall,
                                 Effects& out) {
  Slot* slot = find(target);
  if (!slot) return ControlResult::notFound("no target named '" + std::string(target) + "'");
  if (slot->restartRunning) return {ControlResult::Code::kConflict, "a restart is already running"};
  Action a = slot->supervisor.requestRestart(now, wall);
  if (!a.accepted()) return {ControlResult::Code::kConflict, a.refused};
  apply(std::string(target), *slot, std::move(a), now, out);
  out.statusChanged = out.stateChanged = true;
  return ControlResult::accepted("restart requested");
}

void AgentCore::reload(const Config& next, SteadyTime now, WallTime wall, Effects& out) {
  std::map<std::string, const TargetConfig*, std::less<>> wanted;
  for (const auto& t : next.targets) wanted[t.name] = &t;

  for (auto it = slots_.begin(); it != slots_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    // Its restart in flight (if any) finishes on its own; the answer will find no slot.
    out.restarters.push_back(
        {it->first, it->second.incarnation, it->second.generation, std::nullopt});
    out.monitors.push_back({MonitorCommand::Op::kRemove, it->first, nullptr});
    scheduler_.remove(it->first);
    it = slots_.erase(it);
  }
  order_.clear();
  for (const auto& t : next.targets) {
    Slot* slot = find(t.name);
    if (!slot) {
      add(t, now, out);
    } else if (!(*slot->config == t)) {
      const bool restartChanged = !sameRestartPath(slot->config->restart, t.restart);
      const bool conninfoChanged = slot->config->conninfo != t.conninfo ||
                                   slot->config->application_name != t.application_name;
      const bool sessionChanged = slot->config->monitoring_session != t.monitoring_session;
      slot->config = std::make_shared<const TargetConfig>(t);
      slot->supervisor.reconfigure(t);
      scheduler_.update(t.name, t.interval, now);
      if (restartChanged) {
        // Never swap the restarter under an attempt that is using it: the new path takes over
        // when the attempt ends (restartFinished).
        if (slot->restartRunning)
          slot->pendingRestart = t.restart;
        else
          newRestartPath(t.name, *slot, out);
      }
      if (sessionChanged && !t.monitoring_session) {
        // Turned off: the session closes now (a clean Terminate) and is forgotten.
        out.monitors.push_back({MonitorCommand::Op::kRemove, t.name, nullptr});
        slot->session = MonitorSessionStatus{};
        slot->session.state = MonitorSessionState::kOff;
        slot->session.since = wall;
      } else if (sessionChanged || (conninfoChanged && t.monitoring_session)) {
        out.monitors.push_back({MonitorCommand::Op::kSet, t.name, slot->config});
        if (sessionChanged) {
          // Turned on: it opens now on a target whose last round was good, else after the
          // next good one (as at start).
          slot->session = MonitorSessionStatus{};
          slot->session.since = wall;
          const auto& last = slot->supervisor.status(now, wall).last_round;
          if (last && (last->ok() || last->cause == Cause::kTooManyConnections))
            out.monitors.push_back({MonitorCommand::Op::kEnsure, t.name, nullptr});
        }
      }
    }
    order_.push_back(t.name);
  }
  // A reload checks every restart path again (a container created, a polkit rule installed,
  // a command made executable since are seen now); a changed path was just handed out.
  for (auto& [name, slot] : slots_)
    if (!slot.pathCheckRunning) checkPath(name, slot, out);
  config_ = next;
  out.statusChanged = out.stateChanged = true;
  if (!firstRoundsAnnounced_ && firstRoundsDone()) {
    firstRoundsAnnounced_ = true;
    out.firstRoundsDone = true;
  }
}

PersistedState AgentCore::persisted(SteadyTime now, WallTime wall) const {
  PersistedState state;
  for (const auto& [name, slot] : slots_)
    state.targets[name] = slot.supervisor.persisted(now, wall);
  return state;
}

AgentStatus AgentCore::status(SteadyTime now, WallTime wall) {
  AgentStatus s;
  s.config_path = config_.path;
  s.started_at = startedAt_;
  s.now = wall;
  s.targets.reserve(order_.size());
  for (const auto& name : order_)
    if (const Slot* slot = find(name)) {
      s.targets.push_back(slot->supervisor.status(now, wall));
      s.targets.back().restart_path = slot->path.status();
      s.targets.back().monitoring_session = slot->session;
    }
  return s;
}

}  // namespace pgvigil
