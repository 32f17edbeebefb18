// DockerRestarter and DockerEventWatcher against a real dockerd (tests/support/docker_engine.h)
// running PostgreSQL in a container on the host's own binaries (--network host, bind mounts, the
// postgres uid): docker kill -> failed, restart brings it back; docker stop -> operator stop;
// the watcher sees `die` within a second; removed -> not found; daemon stopped -> unreachable.
#define BOOST_TEST_MODULE docker_restarter
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "restart/docker_restarter.h"
#include "support/docker_engine.h"
#include "support/pg_cluster.h"
#include "support/spawn.h"

using namespace pgvigil;
using namespace std::chrono_literals;
using Clk = std::chrono::steady_clock;

namespace pgvigil {
inline std::ostream& operator<<(std::ostream& os, RestartOutcome::Result r) {
  return os << toString(r);
}
inline std::ostream& operator<<(std::ostream& os, ServiceState s) {
  return os << toString(s);
}
}  // namespace pgvigil

namespace {

const Clock& sysClock() {
  return SystemClock::instance();
}
Deadline within(std::chrono::milliseconds d) {
  return Deadline(sysClock(), d);
}

long long msSince(Clk::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clk::now() - t).count();
}

std::string postgresBinary() {
  for (const char* v : {"17", "16", "15"}) {
    std::string p = std::string("/usr/lib/postgresql/") + v + "/bin/postgres";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  throw std::runtime_error("no PostgreSQL binaries");
}

/// SELECT 1 over TCP answers. (PgCluster::waitReady follows postmaster.pid, which holds the
/// in-container pid here.)
bool selectOne(int port) {
  std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port) +
                         " dbname=postgres user=postgres connect_timeout=2";
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) return false;
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), "SELECT 1"), &PQclear);
  return PQresultStatus(res.get()) == PGRES_TUPLES_OK;
}

bool waitSelectOne(int port, std::chrono::milliseconds timeout) {
  auto until = Clk::now() + timeout;
  while (!selectOne(port)) {
    if (Clk::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

/// One docker engine and one initdb'd cluster for the whole module (a private dockerd when none
/// runs). Each test serves the cluster's data dir from a container of its own; a container
/// removed with -f leaves a crashed data dir, which the next one recovers in moments.
struct Engine {
  Engine() {
    std::string why = test::DockerEngine::unavailableReason();
    if (!why.empty()) throw std::runtime_error("docker tests cannot run here: " + why);
    cluster = std::make_unique<test::PgCluster>();
    cluster->stopFast();  // configured (port, socket dir); containers run it from now on
    engine = std::make_unique<test::DockerEngine>();
    image = engine->emptyImage();
  }
  static Engine* instance;
  std::unique_ptr<test::PgCluster> cluster;  // destroyed last: after the containers
  std::unique_ptr<test::DockerEngine> engine;
  std::string image;
};
Engine* Engine::instance = nullptr;

struct GlobalEngine {
  GlobalEngine() { Engine::instance = new Engine(); }
  ~GlobalEngine() {
    delete Engine::instance;
    Engine::instance = nullptr;
  }
};
BOOST_TEST_GLOBAL_FIXTURE(GlobalEngine);

/// The arguments that run a command as the postgres user on the host's own files.
std::vector<std::string> hostFilesArgs(const std::string& rwDir) {
  std::vector<std::string> args{"--network", "host", "--stop-signal", "SIGINT"};
  if (auto ids = test::postgresUserIfRoot())
    args.insert(args.end(), {"--user", std::to_string(ids->uid) + ":" + std::to_string(ids->gid)});
  for (const char* d : {"/usr", "/lib", "/lib64", "/bin", "/etc"})
    if (std::filesystem::exists(d))
      args.insert(args.end(), {"-v", std::string(d) + ":" + d + ":ro"});
  args.insert(args.end(), {"-v", rwDir + ":" + rwDir});
  return args;
}

/// The module's cluster, served by `postgres` inside a container named `name`.
struct PgContainer {
  explicit PgContainer(std::string containerName)
      : cluster(*Engine::instance->cluster), name(std::move(containerName)) {
    auto args = hostFilesArgs(cluster.dir());
    args.insert(args.end(), {Engine::instance->image, postgresBinary(), "-D", cluster.dataDir()});
    docker().runContainer(name, args);
    if (!waitSelectOne(cluster.port(), 30s)) {
      std::string logs;
      docker().docker({"logs", name}, &logs);
      docker().removeContainer(name);
      throw std::runtime_error("postgres in the container did not start:\n" + logs);
    }
  }
  ~PgContainer() { docker().removeContainer(name); }
  static test::DockerEngine& docker() { return *Engine::instance->engine; }
  DockerRestarter restarter() { return DockerRestarter(name, docker().host(), sysClock()); }

  test::PgCluster& cluster;
  std::string name;
};

/// Records what a watcher reports, and lets a test wait for a state.
struct Recorder {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<ServiceState> states;
  void operator()(ServiceState s) {
    std::lock_guard lock(mutex);
    states.push_back(s);
    cv.notify_all();
  }
  bool waitFor(ServiceState want, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, timeout, [&] { return !states.empty() && states.back() == want; });
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(docker)

BOOST_AUTO_TEST_CASE(test_KilledContainerIsFailedAndRestartBringsItBack) {
  PgContainer pg("pgvigil-test-kill");
  auto restarter = pg.restarter();
  BOOST_TEST(restarter.query(within(5s)) == ServiceState::kRunning);

  pg.docker().dockerOk({"kill", pg.name});
  BOOST_TEST(pg.docker().dockerOk({"inspect", "-f", "{{.State.ExitCode}}", pg.name}) == "137");
  BOOST_TEST(restarter.query(within(5s)) == ServiceState::kFailed);
  BOOST_TEST(!selectOne(pg.cluster.port()));

  auto start = Clk::now();
  auto out = restarter.restart(within(60s));
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded, out.detail);
  BOOST_TEST(out.detail.find("started (was exited 137)") != std::string::npos, out.detail);
  BOOST_TEST(waitSelectOne(pg.cluster.port(), 20s));
  BOOST_TEST(pg.cluster.query("SELECT 1") == "1");
  BOOST_TEST_MESSAGE("docker kill -> restart() -> SELECT 1 answers: "
                     << msSince(start) << " ms (restart() itself " << out.took.count() << " ms)");
  BOOST_TEST(restarter.query(within(5s)) == ServiceState::kRunning);
}

BOOST_AUTO_TEST_CASE(test_RunningContainerIsRestartedWithAFastShutdown) {
  PgContainer pg("pgvigil-test-running");
  auto restarter = pg.restarter();
  std::string startedBefore =
      pg.docker().dockerOk({"inspect", "-f", "{{.State.StartedAt}}", pg.name});
  auto out = restarter.restart(within(60s));
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded, out.detail);
  BOOST_TEST(out.detail == "container restarted (stop timeout 45s)");
  BOOST_TEST(pg.docker().dockerOk({"inspect", "-f", "{{.State.StartedAt}}", pg.name}) !=
             startedBefore);
  BOOST_TEST(waitSelectOne(pg.cluster.port(), 20s));
  // --stop-signal SIGINT, as the official image: PostgreSQL's fast shutdown, not a kill.
  std::string logs;
  pg.docker().docker({"logs", pg.name}, &logs);
  BOOST_TEST(logs.find("received fast shutdown request") != std::string::npos, logs);
}

BOOST_AUTO_TEST_CASE(test_DockerStopIsAnOperatorStop) {
  PgContainer pg("pgvigil-test-stop");
  auto restarter = pg.restarter();
  pg.docker().dockerOk({"stop", pg.name});
  BOOST_TEST(pg.docker().dockerOk({"inspect", "-f", "{{.State.ExitCode}}", pg.name}) == "0");
  BOOST_TEST(restarter.query(within(5s)) == ServiceState::kOperatorStopped);
  // An explicit restart (an operator's POST /restart) still starts it.
  auto out = restarter.restart(within(60s));
  BOOST_TEST(out.result == RestartOutcome::Result::kSucceeded, out.detail);
  BOOST_TEST(out.detail == "container started (was exited 0)");
  BOOST_TEST(waitSelectOne(pg.cluster.port(), 20s));
}

BOOST_AUTO_TEST_CASE(test_DockerStopThatHadToKillIsStillAnOperatorStop) {
  // A container that ignores its stop signal: `docker stop -t 1` SIGKILLs it (exit 137). Only
  // the daemon's event log (a `stop` after the `die`) tells this from a crash.
  auto& docker = *Engine::instance->engine;
  const std::string name = "pgvigil-test-stubborn";
  auto args = hostFilesArgs("/tmp");
  args.insert(args.end(), {Engine::instance->image, "/bin/sh", "-c",
                           "trap '' INT TERM; while :; do sleep 1; done"});
  docker.runContainer(name, args);
  DockerRestarter restarter(name, docker.host(), sysClock());
  BOOST_TEST(restarter.query(within(5s)) == ServiceState::kRunning);
  docker.dockerOk({"stop", "-t", "1", name});
  BOOST_TEST(docker.dockerOk({"inspect", "-f", "{{.State.ExitCode}}", name}) == "137");
  BOOST_TEST(restarter.query(within(5s)) == ServiceState::kOperatorStopped);

  docker.dockerOk({"start", name});
  docker.dockerOk({"kill", name});  // the same exit code, but no `stop`: a failure
  BOOST_TEST(restarter.query(within(5s)) == ServiceState::kFailed);
  docker.removeContainer(name);
}

BOOST_AUTO_TEST_CASE(test_WatcherSeesDieWithinASecond) {
  PgContainer pg("pgvigil-test-watch");
  Recorder seen;
  DockerEventWatcher watcher(pg.name, pg.docker().host());
  watcher.start(std::ref(seen));
  BOOST_REQUIRE(seen.waitFor(ServiceState::kRunning, 5s));

  auto killed = Clk::now();
  pg.docker().dockerOk({"kill", pg.name});
  BOOST_TEST(seen.waitFor(ServiceState::kFailed, 5s));
  auto ms = msSince(killed);
  BOOST_TEST_MESSAGE("watcher saw the container die " << ms << " ms after `docker kill` began");
  BOOST_TEST(ms < 1000);

  pg.docker().dockerOk({"start", pg.name});
  BOOST_TEST(seen.waitFor(ServiceState::kRunning, 5s));
  pg.docker().dockerOk({"stop", pg.name});
  BOOST_TEST(seen.waitFor(ServiceState::kOperatorStopped, 5s));

  auto stopping = Clk::now();
  watcher.stop();  // interrupts the blocking read
  BOOST_TEST(msSince(stopping) < 1000);
}

BOOST_AUTO_TEST_CASE(test_RemovedContainerIsNotFound) {
  PgContainer pg("pgvigil-test-gone");
  auto restarter = pg.restarter();
  Recorder seen;
  DockerEventWatcher watcher(pg.name, pg.docker().host());
  watcher.start(std::ref(seen));
  BOOST_REQUIRE(seen.waitFor(ServiceState::kRunning, 5s));
  pg.docker().removeContainer(pg.name);
  BOOST_TEST(seen.waitFor(ServiceState::kNotFound, 5s));
  watcher.stop();
  BOOST_TEST(restarter.query(within(5s)) == ServiceState::kNotFound);
  auto out = restarter.restart(within(10s));
  BOOST_TEST(out.result == RestartOutcome::Result::kNotFound);
  BOOST_TEST(out.detail.find("No such container") != std::string::npos, out.detail);
}

BOOST_AUTO_TEST_CASE(test_StoppedDaemonIsUnreachableAndNothingCrashes) {
  // A daemon of our own, so stopping it hurts no other test.
  test::DockerEngine own(/*privateDaemon=*/true);
  own.emptyImage();
  const std::string name = "pgvigil-test-daemon";
  auto args = hostFilesArgs("/tmp");
  // sleep as PID 1 ignores SIGTERM: let dockerd's shutdown kill it after 1 s, not 10.
  args.insert(args.end(), {"--stop-timeout", "1", "pgvigil-test/empty", "/bin/sleep", "1000"});
  own.runContainer(name, args);
  DockerRestarter restarter(name, own.host(), sysClock());
  BOOST_TEST(restarter.query(within(5s)) == ServiceState::kRunning);
  Recorder seen;
  DockerEventWatcher watcher(name, own.host());
  watcher.start(std::ref(seen));
  BOOST_REQUIRE(seen.waitFor(ServiceState::kRunning, 5s));

  own.stopDaemon();
  BOOST_TEST(seen.waitFor(ServiceState::kUnknown, 5s));  // lost contact; it keeps retrying
  auto out = restarter.restart(within(5s));
  BOOST_TEST(out.result == RestartOutcome::Result::kUnreachable);
  BOOST_TEST(out.detail.find("not reachable") != std::string::npos, out.detail);
  BOOST_TEST(restarter.query(within(5s)) == ServiceState::kUnknown);
  std::this_thread::sleep_for(300ms);  // a few reconnect attempts against the dead socket
  auto stopping = Clk::now();
  watcher.stop();
  BOOST_TEST(msSince(stopping) < 1000);
}

BOOST_AUTO_TEST_CASE(test_SocketWithoutPermissionIsPermissionDenied) {
  // A socket only root may use, tried by a thread running as nobody (credentials are per thread
  // at the kernel level; the raw syscall changes only this thread's).
  char dir[] = "/tmp/pgvigil-docker-perm-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(dir));
  ::chmod(dir, 0755);
  std::string path = std::string(dir) + "/docker.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::copy(path.begin(), path.end(), addr.sun_path);
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  BOOST_REQUIRE(::listen(fd, 4) == 0);
  ::chmod(path.c_str(), 0600);

  RestartOutcome out;
  bool dropped = false;
  std::thread([&] {
    dropped = ::syscall(SYS_setresuid, 65534, 65534, 65534) == 0;
    DockerRestarter restarter("pg", "unix://" + path, sysClock());
    out = restarter.restart(within(5s));
  }).join();
  ::close(fd);
  std::filesystem::remove_all(dir);
  BOOST_REQUIRE_MESSAGE(dropped, "this test needs root to become nobody");
  BOOST_TEST(out.result == RestartOutcome::Result::kPermissionDenied);
  BOOST_TEST(out.detail.find("permission denied") != std::string::npos, out.detail);
}

BOOST_AUTO_TEST_SUITE_END()
