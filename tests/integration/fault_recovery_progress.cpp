// Recovery that is waited out only while it moves (issue 10), against a real PostgreSQL 15: a
// standby with hot_standby = off (it answers "the database system is starting up" while it
// replays) streams the WAL of a primary that the test keeps writing to (1 MB WAL files, so the
// startup process's title, "recovering 0000000100000000000000XX", moves about twice a second).
// The real agent, with recovery_grace 4s and recovery.data_dir on the standby, does not restart
// it while the WAL flows for three times recovery_grace, and restarts it once the writes stop
// and the replay has not moved for recovery_grace. Without a readable source (no data directory
// known) /status says the total-time rule applies, and why.
#define BOOST_TEST_MODULE fault_recovery_progress
#include <boost/test/unit_test.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// /status targets[0].recovery, or null.
Poco::JSON::Object::Ptr recoveryOf(AgentUnderTest& agent) {
  auto r = agent.http->get("/status");
  if (r.status != 200) return nullptr;
  Poco::JSON::Parser parser;
  auto status = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>();
  auto target = status->getArray("targets")->getObject(0);
  if (target->isNull("recovery")) return nullptr;
  return target->getObject("recovery");
}

/// The whole object, for a failure's message.
std::string json(const Poco::JSON::Object::Ptr& o) {
  if (!o) return "null";
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(o, out);
  return out.str();
}

std::string text(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->isNull(key)) return "";
  return o->getValue<std::string>(key);
}

/// Writes about 0.5 MB of WAL every 200 ms on the primary until stopped (also when the test
/// fails: the destructor stops and joins it).
class Writer {
 public:
  explicit Writer(PgCluster& pg) : pg_(pg) {
    pg_.query("CREATE TABLE IF NOT EXISTS filler (id int, pad text)");
    thread_ = std::thread([this] {
      while (!stop_) {
        try {
          pg_.query(
              "INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g");
          ++batches_;
        } catch (...) {
        }
        std::this_thread::sleep_for(200ms);
      }
    });
  }
  ~Writer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int batches() const { return batches_; }

 private:
  PgCluster& pg_;
  std::atomic<bool> stop_{false};
  std::atomic<int> batches_{0};
  std::thread thread_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(recovery_progress)

BOOST_AUTO_TEST_CASE(a_replay_that_moves_is_waited_out_and_one_that_stops_is_restarted) {
  const auto testStart = Clock::now();
  PgCluster primary({.settings = {"wal_keep_size=256MB"}, .initdb_args = {"--wal-segsize=1"}});
  Writer writer(primary);
  PgClusterOptions standbyOptions;
  standbyOptions.standby_no_hot = true;
  standbyOptions.standby_of_port = primary.port();
  PgCluster standby(standbyOptions);
  BOOST_TEST_MESSAGE("primary and standby up after " << secondsSince(testStart) << " s");

  TempDir dir;
  const std::string targets =
      "  - name: main\n    conninfo: \"" + standby.conninfo() +
      "\"\n    interval: 500ms\n    timeout: 400ms\n    unhealthy_after: 2\n"
      "    healthy_after: 1\n    checks: { connections: false }\n"
      "    recovery:\n      data_dir: " +
      standby.dataDir() +
      "\n    restart:\n      method: command\n      command: [\"/bin/true\"]\n"
      "      recovery_grace: 4s\n      grace: 30s\n";
  auto agent = startAgent(dir, targets);
  agent.waitUp();
  auto startingUp = waitEvent(*agent.process, "target_starting_up", 10s);
  BOOST_REQUIRE_MESSAGE(startingUp, agent.process->output());
  auto deferred = waitEvent(*agent.process, "restart_deferred", 5s);
  BOOST_REQUIRE_MESSAGE(deferred, agent.process->output());
  BOOST_TEST(deferred->find("reason=starting_up") != std::string::npos, *deferred);
  // Its rule is the one known when it was announced (the first reading may come a moment
  // later); /status has the current one.
  BOOST_TEST_MESSAGE("announced: " << *deferred);

  // /status shows the rule and the source of this run's reading. A reading comes every
  // min(interval, recovery_grace / 4) while the target is starting up; a round that fails
  // otherwise in between (a slow round: the failure count includes the starting-up rounds,
  // docs/health-model.md) begins a new run, whose first reading may be a moment away. Seen once,
  // in CI on a fresh machine: the first poll had none. So: the first /status that carries this
  // run's reading (read_at), within 2 s; the polls before it are logged.
  Poco::JSON::Object::Ptr firstRead;
  for (const auto until = Clock::now() + 2s; Clock::now() < until;) {
    auto r = recoveryOf(agent);
    if (!text(r, "read_at").empty()) {
      firstRead = r;
      break;
    }
    BOOST_TEST_MESSAGE("no reading of this run yet: " << json(r));
    std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST_REQUIRE(!firstRead.isNull(), agent.process->output());
  BOOST_TEST(text(firstRead, "rule") == "no_progress", json(firstRead));
  BOOST_TEST(text(firstRead, "source") == "startup_process", json(firstRead));
  BOOST_TEST(!text(firstRead, "stuck_at").empty(), json(firstRead));

  // The WAL flows for three times recovery_grace: no restart, and /status shows the replay move.
  const auto flowStart = Clock::now();
  std::string first, last;
  int moves = 0;
  while (Clock::now() - flowStart < 12s) {
    auto r = recoveryOf(agent);
    const std::string progress = text(r, "progress");
    if (first.empty()) first = progress;
    if (!progress.empty() && progress != last) {
      ++moves;
      last = progress;
    }
    std::this_thread::sleep_for(250ms);
  }
  BOOST_TEST(countEvents(*agent.process, "restart_requested") == 0u, agent.process->output());
  BOOST_TEST(moves >= 5, "the replay moved " << moves << " times: " << first << " .. " << last);
  BOOST_TEST_MESSAGE("12 s of replay (3 x recovery_grace), "
                     << writer.batches() << " write batches, progress " << first << " .. " << last
                     << " (" << moves << " moves), no restart");

  // The writes stop: the replay has nothing left to do; restarted about recovery_grace after
  // its last move.
  writer.stop();
  const auto stopped = Clock::now();
  auto requested = waitEvent(*agent.process, "restart_requested", 15s);
  const double after = secondsSince(stopped);
  BOOST_REQUIRE_MESSAGE(requested, agent.process->output());
  BOOST_TEST_MESSAGE("restart_requested " << after
                                          << " s after the writes stopped: " << *requested);
  BOOST_TEST(requested->find("no progress for longer than recovery_grace 4s") != std::string::npos,
             *requested);
  BOOST_TEST(after >= 3.0);  // not before recovery_grace without progress (minus the tail of WAL)
  BOOST_TEST(after <= 7.0);  // recovery_grace after the last move, plus a reading and a round
  BOOST_TEST(countEvents(*agent.process, "restart_requested") == 1u);
  BOOST_TEST_MESSAGE("whole test " << secondsSince(testStart) << " s");
}

// Where nothing can be read (no data directory known: another host, a container), the total-time
// rule stays, and /status says so and why.
BOOST_AUTO_TEST_CASE(without_a_readable_source_status_says_the_total_rule_applies) {
  PgClusterOptions options;
  options.standby_no_hot = true;
  PgCluster standby(options);
  TempDir dir;
  const std::string targets =
      "  - name: main\n    conninfo: \"" + standby.conninfo() +
      "\"\n    interval: 500ms\n    timeout: 400ms\n    unhealthy_after: 2\n"
      "    restart:\n      method: command\n      command: [\"/bin/true\"]\n"
      "      recovery_grace: 1m\n";
  auto agent = startAgent(dir, targets);
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitEvent(*agent.process, "restart_deferred", 10s),
                        agent.process->output());
  Poco::JSON::Object::Ptr r;
  for (int i = 0; i < 20 && text(r, "problem").empty(); ++i) {
    std::this_thread::sleep_for(250ms);
    r = recoveryOf(agent);
  }
  BOOST_TEST_REQUIRE(r);
  BOOST_TEST(text(r, "rule") == "total");
  BOOST_TEST(text(r, "source") == "");
  BOOST_TEST(text(r, "problem").find("recovery.data_dir") != std::string::npos, text(r, "problem"));
  BOOST_TEST(!text(r, "stuck_at").empty());
  const auto deferred = waitEvent(*agent.process, "restart_deferred", 1s);
  BOOST_TEST(deferred->find("rule=total") != std::string::npos, *deferred);
}

BOOST_AUTO_TEST_SUITE_END()
