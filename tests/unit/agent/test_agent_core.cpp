// The agent core's whole stories on a simulated clock (issue 9): a small simulated world —
// servers that are up or down, rounds that take a few milliseconds, restarts that take seconds —
// drives AgentCore exactly as the runtime does, and time only moves when the simulation says so.
// No threads, no sleeps, no real time.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "agent/agent_core.h"
#include "core/wall_time.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace pgvigil {
std::ostream& operator<<(std::ostream& os, TargetState s) {
  return os << toString(s);
}
std::ostream& operator<<(std::ostream& os, Cause c) {
  return os << toString(c);
}
std::ostream& operator<<(std::ostream& os, EventLevel l) {
  return os << toString(l);
}
}  // namespace pgvigil

namespace {

TargetConfig target(const std::string& name, RestartMethod method = RestartMethod::kCommand) {
  TargetConfig c;
  c.name = name;
  c.conninfo = "host=127.0.0.1 port=5432";
  c.interval = 10s;
  c.timeout = 2s;
  c.unhealthy_after = 2;
  c.healthy_after = 1;
  c.restart.method = method;
  c.restart.command = {"/usr/lib/pgvigil/pg-restart", name};
  c.restart.container = name;
  c.restart.grace = 30s;
  c.restart.timeout = 60s;
  c.restart.backoff = BackoffConfig{1s, 1min, 2.0, 0.0};
  c.restart.budget = BudgetConfig{5, 1h};
  c.restart.recovery_grace = 10min;
  c.restart.hang_after = 2min;
  return c;
}

Config configOf(std::vector<TargetConfig> targets) {
  Config c;
  c.path = "/etc/pgvigil/pgvigil.yaml";
  c.targets = std::move(targets);
  return c;
}

RoundResult roundFor(bool up, WallTime at) {
  RoundResult r;
  r.checked_at = at;
  r.latency = 3ms;
  if (up) {
    r.verdict = Verdict::kOk;
  } else {
    r.verdict = Verdict::kFailed;
    r.cause = Cause::kRefused;
    r.message = "connection refused";
  }
  return r;
}

/// The world the agent watches, and the runtime's job, done on a simulated clock.
struct Sim {
  FakeClock clock;
  AgentCore core;

  std::map<std::string, bool> up;  ///< by target; missing: up
  Cause downCause = Cause::kNone;  ///< the cause of a down round; kNone: roundFor's own
  Millis roundTakes = 5ms;
  Millis restartTakes = 3s;
  bool restartsWork = true;
  /// What a restart that does not work says (kFailed: it ran and failed).
  RestartOutcome::Result failure = RestartOutcome::Result::kFailed;
  std::vector<PathCheckJob> pathChecks;  ///< preflight checks handed out, in order
  /// What a recovery reading finds (answered at once); empty: nothing readable.
  std::string recoveryValue;
  int recoveryReads = 0;      ///< recovery readings handed out
  bool holdRecovery = false;  ///< keep the jobs in heldRecovery instead of answering
  std::vector<RecoveryJob> heldRecovery;

  struct Pending {
    SteadyTime at;
    bool isRound = true;
    ProbeJob probe;
    RestartJob restart;
  };
  std::vector<Pending> pending;

  // What the runtime was told to do, in order.
  std::vector<AlertEvent> events;
  std::vector<std::string>
      journal;  ///< "persist", "event:<name>:<target>", "restart:<target>:<gen>"
  std::map<std::string, std::uint64_t> restarterGen;  ///< the restart path the runtime holds
  std::vector<RestarterChange> restarterChanges;
  std::vector<MonitorCommand> monitors;
  std::map<std::string, int> rounds;  ///< rounds run, by target
  std::vector<bool> quietJobs;        ///< each dispatched probe job's `quiet`, in order
  std::map<std::string, int> inFlight;
  int maxInFlight = 0;
  int restartsRun = 0;
  std::vector<WallTime> restartTimes;  ///< when each restart job was handed out
  std::vector<WallTime> probeTimes;    ///< when each probe job was handed out
  /// /status's next_restart_at (empty: none) right after each restart outcome was taken in.
  std::vector<std::optional<WallTime>> nextAfterOutcome;
  bool firstRoundsDone = false;

  explicit Sim(std::size_t targets = 1)
      : core([] { return 0.5; }, WallTime{std::chrono::seconds{1'700'000'000}},
             AgentCore::defaultOptions(targets)) {}

  void execute(Effects& fx) {
    for (auto& c : fx.restarters) {
      restarterChanges.push_back(c);
      if (c.config)
        restarterGen[c.target] = c.generation;
      else
        restarterGen.erase(c.target);
    }
    for (auto& m : fx.monitors) monitors.push_back(m);
    if (fx.persist) journal.push_back("persist");
    for (auto& e : fx.events) {
      journal.push_back("event:" + e.event + ":" + e.target);
      events.push_back(e);
    }
    for (auto& p : fx.probes) {
      ++rounds[p.target];
      probeTimes.push_back(clock.wallNow());
      quietJobs.push_back(p.quiet);
      maxInFlight = std::max(maxInFlight, ++inFlight[p.target]);
      pending.push_back({clock.now() + roundTakes, true, p, {}});
    }
    for (auto& r : fx.restarts) {
      ++restartsRun;
      restartTimes.push_back(clock.wallNow());
      journal.push_back("restart:" + r.target + ":" + std::to_string(r.restarter));
      // The runtime runs the restarter of the job's generation: it must be the one it holds.
      BOOST_TEST(restarterGen.count(r.target) == 1u);
      if (restarterGen.count(r.target)) BOOST_TEST(restarterGen[r.target] == r.restarter);
      pending.push_back({clock.now() + restartTakes, false, {}, r});
    }
    for (auto& c : fx.pathChecks) pathChecks.push_back(c);
    if (fx.firstRoundsDone) firstRoundsDone = true;
    for (auto& job : fx.recoveryReads) {
      ++recoveryReads;
      if (holdRecovery) {
        heldRecovery.push_back(job);
        continue;
      }
      RecoveryReading r;
      if (recoveryValue.empty()) {
        r.problem = "cannot read postmaster.pid";
      } else {
        r.source = std::string(kProgressStartupProcess);
        r.value = recoveryValue;
      }
      Effects answer;
      core.recoveryRead(job, r, clock.now(), clock.wallNow(), answer);
      execute(answer);
    }
  }

  /// Answers the oldest preflight check still open with `check`.
  void answerPathCheck(const RestartPathCheck& check) {
    BOOST_TEST_REQUIRE(!pathChecks.empty());
    PathCheckJob job = pathChecks.front();
    pathChecks.erase(pathChecks.begin());
    Effects fx;
    core.restartPathChecked(job, check, clock.now(), clock.wallNow(), fx);
    execute(fx);
  }

  void start(const Config& config, const PersistedState& saved = {}) {
    Effects fx;
    core.start(config, saved, clock.now(), clock.wallNow(), fx);
    execute(fx);
  }

  /// Runs the simulation until `d` has passed.
  void run(Millis d) {
    const SteadyTime end = clock.now() + d;
    for (;;) {
      Effects fx;
      core.tick(clock.now(), clock.wallNow(), fx);
      execute(fx);
      SteadyTime next = core.nextWake();
      for (const auto& p : pending) next = std::min(next, p.at);
      if (next > end) break;
      if (next > clock.now()) clock.advance(next - clock.now());
      deliverDue();
    }
    if (end > clock.now()) clock.advance(end - clock.now());
    deliverDue();
  }

  void deliverDue() {
    std::vector<Pending> due;
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->at <= clock.now()) {
        due.push_back(*it);
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& p : due) {
      Effects fx;
      if (p.isRound) {
        --inFlight[p.probe.target];
        const bool isUp = !up.count(p.probe.target) || up[p.probe.target];
        RoundResult round = roundFor(isUp, clock.wallNow());
        if (!isUp && downCause != Cause::kNone) round.cause = downCause;
        core.roundFinished(p.probe, round, clock.now(), clock.wallNow(), fx);
      } else {
        RestartOutcome o;
        o.result = restartsWork ? RestartOutcome::Result::kSucceeded : failure;
        o.detail = restartsWork ? "exited 0" : "exited 1";
        o.took = restartTakes;
        if (restartsWork) up[p.restart.target] = true;
        core.restartFinished(p.restart, o, ServiceState::kUnknown, clock.now(), clock.wallNow(),
                             fx);
        for (const auto& t : core.status(clock.now(), clock.wallNow()).targets)
          if (t.name == p.restart.target) nextAfterOutcome.push_back(t.next_restart_allowed);
      }
      execute(fx);
    }
  }

  void reload(const Config& next) {
    Effects fx;
    core.reload(next, clock.now(), clock.wallNow(), fx);
    execute(fx);
  }

  std::size_t count(const std::string& event, const std::string& who = "") const {
    return static_cast<std::size_t>(std::count_if(
        events.begin(), events.end(),
        [&](const AlertEvent& e) { return e.event == event && (who.empty() || e.target == who); }));
  }
  TargetState state(const std::string& who) const { return core.supervisor(who)->state(); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_core)

// Only a settled healthy target's jobs are quiet (the runtime lets their good answers wait for
// the loop's next wake); the first round, the confirmation of a failure, and every round during
// a restart or its grace must wake the loop at once.
BOOST_AUTO_TEST_CASE(only_settled_healthy_rounds_are_quiet) {
  Sim sim;
  sim.start(configOf({target("main")}));
  sim.run(1s);
  BOOST_TEST_REQUIRE(sim.quietJobs.size() == 1u);
  BOOST_TEST(!sim.quietJobs[0]);  // the first round: nothing is known yet
  sim.run(20s);
  BOOST_TEST_REQUIRE(sim.quietJobs.size() == 3u);
  BOOST_TEST(sim.quietJobs[1]);
  BOOST_TEST(sim.quietJobs[2]);

  sim.up["main"] = false;
  sim.restartTakes = 3s;
  std::size_t seen = sim.quietJobs.size();
  sim.run(10s);  // the failing round (dispatched while healthy), its confirmation, the restart
  BOOST_TEST_REQUIRE(sim.restartsRun == 1);
  BOOST_TEST_REQUIRE(sim.quietJobs.size() >= seen + 2);
  BOOST_TEST(sim.quietJobs[seen]);       // sent while healthy: its failure wakes the loop anyway
  BOOST_TEST(!sim.quietJobs[seen + 1]);  // the confirmation round
  seen = sim.quietJobs.size();
  sim.run(5s);  // the restart ends; the first good round ends the grace
  BOOST_TEST_REQUIRE(sim.quietJobs.size() > seen);
  BOOST_TEST(!sim.quietJobs[seen]);
  BOOST_TEST(sim.state("main") == TargetState::kHealthy);
  seen = sim.quietJobs.size();
  sim.run(20s);
  BOOST_TEST_REQUIRE(sim.quietJobs.size() > seen);
  BOOST_TEST(sim.quietJobs.back());  // settled again
}

BOOST_AUTO_TEST_CASE(kill_seen_confirmed_restarted_grace_healthy) {
  Sim sim;
  sim.start(configOf({target("main")}));
  sim.run(2s);
  BOOST_TEST(sim.firstRoundsDone);
  BOOST_TEST(sim.state("main") == TargetState::kHealthy);
  BOOST_TEST(sim.count("target_healthy", "main") == 1u);

  // Killed between two rounds: the next round sees it, a 50 ms confirmation round confirms it,
  // and the restart starts — well before the 10 s interval comes round again.
  sim.up["main"] = false;
  const SteadyTime killedAt = sim.clock.now();
  sim.run(10s + 100ms);
  BOOST_TEST(sim.count("target_unhealthy", "main") == 1u);
  BOOST_TEST(sim.count("restart_requested", "main") == 1u);
  BOOST_TEST(sim.restartsRun == 1);
  // The restart (3 s) has ended and the first good round ended the grace.
  sim.run(5s);
  BOOST_TEST(sim.state("main") == TargetState::kHealthy);
  BOOST_TEST(sim.count("restart_succeeded", "main") == 1u);
  BOOST_TEST(sim.count("target_healthy", "main") == 2u);
  BOOST_TEST(sim.maxInFlight == 1);  // never two rounds of one target at once
  (void)killedAt;

  // Nothing else happens while it stays up: one event per change, never one per round.
  const auto before = sim.events.size();
  sim.run(5min);
  BOOST_TEST(sim.events.size() == before);
  BOOST_TEST(sim.restartsRun == 1);
}

BOOST_AUTO_TEST_CASE(state_is_saved_before_the_event_that_announces_a_restart) {
  Sim sim;
  sim.start(configOf({target("main")}));
  sim.run(2s);
  sim.up["main"] = false;
  sim.run(15s);
  auto it = std::find(sim.journal.begin(), sim.journal.end(), "event:restart_requested:main");
  BOOST_REQUIRE(it != sim.journal.end());
  // The Effects that carried restart_requested asked for a save first (runtime order: persist,
  // then events, then restart jobs).
  auto persist = std::find(sim.journal.rbegin(), std::make_reverse_iterator(it), "persist");
  BOOST_TEST((persist != std::make_reverse_iterator(it)));
  auto restartJob = std::find_if(
      it, sim.journal.end(), [](const std::string& s) { return s.rfind("restart:main", 0) == 0; });
  BOOST_TEST((restartJob != sim.journal.end()));
}

BOOST_AUTO_TEST_CASE(monitoring_session_stays_open_on_a_full_server) {
  // "too many clients" is a server that is up, not shutting down: the open session is the only
  // one that can still read who holds the slots, so it is kept.
  Sim sim;
  TargetConfig t = target("main", RestartMethod::kNone);
  sim.start(configOf({t}));
  sim.run(2s);
  BOOST_TEST((sim.monitors.back().op == MonitorCommand::Op::kEnsure));
  sim.downCause = Cause::kTooManyConnections;
  sim.up["main"] = false;
  const auto from = sim.monitors.size();
  sim.run(10s);
  BOOST_TEST(sim.monitors.size() > from);
  for (std::size_t i = from; i < sim.monitors.size(); ++i)
    BOOST_TEST((sim.monitors[i].op != MonitorCommand::Op::kClose));
}

BOOST_AUTO_TEST_CASE(monitoring_session_closes_on_a_failed_round_and_reopens_after_a_good_one) {
  Sim sim;
  TargetConfig t = target("main", RestartMethod::kNone);
  sim.start(configOf({t}));
  sim.run(2s);
  BOOST_REQUIRE(!sim.monitors.empty());
  BOOST_TEST((sim.monitors.front().op == MonitorCommand::Op::kSet));
  BOOST_TEST((sim.monitors.back().op == MonitorCommand::Op::kEnsure));
  sim.up["main"] = false;  // e.g. 57P03: a smart shutdown has begun
  sim.run(10s + 10ms);
  BOOST_TEST((sim.monitors.back().op == MonitorCommand::Op::kClose));
  const auto closedAt = sim.monitors.size();
  sim.run(30s);  // still refusing: it stays closed, nothing asks to open it
  for (std::size_t i = closedAt; i < sim.monitors.size(); ++i)
    BOOST_TEST((sim.monitors[i].op == MonitorCommand::Op::kClose));
  sim.up["main"] = true;
  sim.run(11s);
  BOOST_TEST((sim.monitors.back().op == MonitorCommand::Op::kEnsure));
}

BOOST_AUTO_TEST_CASE(monitoring_session_off_opens_nothing_and_status_says_off) {
  // monitoring_session: false (a serverless server that must be allowed to sleep): no session is
  // ever asked for, whatever the rounds say; a crash is seen by the next round.
  Sim sim;
  TargetConfig t = target("main", RestartMethod::kNone);
  t.monitoring_session = false;
  sim.start(configOf({t}));
  sim.run(25s);
  sim.up["main"] = false;
  sim.run(25s);
  sim.up["main"] = true;
  sim.run(25s);
  BOOST_TEST(sim.monitors.empty());
  const auto s = sim.core.status(sim.clock.now(), sim.clock.wallNow()).targets.at(0);
  BOOST_TEST((s.monitoring_session.state == MonitorSessionState::kOff));
  // A drop report that arrives after the session was turned off changes nothing.
  Effects fx;
  const int before = sim.rounds["main"];
  sim.core.connectionDropped("main", "", "", sim.clock.now(), sim.clock.wallNow(), fx);
  sim.execute(fx);
  sim.run(1s);
  BOOST_TEST(sim.rounds["main"] == before);
}

BOOST_AUTO_TEST_CASE(an_idle_timeout_drop_is_no_crash_signal_other_drops_are_confirmed_at_once) {
  Sim sim;
  sim.start(configOf({target("main", RestartMethod::kNone)}));
  sim.run(2s);
  const int before = sim.rounds["main"];
  // 57P05: the server ended an idle session, so it is up: no round before the scheduled one.
  Effects fx;
  sim.core.connectionDropped("main", "57P05", "terminating connection due to idle-session timeout",
                             sim.clock.now(), sim.clock.wallNow(), fx);
  sim.execute(fx);
  sim.run(1s);
  BOOST_TEST(sim.rounds["main"] == before);
  auto s = sim.core.status(sim.clock.now(), sim.clock.wallNow()).targets.at(0).monitoring_session;
  BOOST_TEST(s.drops == 1u);
  BOOST_TEST(s.last_drop_sqlstate == "57P05");
  // 57P01 (pg_terminate_backend, or a fast shutdown) and EOF (kill -9) may be the server going
  // away: a fresh round confirms at once, and only its verdict counts.
  for (const char* sqlstate : {"57P01", ""}) {
    const int n = sim.rounds["main"];
    Effects drop;
    sim.core.connectionDropped("main", sqlstate, "", sim.clock.now(), sim.clock.wallNow(), drop);
    sim.execute(drop);
    sim.run(100ms);
    BOOST_TEST(sim.rounds["main"] == n + 1);
  }
  BOOST_TEST(sim.count("target_unhealthy") == 0u);
  BOOST_TEST(sim.state("main") == TargetState::kHealthy);
  // The good confirming round opens the session again.
  BOOST_TEST((sim.monitors.back().op == MonitorCommand::Op::kEnsure));
}

BOOST_AUTO_TEST_CASE(reload_turns_the_monitoring_session_off_and_on) {
  Sim sim;
  TargetConfig t = target("main", RestartMethod::kNone);
  sim.start(configOf({t}));
  sim.run(2s);
  BOOST_TEST((sim.monitors.back().op == MonitorCommand::Op::kEnsure));
  t.monitoring_session = false;
  sim.reload(configOf({t}));
  BOOST_TEST((sim.monitors.back().op == MonitorCommand::Op::kRemove));
  const auto offAt = sim.monitors.size();
  sim.run(30s);
  BOOST_TEST(sim.monitors.size() == offAt);  // rounds go on, no session is asked for
  BOOST_TEST((sim.core.status(sim.clock.now(), sim.clock.wallNow())
                  .targets.at(0)
                  .monitoring_session.state == MonitorSessionState::kOff));
  t.monitoring_session = true;
  sim.reload(configOf({t}));
  // On again: set up and opened at once, the last round being good.
  BOOST_REQUIRE(sim.monitors.size() == offAt + 2);
  BOOST_TEST((sim.monitors[offAt].op == MonitorCommand::Op::kSet));
  BOOST_TEST((sim.monitors[offAt + 1].op == MonitorCommand::Op::kEnsure));
  // The runtime's reports reach /status.
  Effects fx;
  sim.core.monitorSession("main", MonitorSessionState::kOpen, Millis{2000}, Millis{1000},
                          sim.clock.wallNow(), fx);
  BOOST_TEST(fx.statusChanged);
  auto s = sim.core.status(sim.clock.now(), sim.clock.wallNow()).targets.at(0).monitoring_session;
  BOOST_TEST((s.state == MonitorSessionState::kOpen));
  BOOST_TEST(s.idle_session_timeout.value().count() == 2000);
  BOOST_TEST(s.keepalive_every.value().count() == 1000);
}

BOOST_AUTO_TEST_CASE(reload_in_the_middle_of_a_restart_keeps_its_outcome) {
  Sim sim;
  sim.restartTakes = 8s;
  sim.start(configOf({target("main")}));
  sim.run(2s);
  sim.up["main"] = false;
  sim.run(10s + 200ms);
  BOOST_REQUIRE(sim.core.restartRunning("main"));
  // A reload that changes thresholds and the interval (not the restart path).
  TargetConfig changed = target("main");
  changed.interval = 5s;
  changed.unhealthy_after = 3;
  sim.reload(configOf({changed}));
  BOOST_TEST(sim.core.restartRunning("main"));
  sim.run(12s);
  BOOST_TEST(!sim.core.restartRunning("main"));
  BOOST_TEST(sim.count("restart_succeeded", "main") == 1u);
  BOOST_TEST(sim.state("main") == TargetState::kHealthy);
  BOOST_TEST(sim.core.supervisor("main")->config().interval == 5s);
}

BOOST_AUTO_TEST_CASE(target_removed_during_its_restart_ignores_the_late_outcome) {
  Sim sim;
  sim.start(configOf({target("main"), target("other")}));
  sim.run(2s);
  sim.up["main"] = false;
  sim.run(10s + 200ms);
  BOOST_REQUIRE(sim.core.restartRunning("main"));
  sim.reload(configOf({target("other")}));
  BOOST_TEST(sim.core.supervisor("main") == nullptr);
  BOOST_TEST(sim.restarterGen.count("main") == 0u);  // the runtime drops its restarter and watcher
  const auto before = sim.count("restart_succeeded", "main");
  sim.run(10s);  // the restart ends; its outcome finds no target
  BOOST_TEST(sim.count("restart_succeeded", "main") == before);
  // Added back: a new incarnation that starts from scratch, no confusion with the old one.
  sim.reload(configOf({target("other"), target("main")}));
  sim.run(12s);
  BOOST_TEST(sim.state("main") == TargetState::kHealthy);
  BOOST_TEST(sim.maxInFlight == 1);
}

BOOST_AUTO_TEST_CASE(a_round_of_a_removed_and_re_added_target_is_dropped) {
  Sim sim;
  sim.roundTakes = 1500ms;
  sim.start(configOf({target("main")}));
  sim.run(600ms);  // the first round is in flight (start spread 0.5 s, takes 1.5 s)
  BOOST_REQUIRE(!sim.pending.empty());
  sim.up["main"] = false;
  sim.reload(configOf({}));
  sim.up["main"] = true;
  sim.reload(configOf({target("main")}));
  sim.run(3s);
  // The failed verdict of the old incarnation never reached the new one.
  BOOST_TEST(sim.count("target_unhealthy", "main") == 0u);
  BOOST_TEST(sim.state("main") == TargetState::kHealthy);
}

BOOST_AUTO_TEST_CASE(watcher_event_of_a_replaced_restart_path_is_ignored) {
  Sim sim;
  sim.start(configOf({target("db", RestartMethod::kDocker)}));
  sim.run(2s);
  const std::uint64_t oldGen = *sim.core.generationOf("db");
  // Reload: docker -> command. The old watcher may still deliver an event while it stops.
  sim.reload(configOf({target("db", RestartMethod::kCommand)}));
  const std::uint64_t newGen = *sim.core.generationOf("db");
  BOOST_TEST(newGen != oldGen);
  BOOST_TEST(sim.restarterGen["db"] == newGen);
  Effects fx;
  sim.core.serviceState("db", oldGen, ServiceState::kOperatorStopped, sim.clock.now(),
                        sim.clock.wallNow(), fx);
  BOOST_TEST(fx.events.empty());
  BOOST_TEST(!sim.core.supervisor("db")->operatorStopped());
  // The current path's watcher is heard.
  sim.core.serviceState("db", newGen, ServiceState::kOperatorStopped, sim.clock.now(),
                        sim.clock.wallNow(), fx);
  BOOST_TEST(sim.core.supervisor("db")->operatorStopped());
  // An operator stop is never restarted.
  sim.execute(fx);
  sim.up["db"] = false;
  sim.run(2min);
  BOOST_TEST(sim.restartsRun == 0);
}

BOOST_AUTO_TEST_CASE(restart_method_changed_while_a_restart_runs_takes_over_after_it) {
  Sim sim;
  sim.restartTakes = 5s;
  sim.restartsWork = false;  // the old path fails, so a second attempt follows
  sim.start(configOf({target("main", RestartMethod::kCommand)}));
  sim.run(2s);
  sim.up["main"] = false;
  sim.run(10s + 200ms);
  BOOST_REQUIRE(sim.core.restartRunning("main"));
  const std::uint64_t runningGen = sim.restarterGen["main"];
  const auto changesBefore = sim.restarterChanges.size();

  sim.reload(configOf({target("main", RestartMethod::kDocker)}));
  // Not swapped under the running attempt.
  BOOST_TEST(sim.restarterChanges.size() == changesBefore);
  BOOST_TEST(sim.restarterGen["main"] == runningGen);

  sim.run(5s);  // the attempt ends (failed); the docker path takes over
  BOOST_TEST((!sim.core.restartRunning("main") || sim.restarterGen["main"] != runningGen));
  BOOST_REQUIRE(sim.restarterChanges.size() == changesBefore + 1);
  BOOST_TEST((sim.restarterChanges.back().config->method == RestartMethod::kDocker));
  sim.restartsWork = true;
  sim.run(2min);
  // Every later attempt ran on the new path (checked in execute()), and it came back.
  BOOST_TEST(sim.restartsRun >= 2);
  BOOST_TEST(sim.state("main") == TargetState::kHealthy);
}

BOOST_AUTO_TEST_CASE(pause_holds_restarts_until_it_expires) {
  Sim sim;
  sim.start(configOf({target("main")}));
  sim.run(2s);
  Effects fx;
  auto r = sim.core.pause("main", Millis(60s), sim.clock.now(), sim.clock.wallNow(), fx);
  BOOST_TEST((r.code == ControlResult::Code::kOk));
  BOOST_TEST(fx.persist);  // a pause survives an agent restart
  sim.execute(fx);
  sim.up["main"] = false;
  sim.run(50s);
  BOOST_TEST(sim.restartsRun == 0);  // checks go on, restarts wait
  BOOST_TEST(sim.state("main") == TargetState::kPaused);
  sim.run(20s);  // the pause ends at 60 s; the engine acts at once
  BOOST_TEST(sim.count("target_resumed", "main") == 1u);
  BOOST_TEST(sim.restartsRun == 1);
  sim.run(10s);
  BOOST_TEST(sim.state("main") == TargetState::kHealthy);
}

BOOST_AUTO_TEST_CASE(control_requests_answer_without_io) {
  Sim sim;
  sim.start(configOf({target("main")}));
  sim.run(2s);
  Effects fx;
  BOOST_TEST((sim.core.pause("nope", std::nullopt, sim.clock.now(), sim.clock.wallNow(), fx).code ==
              ControlResult::Code::kNotFound));
  auto r = sim.core.restart("main", sim.clock.now(), sim.clock.wallNow(), fx);
  BOOST_TEST((r.code == ControlResult::Code::kAccepted));
  BOOST_TEST(fx.restarts.size() == 1u);
  sim.execute(fx);
  Effects again;
  r = sim.core.restart("main", sim.clock.now(), sim.clock.wallNow(), again);
  BOOST_TEST((r.code == ControlResult::Code::kConflict));
  BOOST_TEST(again.restarts.empty());
}

BOOST_AUTO_TEST_CASE(saved_state_is_restored_at_start) {
  Sim first;
  first.restartsWork = false;
  first.start(configOf({target("main")}));
  first.run(2s);
  first.up["main"] = false;
  first.run(30s);
  const int attempts = first.core.supervisor("main")->attempts();
  BOOST_REQUIRE(attempts >= 1);
  PersistedState saved = first.core.persisted(first.clock.now(), first.clock.wallNow());

  Sim second;
  second.clock.advance(first.clock.now() - second.clock.now());
  second.start(configOf({target("main")}), saved);
  BOOST_TEST(second.core.supervisor("main")->attempts() == attempts);
}

BOOST_AUTO_TEST_CASE(a_thousand_targets) {
  constexpr int kTargets = 1000;
  Sim sim(kTargets);
  std::vector<TargetConfig> targets;
  for (int i = 0; i < kTargets; ++i) targets.push_back(target("t" + std::to_string(i)));
  sim.start(configOf(targets));
  sim.run(12s);
  BOOST_TEST(sim.firstRoundsDone);
  for (int i = 0; i < kTargets; i += 97)
    BOOST_TEST(sim.state("t" + std::to_string(i)) == TargetState::kHealthy);
  // Rounds keep to the interval: about 60 s / 10 s per target, never a burst.
  sim.rounds.clear();
  sim.run(60s);
  for (const auto& [name, n] : sim.rounds) {
    BOOST_TEST(n >= 5);
    BOOST_TEST(n <= 7);
  }
  BOOST_TEST(sim.maxInFlight == 1);
  // Ten crash; exactly those ten are restarted.
  for (int i = 0; i < 10; ++i) sim.up["t" + std::to_string(i * 100)] = false;
  sim.run(20s);
  BOOST_TEST(sim.restartsRun == 10);
  std::set<std::string> restarted;
  for (const auto& e : sim.events)
    if (e.event == "restart_requested") restarted.insert(e.target);
  BOOST_TEST(restarted.size() == 10u);
  for (int i = 0; i < 10; ++i) BOOST_TEST(restarted.count("t" + std::to_string(i * 100)) == 1u);
  for (int i = 0; i < 10; ++i)
    BOOST_TEST(sim.state("t" + std::to_string(i * 100)) == TargetState::kHealthy);
}

BOOST_AUTO_TEST_CASE(status_lists_targets_in_config_order) {
  Sim sim;
  sim.start(configOf({target("b"), target("a"), target("c")}));
  sim.run(2s);
  AgentStatus s = sim.core.status(sim.clock.now(), sim.clock.wallNow());
  BOOST_REQUIRE(s.targets.size() == 3u);
  BOOST_TEST(s.targets[0].name == "b");
  BOOST_TEST(s.targets[1].name == "a");
  BOOST_TEST(s.targets[2].name == "c");
  sim.reload(configOf({target("c"), target("b")}));
  s = sim.core.status(sim.clock.now(), sim.clock.wallNow());
  BOOST_REQUIRE(s.targets.size() == 2u);
  BOOST_TEST(s.targets[0].name == "c");
}

// Issue 10: the restart path is checked at start, before anything has failed. A broken path is
// one restart_path_broken event and a /status field at once; the same answer again says nothing
// new; it is checked again 30 s later, and its repair is one restart_path_ok.
BOOST_AUTO_TEST_CASE(restart_path_is_checked_at_start_and_announced_once_per_change) {
  Sim sim;
  TargetConfig alertsOnly = target("alerts", RestartMethod::kNone);
  sim.start(configOf({target("main", RestartMethod::kDocker), alertsOnly}));
  // One check, for the target that has a restart path, handed out by start() itself.
  BOOST_TEST_REQUIRE(sim.pathChecks.size() == 1u);
  BOOST_TEST(sim.pathChecks[0].target == "main");
  BOOST_TEST(sim.pathChecks[0].restarter == *sim.core.generationOf("main"));
  BOOST_TEST(!sim.core.status(sim.clock.now(), sim.clock.wallNow()).targets[0].restart_path);

  sim.answerPathCheck({false, "container 'main' does not exist"});
  BOOST_TEST(sim.count("restart_path_broken", "main") == 1u);
  const AlertEvent& e = sim.events.back();
  BOOST_TEST(e.event == "restart_path_broken");
  BOOST_TEST(e.level == EventLevel::kError);
  BOOST_TEST(e.msg.find("container 'main' does not exist") != std::string::npos);
  auto st = sim.core.status(sim.clock.now(), sim.clock.wallNow());
  BOOST_TEST_REQUIRE(st.targets[0].restart_path.has_value());
  BOOST_TEST(!st.targets[0].restart_path->ok);
  BOOST_TEST(st.targets[0].restart_path->problem == "container 'main' does not exist");
  BOOST_TEST(!st.targets[1].restart_path.has_value());  // method none: nothing to check
  BOOST_TEST(sim.restartsRun == 0);                     // no crash, no restart: found anyway

  // Checked again after 30 s, not before; the same problem is not announced again.
  sim.run(29s);
  BOOST_TEST(sim.pathChecks.empty());
  sim.run(2s);
  BOOST_TEST_REQUIRE(sim.pathChecks.size() == 1u);
  sim.answerPathCheck({false, "container 'main' does not exist"});
  BOOST_TEST(sim.count("restart_path_broken", "main") == 1u);
  // Another problem is a change.
  sim.run(31s);
  sim.answerPathCheck({false, "docker daemon not reachable: no socket: unix:///nope.sock"});
  BOOST_TEST(sim.count("restart_path_broken", "main") == 2u);
  // Repaired: one restart_path_ok, then a check every 5 minutes.
  sim.run(31s);
  sim.answerPathCheck({true, ""});
  BOOST_TEST(sim.count("restart_path_ok", "main") == 1u);
  st = sim.core.status(sim.clock.now(), sim.clock.wallNow());
  BOOST_TEST(st.targets[0].restart_path->ok);
  BOOST_TEST(st.targets[0].restart_path->problem.empty());
  sim.run(4min);
  BOOST_TEST(sim.pathChecks.empty());
  sim.run(61s);
  BOOST_TEST_REQUIRE(sim.pathChecks.size() == 1u);
  sim.answerPathCheck({true, ""});
  BOOST_TEST(sim.count("restart_path_ok", "main") == 1u);  // ok after ok: nothing to say
}

// A path that was fine at start and is fine says nothing at all: no event for a good check.
BOOST_AUTO_TEST_CASE(a_working_restart_path_makes_no_event) {
  Sim sim;
  sim.start(configOf({target("main")}));
  sim.answerPathCheck({true, ""});
  BOOST_TEST(sim.count("restart_path_ok") == 0u);
  BOOST_TEST(sim.count("restart_path_broken") == 0u);
}

// A reload checks every path again (a container created meanwhile is seen), and an answer about
// a path the reload replaced is dropped and the new path checked.
BOOST_AUTO_TEST_CASE(reload_checks_again_and_drops_answers_about_a_replaced_path) {
  Sim sim;
  TargetConfig t = target("main", RestartMethod::kDocker);
  sim.start(configOf({t}));
  sim.answerPathCheck({false, "container 'main' does not exist"});
  BOOST_TEST_REQUIRE(sim.count("restart_path_broken") == 1u);
  sim.reload(configOf({t}));  // unchanged config: checked again all the same
  BOOST_TEST_REQUIRE(sim.pathChecks.size() == 1u);
  sim.answerPathCheck({true, ""});
  BOOST_TEST(sim.count("restart_path_ok") == 1u);

  // The container changes while a check of the old one runs.
  sim.reload(configOf({t}));
  BOOST_TEST_REQUIRE(sim.pathChecks.size() == 1u);
  TargetConfig moved = t;
  moved.restart.container = "other";
  sim.reload(configOf({moved}));
  BOOST_TEST(sim.pathChecks.size() == 1u);  // the running check is not doubled
  sim.answerPathCheck({false, "container 'main' does not exist"});  // about the old path
  BOOST_TEST(sim.count("restart_path_broken") == 1u);
  BOOST_TEST_REQUIRE(sim.pathChecks.size() == 1u);  // the new path is checked instead
  BOOST_TEST(sim.pathChecks[0].restarter == *sim.core.generationOf("main"));
  sim.answerPathCheck({false, "container 'other' does not exist"});
  BOOST_TEST(sim.count("restart_path_broken") == 2u);
}

// Attempts that never reach the restarter have their own cause, restarter_unreachable, in
// restart_failed and restart_given_up (never the target's refused); they break the path in
// /status with one restart_path_broken; they count against the budget (docs/restarters.md).
BOOST_AUTO_TEST_CASE(unreachable_restarter_is_its_own_cause_and_names_the_given_up) {
  Sim sim;
  TargetConfig t = target("main", RestartMethod::kDocker);
  t.restart.budget = BudgetConfig{2, 1h};
  sim.start(configOf({t}));
  sim.answerPathCheck({true, ""});
  sim.run(2s);
  sim.up["main"] = false;
  sim.restartsWork = false;
  sim.failure = RestartOutcome::Result::kUnreachable;
  sim.run(2min);
  BOOST_TEST(sim.restartsRun == 2);
  BOOST_TEST_REQUIRE(sim.count("restart_failed", "main") == 2u);
  for (const auto& e : sim.events)
    if (e.event == "restart_failed") BOOST_TEST(e.cause == Cause::kRestarterUnreachable);
  BOOST_TEST(sim.count("restart_path_broken", "main") == 1u);
  BOOST_TEST_REQUIRE(sim.count("restart_given_up", "main") == 1u);
  auto given = std::find_if(sim.events.begin(), sim.events.end(),
                            [](const AlertEvent& e) { return e.event == "restart_given_up"; });
  BOOST_TEST(given->cause == Cause::kRestarterUnreachable);
  BOOST_TEST(toString(given->cause) == "restarter_unreachable");
  auto st = sim.core.status(sim.clock.now(), sim.clock.wallNow());
  BOOST_TEST_REQUIRE(st.targets[0].restart_path.has_value());
  BOOST_TEST(!st.targets[0].restart_path->ok);
}

// A restart that ran and failed (the command exited 1) keeps the target's cause: the restarter
// was reached.
BOOST_AUTO_TEST_CASE(a_failed_restart_keeps_the_targets_cause) {
  Sim sim;
  TargetConfig t = target("main");
  t.restart.budget = BudgetConfig{1, 1h};
  sim.start(configOf({t}));
  sim.run(2s);
  sim.up["main"] = false;
  sim.restartsWork = false;
  sim.run(1min);
  BOOST_TEST_REQUIRE(sim.count("restart_failed", "main") == 1u);
  BOOST_TEST_REQUIRE(sim.count("restart_given_up", "main") == 1u);
  for (const auto& e : sim.events)
    if (e.event == "restart_failed" || e.event == "restart_given_up")
      BOOST_TEST(e.cause == Cause::kRefused);
  BOOST_TEST(sim.count("restart_path_broken") == 0u);
}

// A restart that keeps failing: each restart_failed names the instant of the next attempt,
// /status shows that same instant, and at exactly that instant the runtime is handed the round
// that confirms it, and the restart job as soon as that round has failed (rounds take 5 ms
// here) — not at the next scheduled round up to an interval later (rounds are 10 s apart,
// backoffs 1 s, 2 s, 4 s).
// When the budget will not allow the next attempt, restart_failed says so, given_up follows at
// once, and /status announces nothing.
BOOST_AUTO_TEST_CASE(announced_retry_times_are_the_times_the_engine_uses) {
  Sim sim;
  TargetConfig t = target("db");
  t.restart.budget = BudgetConfig{4, 1h};
  sim.start(configOf({t}));
  sim.run(2s);
  sim.up["db"] = false;
  sim.restartsWork = false;
  sim.run(5min);
  BOOST_TEST(sim.restartsRun == 4);
  BOOST_REQUIRE(sim.restartTimes.size() == 4u);
  std::vector<const AlertEvent*> failedEvents;
  for (const auto& e : sim.events)
    if (e.event == "restart_failed") failedEvents.push_back(&e);
  BOOST_REQUIRE(failedEvents.size() == 4u);
  BOOST_REQUIRE(sim.nextAfterOutcome.size() == 4u);
  auto field = [](const AlertEvent& e, const std::string& key) -> std::string {
    for (const auto& [k, v] : e.fields)
      if (k == key) return v;
    return "<none>";
  };
  for (std::size_t i = 0; i + 1 < 4; ++i) {
    BOOST_TEST_CONTEXT("attempt " << i + 1) {
      const std::string announced = field(*failedEvents[i], "next_restart_at");
      const auto at = parseWallTime(announced);
      BOOST_REQUIRE(at.has_value());
      BOOST_TEST(std::count(sim.probeTimes.begin(), sim.probeTimes.end(), *at) == 1);
      BOOST_TEST(formatWallTime(sim.restartTimes[i + 1]) == formatWallTime(*at + sim.roundTakes));
      BOOST_REQUIRE(sim.nextAfterOutcome[i].has_value());
      BOOST_TEST(formatWallTime(*sim.nextAfterOutcome[i]) == announced);
      // The wait is the backoff it names (1 s doubling), from the end of the failed attempt.
      const auto waited = std::chrono::duration_cast<Millis>(*at - failedEvents[i]->ts);
      BOOST_TEST(waited.count() == (1000LL << i));
    }
  }
  // The fourth failure spends the budget (4 per hour): no announced retry, given up at once.
  const AlertEvent& last = *failedEvents[3];
  BOOST_TEST(field(last, "next_restart_at") == "<none>");
  BOOST_TEST(last.msg.find("no further attempt") != std::string::npos);
  BOOST_TEST(!sim.nextAfterOutcome[3].has_value());
  BOOST_TEST(sim.count("restart_given_up") == 1u);
  for (const auto& e : sim.events)
    if (e.event == "restart_given_up") BOOST_TEST((e.ts == last.ts));
  BOOST_TEST(sim.state("db") == TargetState::kGivenUp);
}

// Issue 10: a recovery is read off the loop while the target answers starting up (never while it
// is up), and recovery_grace bounds the time without progress: a replay that moves is waited
// out far beyond recovery_grace, one that stops is restarted recovery_grace after its last move.
BOOST_AUTO_TEST_CASE(recovery_is_waited_out_while_it_moves) {
  Sim sim;
  TargetConfig t = target("main");
  t.interval = 1s;
  t.restart.recovery_grace = 30s;
  sim.start(configOf({t}));
  sim.run(5s);
  BOOST_TEST(sim.recoveryReads == 0);  // up: nothing to read

  sim.up["main"] = false;
  sim.downCause = Cause::kStartingUp;
  int segment = 0;
  for (int i = 0; i < 120; ++i) {  // two minutes, a new WAL file every second
    sim.recoveryValue = "recovering " + std::to_string(++segment);
    sim.run(1s);
  }
  BOOST_TEST(sim.restartsRun == 0);
  BOOST_TEST(sim.state("main") == TargetState::kStartingUp);
  BOOST_TEST(sim.recoveryReads >= 100);
  auto status = sim.core.status(sim.clock.now(), sim.clock.wallNow()).targets.at(0);
  BOOST_TEST_REQUIRE(status.recovery.has_value());
  BOOST_TEST(status.recovery->rule == "no_progress");
  BOOST_TEST(status.recovery->progress == "recovering 120");

  // The replay stops: restarted once 30 s pass without a change, at the instant announced.
  const WallTime stalled = sim.clock.wallNow();
  status = sim.core.status(sim.clock.now(), sim.clock.wallNow()).targets.at(0);
  BOOST_TEST_REQUIRE(status.recovery->stuck_at.has_value());
  const WallTime announced = *status.recovery->stuck_at;
  sim.run(40s);
  BOOST_TEST_REQUIRE(sim.restartsRun == 1);
  const auto after = sim.restartTimes.at(0) - stalled;
  BOOST_TEST((after >= 29s && after <= 31s),
             "restarted " << std::chrono::duration<double>(after).count() << " s after the stall");
  BOOST_TEST((sim.restartTimes.at(0) - announced <= 1s));
}

// Without a readable source the total-time rule stays, and /status says so.
BOOST_AUTO_TEST_CASE(recovery_without_a_source_keeps_the_total_rule) {
  Sim sim;
  TargetConfig t = target("main");
  t.interval = 1s;
  t.restart.recovery_grace = 30s;
  sim.start(configOf({t}));
  sim.run(5s);
  sim.up["main"] = false;
  sim.downCause = Cause::kStartingUp;
  const WallTime began = sim.clock.wallNow();
  sim.run(20s);
  BOOST_TEST(sim.recoveryReads > 0);
  const auto status = sim.core.status(sim.clock.now(), sim.clock.wallNow()).targets.at(0);
  BOOST_TEST_REQUIRE(status.recovery.has_value());
  BOOST_TEST(status.recovery->rule == "total");
  BOOST_TEST(status.recovery->problem == "cannot read postmaster.pid");
  sim.run(15s);
  BOOST_TEST_REQUIRE(sim.restartsRun == 1);
  BOOST_TEST((sim.restartTimes.at(0) - began <= 32s));
}

// A reading that comes back after a reload changed where to read is about the old place: dropped
// (the next reading, of the new place, counts); one reading at a time per target.
BOOST_AUTO_TEST_CASE(a_recovery_reading_of_a_replaced_place_is_dropped) {
  Sim sim;
  TargetConfig t = target("main");
  t.interval = 1s;
  t.restart.recovery_grace = 30s;
  sim.start(configOf({t}));
  sim.run(5s);
  sim.up["main"] = false;
  sim.downCause = Cause::kStartingUp;
  sim.holdRecovery = true;
  sim.run(5s);
  BOOST_TEST_REQUIRE(sim.heldRecovery.size() == 1u);  // never a second while one runs
  const RecoveryJob old = sim.heldRecovery.front();
  sim.heldRecovery.clear();

  TargetConfig moved = t;
  moved.recovery.data_dir = "/srv/pg/other";
  sim.reload(configOf({moved}));
  RecoveryReading r;
  r.source = std::string(kProgressStartupProcess);
  r.value = "recovering 1";
  Effects fx;
  sim.core.recoveryRead(old, r, sim.clock.now(), sim.clock.wallNow(), fx);
  sim.execute(fx);
  auto status = sim.core.status(sim.clock.now(), sim.clock.wallNow()).targets.at(0);
  BOOST_TEST_REQUIRE(status.recovery.has_value());
  BOOST_TEST(status.recovery->rule == "total");  // the stale answer was not taken
  BOOST_TEST(status.recovery->progress.empty());

  // The next reading is handed out again (the stale one freed the slot) and counts.
  sim.holdRecovery = false;
  sim.recoveryValue = "recovering 2";
  sim.run(2s);
  status = sim.core.status(sim.clock.now(), sim.clock.wallNow()).targets.at(0);
  BOOST_TEST(status.recovery->rule == "no_progress");
  BOOST_TEST(status.recovery->progress == "recovering 2");
}

BOOST_AUTO_TEST_SUITE_END()
