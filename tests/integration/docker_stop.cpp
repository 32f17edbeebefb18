// Issue 9 with a real dockerd: a `docker stop` is an operator's stop and the agent never undoes
// it, and it does not delay it either. PostgreSQL runs in a container on the host's own files
// (../shared/TESTING.md), with --stop-signal SIGTERM given explicitly: a *smart* shutdown, which
// waits for every session, the agent's monitoring session included. The real agent watches it
// with restart.method docker.
//  * docker stop -t 30: done in about a second (the agent's session lets go), exit 0, and the
//    container stays down: restart_deferred (operator_stopped), no restart_requested.
//  * docker stop -t 1 while the test itself holds a session, so that the smart shutdown cannot
//    finish and Docker SIGKILLs (exit 137; events kill 15, kill 9, die 137, stop): still the
//    operator's stop, never restarted. (Before: the `die` was published as a failure before
//    `stop` arrived, and the agent restarted the container.)
//  * docker kill: a crash, restarted.
#define BOOST_TEST_MODULE docker_stop
#include <unistd.h>

#include <libpq-fe.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "support/agent_harness.h"
#include "support/docker_engine.h"
#include "support/pg_cluster.h"
#include "support/spawn.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
using Clk = std::chrono::steady_clock;

namespace {

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

using PgConnPtr = std::unique_ptr<PGconn, decltype(&PQfinish)>;

PgConnPtr connect(int port) {
  std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port) +
                         " dbname=postgres user=postgres connect_timeout=2 application_name=holder";
  return PgConnPtr(PQconnectdb(conninfo.c_str()), &PQfinish);
}

bool selectOne(int port) {
  auto conn = connect(port);
  if (PQstatus(conn.get()) != CONNECTION_OK) return false;
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), "SELECT 1"), &PQclear);
  return PQresultStatus(res.get()) == PGRES_TUPLES_OK;
}

bool waitSelectOne(int port, std::chrono::milliseconds timeout) {
  const auto until = Clk::now() + timeout;
  while (!selectOne(port)) {
    if (Clk::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

/// A private dockerd (it does not collide with another test's) and one initdb'd cluster; each
/// test serves the cluster's data dir from a container of its own.
struct Engine {
  Engine() {
    std::string why = DockerEngine::unavailableReason();
    if (!why.empty()) throw std::runtime_error("docker tests cannot run here: " + why);
    cluster = std::make_unique<PgCluster>();
    cluster->stopFast();  // configured (port, socket dir); containers run it from now on
    engine = std::make_unique<DockerEngine>(true);
    image = engine->emptyImage();
  }
  static Engine* instance;
  std::unique_ptr<PgCluster> cluster;  // destroyed last: after the containers
  std::unique_ptr<DockerEngine> engine;
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

/// postgres in a container named `name`, stopped by SIGTERM (a smart shutdown), as Docker's
/// default stop signal would; given explicitly so an image's STOPSIGNAL cannot change it.
struct PgContainer {
  explicit PgContainer(std::string containerName)
      : cluster(*Engine::instance->cluster), name(std::move(containerName)) {
    std::vector<std::string> args{"--network", "host", "--stop-signal", "SIGTERM"};
    if (auto ids = postgresUserIfRoot())
      args.insert(args.end(),
                  {"--user", std::to_string(ids->uid) + ":" + std::to_string(ids->gid)});
    for (const char* d : {"/usr", "/lib", "/lib64", "/bin", "/etc"})
      if (std::filesystem::exists(d))
        args.insert(args.end(), {"-v", std::string(d) + ":" + d + ":ro"});
    args.insert(args.end(), {"-v", cluster.dir() + ":" + cluster.dir()});
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
  static DockerEngine& docker() { return *Engine::instance->engine; }
  std::string inspect(const std::string& format) {
    return docker().dockerOk({"inspect", "-f", format, name});
  }
  bool running() { return inspect("{{.State.Running}}") == "true"; }

  PgCluster& cluster;
  std::string name;
};

AgentUnderTest watch(const TempDir& dir, PgContainer& pg) {
  auto agent = startAgent(dir, "  - name: pg\n    conninfo: \"" + pg.cluster.conninfo() +
                                   "\"\n    interval: 1s\n    timeout: 800ms\n"
                                   "    unhealthy_after: 2\n    healthy_after: 1\n"
                                   "    restart:\n      method: docker\n      container: " +
                                   pg.name + "\n      docker_host: \"" + pg.docker().host() +
                                   "\"\n      timeout: 30s\n      grace: 20s\n");
  agent.waitUp();
  BOOST_REQUIRE_MESSAGE(waitStatus(*agent.http, "/health", 200, 15s), agent.process->output());
  BOOST_REQUIRE_MESSAGE(waitMonitorConnection(pg.cluster, 10s), agent.process->output());
  return agent;
}

/// The container stays down and the agent does not touch it for `window`; the agent says why.
void checkNotRestarted(AgentUnderTest& agent, PgContainer& pg, std::chrono::milliseconds window) {
  const auto until = Clk::now() + window;
  while (Clk::now() < until) {
    BOOST_REQUIRE_MESSAGE(!pg.running(),
                          "the operator's stop was undone\n" + agent.process->output());
    std::this_thread::sleep_for(200ms);
  }
  BOOST_TEST(countEvents(*agent.process, "restart_requested", "pg") == 0u, agent.process->output());
  BOOST_TEST(agent.process->output().find("reason=operator_stopped") != std::string::npos,
             agent.process->output());
  BOOST_TEST(agent.process->running());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(docker_stop)

BOOST_AUTO_TEST_CASE(docker_stop_is_quick_and_never_undone) {
  PgContainer pg("pgvigil-stop-clean");
  TempDir dir;
  auto agent = watch(dir, pg);

  const auto started = Clk::now();
  std::string out;
  const int code = pg.docker().docker({"stop", "-t", "30", pg.name}, &out, 60s);
  const auto took = msSince(started);
  std::cout << "docker stop -t 30 (SIGTERM: smart shutdown), agent watching (interval 1s): " << took
            << " ms, container exit " << pg.inspect("{{.State.ExitCode}}") << std::endl;
  BOOST_REQUIRE_MESSAGE(code == 0, out);
  BOOST_TEST(took < 10000, "the agent's session held the smart shutdown");
  BOOST_TEST(pg.inspect("{{.State.ExitCode}}") == "0");
  checkNotRestarted(agent, pg, 6s);
}

BOOST_AUTO_TEST_CASE(docker_stop_that_had_to_sigkill_is_still_an_operator_stop) {
  PgContainer pg("pgvigil-stop-killed");
  TempDir dir;
  auto agent = watch(dir, pg);
  // A session of the test's own holds the smart shutdown, so Docker SIGKILLs after 1 s.
  auto holder = connect(pg.cluster.port());
  BOOST_REQUIRE(PQstatus(holder.get()) == CONNECTION_OK);

  const auto started = Clk::now();
  std::string out;
  const int code = pg.docker().docker({"stop", "-t", "1", pg.name}, &out, 60s);
  std::cout << "docker stop -t 1 with a session held: " << msSince(started) << " ms" << std::endl;
  BOOST_REQUIRE_MESSAGE(code == 0, out);
  checkNotRestarted(agent, pg, 6s);
  BOOST_TEST(pg.inspect("{{.State.ExitCode}}") == "137");  // Docker had to SIGKILL
}

BOOST_AUTO_TEST_CASE(docker_kill_is_a_crash_and_is_restarted) {
  PgContainer pg("pgvigil-kill");
  TempDir dir;
  auto agent = watch(dir, pg);
  const auto started = Clk::now();
  pg.docker().dockerOk({"kill", pg.name});
  auto requested = waitEvent(*agent.process, "restart_requested", 15s);
  BOOST_REQUIRE_MESSAGE(requested, agent.process->output());
  BOOST_REQUIRE_MESSAGE(waitEvent(*agent.process, "restart_succeeded", 30s),
                        agent.process->output());
  BOOST_TEST(waitSelectOne(pg.cluster.port(), 20s));
  BOOST_TEST(pg.running());
  std::cout << "docker kill -> restarted, SELECT 1 answers: " << msSince(started) << " ms"
            << std::endl;
  BOOST_TEST(agent.process->output().find("reason=operator_stopped") == std::string::npos,
             agent.process->output());
}

BOOST_AUTO_TEST_SUITE_END()
