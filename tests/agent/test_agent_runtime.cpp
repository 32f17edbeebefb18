// The agent runtime with real threads and fake I/O (label "agent"; also run under TSan and
// ASan+UBSan): watchers that fire while reloads stop them, outputs that block, probes and
// restarters that throw. Every wait is bounded; nothing sleeps to let time pass except where a
// test holds an output blocked on purpose.
#define BOOST_TEST_MODULE pgvigil_agent
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent.h"
#include "unit/core/temp_dir.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace pgvigil {
std::ostream& operator<<(std::ostream& os, TargetState s) {
  return os << toString(s);
}
}  // namespace pgvigil

namespace {

using Ms = std::chrono::milliseconds;

/// The core tests' scratch directory (std::filesystem, so the runner also builds for Windows),
/// as a string for configOf().
struct TempDir {
  pgvigil::testing::TempDir dir{"pgvigil-agent-test-"};
  std::string path = dir.path.string();
};

TargetConfig target(const std::string& name, RestartMethod method = RestartMethod::kCommand) {
  TargetConfig c;
  c.name = name;
  c.conninfo = "host=127.0.0.1 port=1";
  c.interval = 100ms;
  c.timeout = 1s;
  c.unhealthy_after = 1;
  c.healthy_after = 1;
  c.restart.method = method;
  c.restart.command = {"/bin/true"};
  c.restart.container = name;
  c.restart.unit = name + ".service";
  c.restart.grace = 5s;
  c.restart.timeout = 10s;
  c.restart.backoff = BackoffConfig{100ms, 1s, 2.0, 0.0};
  c.restart.budget = BudgetConfig{100, 1h};
  c.restart.recovery_grace = 10min;
  c.restart.hang_after = 2min;
  return c;
}

Config configOf(const std::string& stateDir, std::vector<TargetConfig> targets) {
  Config c;
  c.path = "/test/pgvigil.yaml";
  c.agent.state_dir = stateDir;
  c.targets = std::move(targets);
  return c;
}

/// Records events; can be made to block every emit until released.
struct Sink final : AlertSink, AgentLog {
  std::mutex mutex;
  std::condition_variable cv;
  bool blocked = false;
  std::vector<AlertEvent> events;
  std::vector<std::string> logs;

  void emit(const AlertEvent& e) override {
    std::unique_lock lock(mutex);
    cv.wait(lock, [this] { return !blocked; });
    events.push_back(e);
    cv.notify_all();
  }
  void log(EventLevel, std::string_view msg, const EventFields& fields) override {
    std::lock_guard lock(mutex);
    std::string line(msg);
    for (const auto& [k, v] : fields) line += " " + k + "=" + v;
    logs.push_back(line);
    cv.notify_all();
  }
  void block(bool b) {
    {
      std::lock_guard lock(mutex);
      blocked = b;
    }
    cv.notify_all();
  }
  std::size_t count(const std::string& name) {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& e : events) n += e.event == name;
    return n;
  }
  bool waitFor(const std::string& name, std::size_t n, Ms timeout) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, timeout, [&] {
      std::size_t c = 0;
      for (const auto& e : events) c += e.event == name;
      return c >= n;
    });
  }
  bool waitLog(const std::string& part, Ms timeout) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, timeout, [&] {
      for (const auto& l : logs)
        if (l.find(part) != std::string::npos) return true;
      return false;
    });
  }
};

/// A service watcher whose thread fires events as fast as it can, and whose callback must never
/// be called after stop() returned.
class BusyWatcher final : public ServiceWatcher {
 public:
  explicit BusyWatcher(std::atomic<int>& live) : live_(live) {}
  ~BusyWatcher() override { stop(); }
  void start(std::function<void(ServiceState)> onChange) override {
    ++live_;
    thread_ = std::thread([this, onChange] {
      while (!stop_) {
        onChange(ServiceState::kRunning);
        std::this_thread::yield();
      }
    });
  }
  void stop() override {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
      --live_;
    }
  }

 private:
  std::atomic<int>& live_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// A restarter that blocks until released (or its deadline).
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> started{0};
  void release() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    cv.notify_all();
  }
};
class GatedRestarter final : public Restarter {
 public:
  explicit GatedRestarter(Gate& gate) : gate_(gate) {}
  std::string_view method() const override { return "command"; }
  RestartOutcome restart(const Deadline&) override {
    ++gate_.started;
    std::unique_lock lock(gate_.mutex);
    gate_.cv.wait_for(lock, 10s, [this] { return gate_.open; });
    RestartOutcome o;
    o.result = RestartOutcome::Result::kSucceeded;
    o.detail = "exited 0";
    return o;
  }

 private:
  Gate& gate_;
};

RoundResult ok() {
  RoundResult r;
  r.verdict = Verdict::kOk;
  return r;
}

RoundResult refused() {
  RoundResult r;
  r.verdict = Verdict::kFailed;
  r.cause = Cause::kRefused;
  r.message = "connection refused";
  return r;
}

template <class F>
Ms timed(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(reloads_that_stop_firing_watchers_never_deadlock) {
  TempDir dir;
  Sink sink;
  std::atomic<int> liveWatchers{0};
  AgentOptions o;
  o.watch_connections = false;
  o.prober = [](const TargetConfig&, const Clock&) { return ok(); };
  o.restarterFactory = [](const RestartConfig&, const Clock&) { return RestarterPtr{}; };
  o.watcherFactory = [&](const RestartConfig& r) -> ServiceWatcherPtr {
    if (r.method == RestartMethod::kNone) return nullptr;
    return std::make_unique<BusyWatcher>(liveWatchers);
  };
  Agent agent(configOf(dir.path,
                       {target("a", RestartMethod::kDocker), target("b", RestartMethod::kSystemd)}),
              sink, sink, o);
  agent.start();
  Ms worstReload{0}, worstRead{0};
  for (int i = 0; i < 50; ++i) {
    std::vector<TargetConfig> next;
    if (i % 2 == 0) {
      next = {target("b", RestartMethod::kNone)};  // a removed, b's method changed
    } else {
      next = {target("a", RestartMethod::kDocker), target("b", RestartMethod::kSystemd)};
    }
    worstReload =
        std::max(worstReload, timed([&] { agent.applyConfig(configOf(dir.path, next)); }));
    // What a reload put in force is what the very next reader sees: no window between the
    // reload's answer and the publish (systemd_reload_storm once caught the old picture there).
    BOOST_TEST(agent.snapshot()->targets.size() == next.size());
    worstRead = std::max(worstRead, timed([&] { BOOST_TEST(agent.snapshot()->ticking); }));
  }
  BOOST_TEST_MESSAGE("worst reload " << worstReload.count() << " ms, worst read "
                                     << worstRead.count() << " ms");
  BOOST_TEST(worstReload < Ms(1000));
  BOOST_TEST(worstRead < Ms(100));
  agent.stop();
  BOOST_TEST(liveWatchers.load() == 0);  // every watcher thread was joined
}

BOOST_AUTO_TEST_CASE(a_blocked_event_output_stalls_neither_readers_nor_the_loop) {
  TempDir dir;
  Sink sink;
  std::atomic<int> ticks{0};
  std::atomic<bool> up{true};
  AgentOptions o;
  o.watch_connections = false;
  o.prober = [&](const TargetConfig&, const Clock&) { return up ? ok() : refused(); };
  o.restarterFactory = [](const RestartConfig&, const Clock&) { return RestarterPtr{}; };
  o.watcherFactory = [](const RestartConfig&) { return ServiceWatcherPtr{}; };
  o.on_tick = [&](SteadyTime) { ++ticks; };
  Agent agent(configOf(dir.path, {target("a", RestartMethod::kNone)}), sink, sink, o);
  agent.start();
  BOOST_REQUIRE(agent.waitFirstRounds(5s));
  BOOST_REQUIRE(sink.waitFor("target_healthy", 1, 5s));

  sink.block(true);
  up = false;  // the state changes while the output is blocked
  const int ticksBefore = ticks.load();
  Ms worst{0};
  bool sawUnhealthy = false;
  const auto end = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < end) {
    std::shared_ptr<const AgentStatus> s;
    worst = std::max(worst, timed([&] { s = agent.snapshot(); }));
    if (!s->targets.empty() && s->targets[0].state == TargetState::kUnhealthy) sawUnhealthy = true;
    Ms pauseTook = timed([&] { (void)agent.pause("a", Millis(1h)); });
    worst = std::max(worst, pauseTook);
    (void)agent.resume("a");
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(sawUnhealthy);  // the published state moved on without the output
  BOOST_TEST(worst < Ms(100));
  BOOST_TEST(ticks.load() - ticksBefore >= 4);  // the loop (and the watchdog kick) kept passing
  sink.block(false);
  BOOST_TEST(sink.waitFor("target_unhealthy", 1, 5s));  // nothing lost: it arrives once unblocked
  agent.stop();
}

BOOST_AUTO_TEST_CASE(throwing_probes_and_restarters_do_not_kill_the_agent) {
  TempDir dir;
  Sink sink;
  AgentOptions o;
  o.watch_connections = false;
  o.prober = [](const TargetConfig&, const Clock&) -> RoundResult {
    throw std::runtime_error("probe bug");
  };
  struct Throwing final : Restarter {
    std::string_view method() const override { return "command"; }
    RestartOutcome restart(const Deadline&) override { throw std::logic_error("restarter bug"); }
  };
  o.restarterFactory = [](const RestartConfig&, const Clock&) -> RestarterPtr {
    return std::make_unique<Throwing>();
  };
  o.watcherFactory = [](const RestartConfig&) { return ServiceWatcherPtr{}; };
  Agent agent(configOf(dir.path, {target("a")}), sink, sink, o);
  agent.start();
  BOOST_REQUIRE(agent.waitFirstRounds(5s));
  // A probe that throws is a failed round with cause internal (which no restart cures) ...
  BOOST_REQUIRE(sink.waitFor("target_unhealthy", 1, 5s));
  BOOST_TEST((agent.snapshot()->targets[0].cause == Cause::kInternal));
  BOOST_TEST(sink.count("restart_requested") == 0u);
  // ... and a restarter that throws is a failed attempt that says why.
  BOOST_TEST((agent.restart("a").code == ControlResult::Code::kAccepted));
  BOOST_REQUIRE(sink.waitFor("restart_failed", 1, 10s));
  auto s = agent.snapshot();
  BOOST_REQUIRE(s->targets.size() == 1u);
  BOOST_REQUIRE(!s->targets[0].restart_history.empty());
  BOOST_TEST(s->targets[0].restart_history.back().detail.find("restarter bug") !=
             std::string::npos);
  BOOST_TEST(!agent.failed());
  BOOST_TEST(s->ticking);
  agent.stop();
}

BOOST_AUTO_TEST_CASE(control_answers_at_once_while_a_restart_runs_and_stop_waits_for_it) {
  TempDir dir;
  Sink sink;
  Gate gate;
  AgentOptions o;
  o.watch_connections = false;
  o.prober = [](const TargetConfig&, const Clock&) { return ok(); };
  o.restarterFactory = [&](const RestartConfig&, const Clock&) -> RestarterPtr {
    return std::make_unique<GatedRestarter>(gate);
  };
  o.watcherFactory = [](const RestartConfig&) { return ServiceWatcherPtr{}; };
  {
    Agent agent(configOf(dir.path, {target("a")}), sink, sink, o);
    agent.start();
    BOOST_REQUIRE(agent.waitFirstRounds(5s));
    // A control request's answer comes with the picture that shows it.
    BOOST_TEST((agent.pause("a", std::nullopt).code == ControlResult::Code::kOk));
    BOOST_TEST((agent.snapshot()->targets[0].state == TargetState::kPaused));
    BOOST_TEST((agent.resume("a").code == ControlResult::Code::kOk));
    BOOST_TEST((agent.snapshot()->targets[0].state != TargetState::kPaused));
    ControlResult r;
    Ms took = timed([&] { r = agent.restart("a"); });
    BOOST_TEST((r.code == ControlResult::Code::kAccepted));
    BOOST_TEST(took < Ms(100));
    for (int i = 0; i < 100 && gate.started == 0; ++i) std::this_thread::sleep_for(10ms);
    BOOST_REQUIRE(gate.started == 1);
    took = timed([&] { r = agent.restart("a"); });
    BOOST_TEST((r.code == ControlResult::Code::kConflict));
    BOOST_TEST(took < Ms(100));
    BOOST_TEST((agent.snapshot()->targets[0].state == TargetState::kRestarting));
    std::thread releaser([&] {
      std::this_thread::sleep_for(200ms);
      gate.release();
    });
    agent.stop();  // waits for the restart in flight, then saves its outcome
    releaser.join();
  }
  BOOST_TEST(sink.count("restart_succeeded") == 1u);
  StateStore store(StateStore::pathFor(dir.path));
  auto loaded = store.load();
  BOOST_TEST(loaded.error.empty());
  BOOST_REQUIRE(loaded.state.targets.count("a") == 1u);
  BOOST_REQUIRE(!loaded.state.targets["a"].history.empty());
  BOOST_TEST(loaded.state.targets["a"].history.back().result == "succeeded");
}

BOOST_AUTO_TEST_CASE(an_unwritable_state_dir_is_reported_once_and_watching_goes_on) {
  TempDir dir;
  const std::string file = dir.path + "/not-a-dir";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    BOOST_REQUIRE(f);
    std::fclose(f);
  }
  Sink sink;
  AgentOptions o;
  o.watch_connections = false;
  o.prober = [](const TargetConfig&, const Clock&) { return ok(); };
  o.restarterFactory = [](const RestartConfig&, const Clock&) { return RestarterPtr{}; };
  o.watcherFactory = [](const RestartConfig&) { return ServiceWatcherPtr{}; };
  // The state dir is a regular file: every save fails.
  Agent agent(configOf(file, {target("a", RestartMethod::kNone)}), sink, sink, o);
  agent.start();
  BOOST_REQUIRE(agent.waitFirstRounds(5s));
  for (int i = 0; i < 5; ++i) {
    (void)agent.pause("a", std::nullopt);
    (void)agent.resume("a");
  }
  BOOST_TEST(sink.waitLog("could not save the restart state", 5s));
  BOOST_TEST(sink.waitFor("target_resumed", 5, 5s));  // events still flow, after each failed save
  std::size_t reports = 0;
  {
    std::lock_guard lock(sink.mutex);
    for (const auto& l : sink.logs) reports += l.find("could not save") != std::string::npos;
  }
  BOOST_TEST(reports == 1u);  // once per failing streak, not per save
  BOOST_TEST(agent.snapshot()->ticking);
  agent.stop();
}
