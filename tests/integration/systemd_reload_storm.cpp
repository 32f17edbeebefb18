// Issue 9: a reload storm while the agent's service watchers stream events.
//
// One private dockerd (DockerEngine(true)) runs three containers: PostgreSQL on the host's own
// binaries (a target with restart.method docker), a dummy `sleep infinity` container, and a real
// systemd as PID 1 (tests/support/systemd_container.h) with a PostgreSQL unit (a target with
// restart.method systemd) and a dummy unit. The agent runs INSIDE the systemd container
// (`docker exec`, the build dir bind-mounted read-only), so it reaches that systemd's D-Bus as it
// would on a real machine, and the dockerd's socket is bind-mounted in too, so one agent has
// both kinds of watcher at once.
//
// Four targets: pg_docker and pg_systemd (the real PostgreSQL servers, restarted through
// docker / systemd) and ev_docker and ev_systemd (the same servers' probes, but their restart
// method points at the dummy container / unit, which a generator restarts in a loop: their
// watchers report a change every few hundred ms). 50 reloads in a row alternate configs that
// remove targets and add them back and that change restart methods (docker -> command -> none,
// systemd <-> none), each a POST /reload that waits for the new config to be applied. A poller
// asks /livez every 20 ms throughout: each answer must come within 100 ms. Then the final
// config's watchers must still work (an operator stop of the dummy container and unit is seen
// as restart_deferred reason=operator_stopped), its restart methods too (docker kill and kill -9
// of PostgreSQL are undone by the agent), and SIGTERM ends the agent with 0.
//
// Everything is bounded by its own deadline (each reload 10 s, the storm stops at the first
// failed one, each wait after it 10-45 s; about 90 s in all here) and by ctest's TIMEOUT 300.
// No Boost timeout: it would abort without running the destructors. Teardown (also on failure):
// the docker exec client, then the systemd container (which ends the agent inside it), the
// containers, the dockerd.
#define BOOST_TEST_MODULE systemd_reload_storm
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "support/agent_harness.h"
#include "support/docker_engine.h"
#include "support/pg_cluster.h"
#include "support/spawn.h"
#include "support/systemd_container.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
using Clk = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

constexpr const char* kToken = "storm-token-0123456789abcdef";
constexpr const char* kDummyUnit = "pgv-dummy.service";
/// 50; PGVIGIL_STORM_RELOADS overrides it (0 checks the rest of the test on an agent that
/// would deadlock in the storm).
int reloadCount() {
  const char* v = std::getenv("PGVIGIL_STORM_RELOADS");
  return v ? std::atoi(v) : 50;
}
constexpr auto kPrompt = 100ms;

long long msSince(Clk::time_point t) {
  return std::chrono::duration_cast<Ms>(Clk::now() - t).count();
}

std::string postgresBinary() {
  for (const char* v : {"17", "16", "15"}) {
    std::string p = std::string("/usr/lib/postgresql/") + v + "/bin/postgres";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  throw std::runtime_error("no PostgreSQL binaries");
}

bool selectOne(int port) {
  std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port) +
                         " dbname=postgres user=postgres connect_timeout=2";
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) return false;
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), "SELECT 1"), &PQclear);
  return PQresultStatus(res.get()) == PGRES_TUPLES_OK;
}

template <class Pred>
bool waitFor(Pred pred, Ms timeout, Ms period = 50ms) {
  const auto until = Clk::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clk::now() >= until) return false;
    std::this_thread::sleep_for(period);
  }
}

/// The host's files, read-only, for a container on the empty image (--network host).
std::vector<std::string> hostFiles() {
  std::vector<std::string> args{"--network", "host"};
  for (const char* d : {"/usr", "/lib", "/lib64", "/bin", "/etc"})
    if (fs::exists(d)) args.insert(args.end(), {"-v", std::string(d) + ":" + d + ":ro"});
  return args;
}

/// /livez every 20 ms in the background; every answer's latency is recorded.
class LivezPoller {
 public:
  explicit LivezPoller(const HttpClient& http) : http_(http), thread_([this] { run(); }) {}
  ~LivezPoller() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long long maxMs() const { return max_; }
  long long count() const { return count_; }
  long long slow() const { return slow_; }
  long long longestStallMs() const { return longestStall_; }

 private:
  void run() {
    Clk::time_point stallFrom{};
    while (!stop_) {
      const auto t0 = Clk::now();
      auto r = http_.request("GET", "/livez", {}, 2000ms);
      const long long ms = msSince(t0);
      ++count_;
      const bool bad = r.status != 200 || ms >= kPrompt.count();
      if (bad) {
        ++slow_;
        if (stallFrom == Clk::time_point{}) stallFrom = t0;
        longestStall_ = std::max<long long>(longestStall_, msSince(stallFrom));
      } else {
        stallFrom = {};
      }
      max_ = std::max<long long>(max_, ms);
      std::this_thread::sleep_for(20ms);
    }
  }
  const HttpClient& http_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> max_{0}, count_{0}, slow_{0}, longestStall_{0};
  std::thread thread_;
};

struct Names {
  std::string pgContainer, dummyContainer, dockerHost, pgUnit;
  int dockerPgPort = 0, systemdPgPort = 0;
};

enum class Method { kNone, kCommand, kDocker, kSystemd };

std::string targetYaml(const std::string& name, int port, Method method, const Names& n,
                       const std::string& container, const std::string& unit) {
  std::string y = "  - name: " + name +
                  "\n    conninfo: \"host=127.0.0.1 port=" + std::to_string(port) +
                  " dbname=postgres user=postgres connect_timeout=2\"\n"
                  "    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 2\n"
                  "    healthy_after: 1\n    restart:\n";
  switch (method) {
    case Method::kNone:
      y += "      method: none\n";
      break;
    case Method::kCommand:
      y += "      method: command\n      command: [\"/bin/true\"]\n";
      break;
    case Method::kDocker:
      y += "      method: docker\n      container: " + container + "\n      docker_host: \"" +
           n.dockerHost + "\"\n";
      break;
    case Method::kSystemd:
      y += "      method: systemd\n      unit: " + unit + "\n";
      break;
  }
  y += "      timeout: 30s\n      grace: 20s\n      backoff: { initial: 1s, max: 5s }\n";
  return y;
}

/// One config of the storm: which targets, with which restart method (absent: removed).
struct Variant {
  const char* label;
  std::optional<Method> pgDocker, pgSystemd, evDocker, evSystemd;
};

const Variant kFull{"full", Method::kDocker, Method::kSystemd, Method::kDocker, Method::kSystemd};
const Variant kVariants[] = {
    {"remove pg_docker+ev_systemd", std::nullopt, Method::kSystemd, Method::kDocker, std::nullopt},
    {"methods command/none", Method::kCommand, Method::kNone, Method::kCommand, Method::kNone},
    kFull,
    {"remove pg_systemd+ev_docker", Method::kDocker, std::nullopt, std::nullopt, Method::kSystemd},
    {"methods none/systemd", Method::kNone, Method::kSystemd, Method::kNone, Method::kNone},
    kFull,
};

std::string configYaml(const Variant& v, const Names& n, int listenPort, const std::string& dir) {
  std::string y = "agent:\n  listen: \"127.0.0.1:" + std::to_string(listenPort) +
                  "\"\n  token_file: " + dir + "/token\n  state_dir: " + dir +
                  "/state\n  log: { output: stdout, format: text, level: info }\ntargets:\n";
  if (v.pgDocker) y += targetYaml("pg_docker", n.dockerPgPort, *v.pgDocker, n, n.pgContainer, "");
  if (v.pgSystemd) y += targetYaml("pg_systemd", n.systemdPgPort, *v.pgSystemd, n, "", n.pgUnit);
  if (v.evDocker)
    y += targetYaml("ev_docker", n.dockerPgPort, *v.evDocker, n, n.dummyContainer, "");
  if (v.evSystemd) y += targetYaml("ev_systemd", n.systemdPgPort, *v.evSystemd, n, "", kDummyUnit);
  return y;
}

void writeAtomically(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path + ".new", std::ios::trunc);
    out << text;
  }
  fs::rename(path + ".new", path);
}

bool hasField(const std::string& line, const std::string& kv) {
  const auto pos = line.find(" " + kv);
  if (pos == std::string::npos) return false;
  const auto after = pos + 1 + kv.size();
  return after == line.size() || line[after] == ' ';
}

/// For a failure message only: the stacks of the agent (found by its unique config path on its
/// command line, read from /proc; never signalled), its pgvigil frames, when gdb is installed.
std::string agentStacks(const std::string& configPath) {
  if (!fs::exists("/usr/bin/gdb")) return "(no gdb for the agent's stacks)";
  std::string pid;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (auto& ch : cmdline)
      if (ch == '\0') ch = ' ';
    if (cmdline.find(" run -c " + configPath) != std::string::npos &&
        cmdline.find("/bin/sh") == std::string::npos && cmdline.find("docker") == std::string::npos)
      pid = name;
  }
  if (pid.empty()) return "(agent process not found)";
  CommandResult r = runCommand({"gdb", "-p", pid, "-batch", "-ex", "thread apply all bt"}, 60s);
  std::istringstream lines(r.output);
  std::string out, line;
  int kept = 0;
  while (std::getline(lines, line) && kept < 150) {
    if (line.rfind("Thread ", 0) == 0 || line.find("pgvigil::") != std::string::npos ||
        line.find("pthread_mutex_lock") != std::string::npos ||
        line.find("pthread_join") != std::string::npos ||
        line.find("__futex") != std::string::npos) {
      out += line.substr(0, 220) + "\n";
      ++kept;
    }
  }
  return "agent pid " + pid + ", stacks (pgvigil frames):\n" + out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reload_storm)

BOOST_AUTO_TEST_CASE(fifty_reloads_with_live_docker_and_systemd_watchers) {
  if (::geteuid() != 0 || !DockerEngine::unavailableReason().empty()) {
    BOOST_TEST_MESSAGE("skipped: needs root and docker: " << DockerEngine::unavailableReason());
    return;
  }
  const auto t0 = Clk::now();
  // The cluster the docker container serves (initdb'd here, then run by the container).
  PgCluster cluster;
  cluster.stopFast();
  DockerEngine engine(true);
  const std::string image = engine.emptyImage();
  Names n;
  const std::string tag = std::to_string(::getpid());
  n.pgContainer = "pgv-storm-pg-" + tag;
  n.dummyContainer = "pgv-storm-dummy-" + tag;
  n.dockerHost = engine.host();
  n.dockerPgPort = cluster.port();
  {
    auto args = hostFiles();
    args.insert(args.end(), {"--stop-signal", "SIGINT"});
    if (auto ids = postgresUserIfRoot())
      args.insert(args.end(),
                  {"--user", std::to_string(ids->uid) + ":" + std::to_string(ids->gid)});
    args.insert(args.end(), {"-v", cluster.dir() + ":" + cluster.dir(), image, postgresBinary(),
                             "-D", cluster.dataDir()});
    engine.runContainer(n.pgContainer, args);
    BOOST_REQUIRE_MESSAGE(waitFor([&] { return selectOne(n.dockerPgPort); }, 30s),
                          "PostgreSQL in the container did not answer");
    auto dummy = hostFiles();
    // Exits 0 on SIGTERM (docker stop: an operator stop), as PostgreSQL does after a shutdown.
    dummy.insert(dummy.end(),
                 {image, "/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"});
    engine.runContainer(n.dummyContainer, dummy);
  }

  const std::string socketPath = engine.host().substr(std::string("unix://").size());
  const std::string agentDir = fs::path(PGVIGIL_BINARY).parent_path().string();
  SystemdContainerOptions o;
  o.engine = &engine;
  o.units[kDummyUnit] =
      "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sleep infinity\n";
  o.bind_ro = {agentDir, socketPath};
  auto tc = Clk::now();
  SystemdContainer c(o);
  BOOST_TEST_MESSAGE("systemd container up in " << msSince(tc) << " ms");
  BOOST_REQUIRE(c.ensureActive(kDummyUnit, 30s));
  n.pgUnit = c.pgUnit();
  n.systemdPgPort = c.pgPort();

  const std::string dir = c.dir() + "/storm";
  fs::create_directories(dir);
  { std::ofstream(dir + "/token") << kToken; }
  const int listenPort = freeLoopbackPort();
  const std::string configPath = dir + "/pgvigil.yaml";
  writeAtomically(configPath, configYaml(kFull, n, listenPort, dir));

  AgentProcessOptions ao;
  ao.binary = fs::exists("/usr/bin/docker") ? "/usr/bin/docker" : "/usr/local/bin/docker";
  ao.args = {"--host",
             engine.host(),
             "exec",
             c.name(),
             "/bin/sh",
             "-c",
             "echo $$ > " + dir + "/agent.pid; exec " + std::string(PGVIGIL_BINARY) + " run -c " +
                 configPath};
  AgentProcess agent(ao);
  HttpClient http("127.0.0.1", listenPort);
  BOOST_REQUIRE_MESSAGE(waitStatus(http, "/livez", 200, 30s), agent.output());
  BOOST_REQUIRE_MESSAGE(waitStatus(http, "/health", 200, 30s), http.get("/status").body
                                                                   << "\n"
                                                                   << agent.output());
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", std::string("Bearer ") + kToken}};

  // The generator: the dummy container and unit restart over and over; ev_docker's and
  // ev_systemd's watchers report each change (die/start, inactive/active).
  std::atomic<bool> stopGen{false};
  std::atomic<int> genCycles{0};
  std::thread generator([&] {
    while (!stopGen) {
      engine.docker({"restart", "-t", "0", n.dummyContainer}, nullptr, 30s);
      c.systemctl({"restart", kDummyUnit}, 30s);
      ++genCycles;
    }
  });
  struct JoinOnExit {
    std::atomic<bool>& stop;
    std::thread& t;
    ~JoinOnExit() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joinGenerator{stopGen, generator};
  BOOST_REQUIRE(waitFor([&] { return genCycles >= 2; }, 20s));

  const int kReloads = reloadCount();
  LivezPoller livez(http);
  const auto stormStart = Clk::now();
  int ok = 0;
  long long slowestReload = 0;
  std::string failure;
  int mismatches = 0;
  std::string firstMismatch;
  for (int i = 0; i < kReloads; ++i) {
    const Variant& v = i == kReloads - 1 ? kFull : kVariants[i % std::size(kVariants)];
    writeAtomically(configPath, configYaml(v, n, listenPort, dir));
    const auto r0 = Clk::now();
    auto r = http.request("POST", "/reload", auth, 10000ms);
    const long long ms = msSince(r0);
    slowestReload = std::max(slowestReload, ms);
    if (r.status != 200) {
      failure = "reload " + std::to_string(i + 1) + " (" + v.label + "): status " +
                std::to_string(r.status) + " after " + std::to_string(ms) + " ms " + r.error + " " +
                r.body;
      break;
    }
    ++ok;
    // The new config is in force at once: /health lists exactly its targets.
    std::vector<std::string> want;
    if (v.pgDocker) want.push_back("pg_docker");
    if (v.pgSystemd) want.push_back("pg_systemd");
    if (v.evDocker) want.push_back("ev_docker");
    if (v.evSystemd) want.push_back("ev_systemd");
    const std::string body = http.request("GET", "/health", {}, 2000ms).body;
    std::size_t listed = 0;
    for (const char* name : {"pg_docker", "pg_systemd", "ev_docker", "ev_systemd"})
      if (body.find(std::string("\"") + name + "\"") != std::string::npos) ++listed;
    bool match = listed == want.size();
    for (const auto& w : want) match = match && body.find("\"" + w + "\"") != std::string::npos;
    if (!match) {
      ++mismatches;
      if (firstMismatch.empty())
        firstMismatch = "after reload " + std::to_string(i + 1) + " (" + v.label + "): " + body;
    }
  }
  const long long stormMs = msSince(stormStart);
  // A few more seconds of watcher events on the final config, still polled.
  std::this_thread::sleep_for(2s);
  livez.stop();
  stopGen = true;
  generator.join();

  std::cout << "reload storm: " << ok << "/" << kReloads << " reloads in " << stormMs
            << " ms (slowest " << slowestReload << " ms), generator cycles " << genCycles
            << "; /livez max " << livez.maxMs() << " ms over " << livez.count() << " requests, "
            << livez.slow() << " slow or failed, longest stall " << livez.longestStallMs() << " ms"
            << std::endl;
  if (!failure.empty()) {
    std::cout << "reload storm: " << failure << std::endl;
    std::cout << agentStacks(configPath) << std::endl;
  }
  BOOST_CHECK_MESSAGE(ok == kReloads, failure << "\n(the agent's deadlock in applyConfig: it "
                                              << "stops a watcher holding the agent mutex that "
                                              << "the watcher's callback waits for)");
  BOOST_CHECK_MESSAGE(livez.slow() == 0, livez.slow() << " /livez answers took >= 100 ms or "
                                                      << "failed; max " << livez.maxMs()
                                                      << " ms, longest stall "
                                                      << livez.longestStallMs() << " ms");
  BOOST_CHECK_MESSAGE(mismatches == 0,
                      mismatches << " reloads were not in force at once; first " << firstMismatch);
  BOOST_CHECK_GE(static_cast<long>(countEvents(agent, "config_loaded")), ok);
  BOOST_CHECK_EQUAL(countEvents(agent, "config_rejected"), 0u);

  if (ok == kReloads) {
    // The final config's targets are watched: all healthy, ...
    BOOST_CHECK_MESSAGE(waitStatus(http, "/health", 200, 20s), http.get("/status").body);
    // ... their watchers still stream: an operator stop of the dummies is seen (only a watcher
    // can tell; the probes of these targets go to healthy servers) ...
    std::size_t from = agent.lineCount();
    engine.docker({"stop", "-t", "5", n.dummyContainer}, nullptr, 30s);
    c.systemctl({"stop", kDummyUnit});
    for (const char* t : {"ev_docker", "ev_systemd"}) {
      auto line = agent.waitForLine(
          [&](const std::string& l) {
            return hasField(l, "event=restart_deferred") &&
                   hasField(l, std::string("target=") + t) &&
                   hasField(l, "reason=operator_stopped");
          },
          10s, from);
      BOOST_CHECK_MESSAGE(line, t << ": the operator stop of its service was not seen after the "
                                     "storm (its watcher is gone):\n"
                                  << agent.output());
    }
    engine.docker({"start", n.dummyContainer}, nullptr, 30s);
    c.systemctl({"start", kDummyUnit});
    // ... and their restart methods are the final ones: a crash of each PostgreSQL is undone.
    from = agent.lineCount();
    engine.docker({"kill", n.pgContainer}, nullptr, 30s);
    const std::string mainPid = c.unitProperty(n.pgUnit, "MainPID");
    BOOST_CHECK(c.exec({"kill", "-9", mainPid}, 10s).ok());
    for (const char* t : {"pg_docker", "pg_systemd"}) {
      auto line = agent.waitForLine(
          [&](const std::string& l) {
            return hasField(l, "event=restart_succeeded") &&
                   hasField(l, std::string("target=") + t);
          },
          45s, from);
      BOOST_CHECK_MESSAGE(line, t << " was not restarted after the storm:\n" << agent.output());
    }
    BOOST_CHECK_MESSAGE(waitStatus(http, "/health", 200, 30s), http.get("/status").body);
  }

  // SIGTERM to the agent inside the container: it exits 0 (docker exec relays its exit code).
  const auto pid = c.exec({"cat", dir + "/agent.pid"}, 10s).output;
  c.exec({"kill", "-TERM", pid.substr(0, pid.find_first_of("\r\n"))}, 10s);
  auto code = agent.wait(15s);
  BOOST_CHECK_MESSAGE(code.has_value(), "the agent did not exit within 15 s of SIGTERM");
  if (code) BOOST_CHECK_EQUAL(*code, 0);
  BOOST_TEST_MESSAGE("agent output (tail):\n"
                     << [&] {
                          auto out = agent.output();
                          return out.size() > 6000 ? out.substr(out.size() - 6000) : out;
                        }());
  std::cout << "reload storm test took " << msSince(t0) << " ms" << std::endl;
}

BOOST_AUTO_TEST_SUITE_END()
