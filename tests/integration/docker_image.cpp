// The container image (packaging/docker/Dockerfile) built from the Debian package
// (scripts/package.sh) on a Debian 12 base made from Debian's archive (scripts/debian-root.sh,
// `docker import`: no registry here), run on the test's real dockerd the way
// config/docker-compose.yaml runs it: the Docker socket mounted read-write with the socket's
// group added, restart.method docker, an app container whose health check asks pgvigil's
// /health/{target}. PostgreSQL runs in a container of its own on the host's binaries
// (../shared/TESTING.md; postgres:15 cannot be pulled). Host network, loopback only.
//  * the image starts as user pgvigil, its HEALTHCHECK (/livez) turns healthy, /health/db is 200
//    and the app's health check is healthy;
//  * `docker kill` of the database container: the pgvigil container restarts it through the
//    Engine API; /health/db is 200 again;
//  * `docker stop`: respected (restart_deferred, the container stays exited), the app turns
//    unhealthy; `docker start` by the operator: both healthy again.
// Bounded; every container and image it made is removed at the end, also on failure.
#define BOOST_TEST_MODULE docker_image
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "package_image_support.h"
#include "support/agent_harness.h"
#include "support/docker_engine.h"
#include "support/http_client.h"
#include "support/pg_cluster.h"
#include "support/spawn.h"
#include "support/systemd_container.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clk = std::chrono::steady_clock;

namespace {

constexpr const char* kBaseImage = "pgvigil-test/bookworm-base";
constexpr const char* kImage = "pgvigil-test/pgvigil";

std::string postgresBinary() {
  for (const char* v : {"17", "16", "15"}) {
    std::string p = std::string("/usr/lib/postgresql/") + v + "/bin/postgres";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  throw std::runtime_error("no PostgreSQL binaries");
}

/// Containers and images this test made, removed at the end, containers first (an image in use
/// cannot be removed). The engine's own destructor would remove the containers only after.
struct Made {
  DockerEngine& engine;
  std::vector<std::string> containers;
  std::vector<std::string> images;
  ~Made() {
    for (const auto& c : containers) engine.removeContainer(c);
    std::string ignored;
    for (const auto& i : images) engine.docker({"rmi", "-f", i}, &ignored);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(image_watches_and_restarts_a_postgres_container) {
  if (std::string why = DockerEngine::unavailableReason(); !why.empty()) {
    BOOST_TEST_MESSAGE("skipped: " << why);
    return;
  }
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  PgCluster pg;
  pg.stopFast();  // configured; a container serves its data dir from now on
  DockerEngine engine;
  Made made{engine, {}, {}};

  // The .deb, the base, the image.
  const std::string ctx = dir.path() + "/context";
  fs::create_directories(ctx);
  const std::string deb = buildDeb(ctx);
  if (fs::path(deb).parent_path() != fs::path(ctx))
    fs::copy_file(deb, ctx + "/" + fs::path(deb).filename().string());
  const std::string baseTar = baseRootTar();
  made.images.push_back(kBaseImage);
  engine.dockerOk({"import", baseTar, kBaseImage});
  ::setenv("DOCKER_BUILDKIT", "0", 1);  // the classic builder: no buildx on this machine
  made.images.push_back(kImage);
  std::string buildOut;
  const auto buildStart = Clk::now();
  int built = engine.docker(
      {"build", "--network", "host", "--build-arg", std::string("BASE=") + kBaseImage, "-t", kImage,
       "-f", std::string(PGVIGIL_SOURCE_DIR) + "/packaging/docker/Dockerfile", ctx},
      &buildOut, 600s);
  BOOST_REQUIRE_MESSAGE(built == 0, "docker build failed:\n" << buildOut);
  BOOST_TEST_MESSAGE(
      "docker build: "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clk::now() - buildStart).count()
      << " ms");
  BOOST_CHECK_EQUAL(engine.dockerOk({"image", "inspect", "-f", "{{.Config.User}}", kImage}),
                    "pgvigil");
  // No token is baked into the image.
  BOOST_CHECK_NE(engine.docker({"run", "--rm", "--network", "host", "--entrypoint", "test", kImage,
                                "-e", "/etc/pgvigil/token"}),
                 0);

  // PostgreSQL in its container (postgres:15 stands in: the host's binaries, its data dir).
  const std::string pgName = "pgv-img-pg-" + std::to_string(::getpid());
  const std::string agentName = "pgv-img-agent-" + std::to_string(::getpid());
  const std::string appName = "pgv-img-app-" + std::to_string(::getpid());
  made.containers = {appName, agentName, pgName};
  auto startPg = [&] {
    std::vector<std::string> args{"--network", "host", "--stop-signal", "SIGINT"};
    if (auto ids = postgresUserIfRoot())
      args.insert(args.end(),
                  {"--user", std::to_string(ids->uid) + ":" + std::to_string(ids->gid)});
    for (const char* d : {"/usr", "/lib", "/lib64", "/bin", "/etc"})
      if (fs::exists(d)) args.insert(args.end(), {"-v", std::string(d) + ":" + d + ":ro"});
    args.insert(args.end(), {"-v", pg.dir() + ":" + pg.dir(), engine.emptyImage(), postgresBinary(),
                             "-D", pg.dataDir()});
    engine.runContainer(pgName, args);
  };
  startPg();
  auto pgAnswers = [&] {
    return runCommand({"/usr/lib/postgresql/15/bin/pg_isready", "-q", "-h", "127.0.0.1", "-p",
                       std::to_string(pg.port())},
                      5s)
        .ok();
  };
  BOOST_REQUIRE(waitFor(30s, pgAnswers));

  // pgvigil's container, as config/docker-compose.yaml runs it (host network here).
  const int httpPort = freeLoopbackPort();
  const std::string socket = engine.host().substr(std::string("unix://").size());
  struct stat st {};
  BOOST_REQUIRE(::stat(socket.c_str(), &st) == 0);
  const std::string config = dir.write(
      "pgvigil.yaml",
      "agent:\n  listen: \"127.0.0.1:" + std::to_string(httpPort) +
          "\"\n  state_dir: /var/lib/pgvigil\n  log:\n    format: text\n    output: stdout\n"
          "targets:\n  - name: db\n    conninfo: \"host=127.0.0.1 port=" +
          std::to_string(pg.port()) +
          " dbname=postgres user=postgres\"\n    interval: 1s\n    timeout: 800ms\n"
          "    unhealthy_after: 2\n    restart:\n      method: docker\n      container: " +
          pgName +
          "\n      docker_host: unix:///var/run/docker.sock\n      timeout: 30s\n"
          "      grace: 20s\n      backoff: { initial: 1s, max: 5s }\n");
  ::chmod(config.c_str(), 0644);
  engine.runContainer(
      agentName, {"--network", "host", "--group-add", std::to_string(st.st_gid), "-v",
                  socket + ":/var/run/docker.sock", "-v", config + ":/etc/pgvigil/pgvigil.yaml:ro",
                  "-e", "PGVIGIL_HEALTH_PORT=" + std::to_string(httpPort), "--health-interval",
                  "1s", "--health-start-period", "0s", kImage});
  auto health = [&](const std::string& name) {
    std::string out;
    engine.docker({"inspect", "-f", "{{.State.Health.Status}}", name}, &out);
    return trim(out);
  };
  auto logs = [&](const std::string& name) {
    std::string out;
    engine.docker({"logs", "--tail", "60", name}, &out);
    return out;
  };
  BOOST_REQUIRE_MESSAGE(waitFor(60s, [&] { return health(agentName) == "healthy"; }),
                        "the image's HEALTHCHECK: " << health(agentName) << "\n"
                                                    << logs(agentName));
  std::string user;
  engine.docker({"exec", agentName, "id", "-un"}, &user);
  BOOST_CHECK_EQUAL(trim(user), "pgvigil");
  HttpClient http("127.0.0.1", httpPort);
  BOOST_REQUIRE(waitStatus(http, "/health/db", 200, 30s));

  // The app: its health check asks pgvigil's /health/db.
  engine.runContainer(appName, {"--network", "host", "--health-cmd",
                                "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(httpPort) +
                                    " && printf \"GET /health/db HTTP/1.0\\r\\n\\r\\n\" >&3 && "
                                    "head -n1 <&3 | grep -q \" 200 \"'",
                                "--health-interval", "1s", "--health-retries", "2",
                                "--health-start-period", "0s", kBaseImage, "sleep", "infinity"});
  BOOST_CHECK_MESSAGE(waitFor(30s, [&] { return health(appName) == "healthy"; }), health(appName));

  // docker kill: a crash. The pgvigil container restarts it through the Engine API.
  engine.dockerOk({"kill", pgName});
  auto t0 = Clk::now();
  BOOST_CHECK(waitStatus(http, "/health/db", 503, 15s));
  BOOST_REQUIRE_MESSAGE(waitStatus(http, "/health/db", 200, 90s), "not restarted:\n"
                                                                      << logs(agentName));
  BOOST_TEST_MESSAGE(
      "docker kill -> healthy again: "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clk::now() - t0).count() << " ms");
  BOOST_CHECK(logs(agentName).find("event=restart_succeeded") != std::string::npos);
  BOOST_CHECK_EQUAL(engine.dockerOk({"inspect", "-f", "{{.State.Running}}", pgName}), "true");

  // docker stop: an operator's stop. Respected; the app's health follows.
  engine.dockerOk({"stop", "-t", "30", pgName});
  BOOST_CHECK(waitStatus(http, "/health/db", 503, 15s));
  BOOST_CHECK_MESSAGE(waitFor(30s, [&] { return health(appName) == "unhealthy"; }),
                      health(appName));
  BOOST_CHECK(waitFor(
      20s, [&] { return logs(agentName).find("event=restart_deferred") != std::string::npos; }));
  std::this_thread::sleep_for(10s);  // unhealthy_after, backoff and more: it stays down
  BOOST_CHECK_EQUAL(engine.dockerOk({"inspect", "-f", "{{.State.Running}}", pgName}), "false");
  BOOST_CHECK_EQUAL(http.get("/health/db").status, 503);
  // The operator starts it again: everything follows.
  engine.dockerOk({"start", pgName});
  BOOST_CHECK(waitStatus(http, "/health/db", 200, 60s));
  BOOST_CHECK_MESSAGE(waitFor(30s, [&] { return health(appName) == "healthy"; }), health(appName));
}
