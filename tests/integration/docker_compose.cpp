// The shipped compose example (config/docker-compose.yaml, config/docker.yaml,
// config/initdb/10-pgvigil-role.sh) run by Debian's docker-compose (Compose v1) on the test's
// real dockerd. The shipped files are copied unchanged into a project dir, next to the .env and
// the token its header asks for; an override file changes only what cannot work here:
//  * the images of postgres and app: no registry, so local stand-ins built by this test
//    (tests/support/compose/: the host's PostgreSQL 15 behind an entrypoint that acts as the
//    official image's, and busybox's wget), and pgvigil's: built from the .deb as docker_image
//    does, under a test tag;
//  * the compose network's subnet: 198.18.N.0/24 (RFC 2544's benchmarking range), never a
//    private range (../shared/TESTING.md) and never one another test's dockerd picked;
//  * the host side of the Docker socket mount when the engine is the test's own dockerd.
// The port is the shipped PGVIGIL_PORT in .env (a free one). Then:
//  * `docker-compose up -d`: the first start runs initdb/ (the pgvigil role), pgvigil turns
//    healthy (its /health healthcheck), the app starts and its health check (/health/db) too;
//    pgvigil runs as user pgvigil, /health/db is 200 from the host, the secret token works;
//  * `docker kill postgres`: the pgvigil container restarts it (restart_succeeded);
//  * `docker stop postgres`: respected (restart_deferred, operator_stopped), it stays exited and
//    the app turns unhealthy; `docker start postgres`: both healthy again, with no restart of
//    pgvigil's while the entrypoint starts it;
//  * `docker-compose down -v`, and everything it made is gone, also on failure.
#define BOOST_TEST_MODULE docker_compose
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "package_image_support.h"
#include "support/agent_harness.h"
#include "support/docker_engine.h"
#include "support/http_client.h"
#include "support/pg_cluster.h"
#include "support/systemd_container.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clk = std::chrono::steady_clock;

namespace {

constexpr const char* kBaseImage = "pgvigil-test/bookworm-base";
constexpr const char* kAgentImage = "pgvigil-test/pgvigil";
constexpr const char* kPostgresImage = "pgvigil-test/compose-postgres";
constexpr const char* kAppImage = "pgvigil-test/compose-app";
/// Every project this test makes is named so: a leftover of an earlier run is recognised by it.
constexpr const char* kProjectPrefix = "pgvigil-compose-test-";

long long msSince(Clk::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clk::now() - t0).count();
}

void copyShipped(const std::string& from, const std::string& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  ::chmod(to.c_str(), (fs::status(from).permissions() & fs::perms::owner_exec) != fs::perms::none
                          ? 0755
                          : 0644);
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// A /24 in 198.18.0.0/15 that no route of this host uses yet (another engine's bridge).
std::string freeSubnet() {
  std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                   static_cast<unsigned>(Clk::now().time_since_epoch().count()));
  for (int i = 0; i < 50; ++i) {
    const std::string net =
        "198." + std::to_string(18 + rng() % 2) + "." + std::to_string(1 + rng() % 254) + ".0/24";
    CommandResult r = runCommand({"ip", "-4", "route", "show", "to", "match", net}, 5s);
    // Only the default route (or nothing) covers it.
    if (r.ok() && r.output.find("198.1") == std::string::npos) return net;
  }
  throw std::runtime_error("no free 198.18.0.0/15 subnet");
}

/// docker-compose with the shipped file and the override; removes what it made at the end.
struct Compose {
  DockerEngine& engine;
  std::string dir;
  std::string project;
  std::vector<std::string> images;

  std::vector<std::string> argv(std::vector<std::string> args) const {
    std::vector<std::string> a{
        "docker-compose",      "-p", project, "-f", dir + "/docker-compose.yaml", "-f",
        dir + "/override.yaml"};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }
  CommandResult run(std::vector<std::string> args, std::chrono::seconds timeout = 120s) const {
    return runCommand(
        argv(std::move(args)), timeout,
        {"DOCKER_HOST=" + engine.host(), "DOCKER_CONFIG=/nonexistent/pgvigil-docker-config"});
  }
  /// The container of a service (compose v1 names it PROJECT_SERVICE_1, v2 PROJECT-SERVICE-1).
  std::string id(const std::string& service) const {
    return trim(run({"ps", "-q", service}).output);
  }

  ~Compose() {
    CommandResult down = run({"down", "-v", "--remove-orphans", "-t", "10"});
    if (!down.ok()) BOOST_TEST_MESSAGE("docker-compose down: " << down.output);
    std::string out;
    // Whatever down left (it failed, or up failed half-way): by the project's label.
    engine.docker({"ps", "-aq", "--filter", "label=com.docker.compose.project=" + project}, &out);
    for (const auto& c : lines(out)) engine.docker({"rm", "-f", "-v", c}, nullptr, 30s);
    engine.docker({"network", "rm", project + "_default"}, &out);
    for (const char* v : {"_pgdata", "_pgvigil-state"})
      engine.docker({"volume", "rm", "-f", project + v}, &out);
    for (const auto& i : images) engine.docker({"rmi", "-f", i}, &out);
  }

  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::string line;
    for (char c : text + "\n") {
      if (c == '\n') {
        if (!trim(line).empty()) out.push_back(trim(line));
        line.clear();
      } else {
        line += c;
      }
    }
    return out;
  }
};

/// A container named `postgres` left by an earlier run of this test (its project's label) is
/// removed with that project; anyone else's is never touched: the test stops instead.
void removeLeftovers(DockerEngine& engine, const std::string& dir) {
  std::string label;
  if (engine.docker(
          {"inspect", "-f", "{{index .Config.Labels \"com.docker.compose.project\"}}", "postgres"},
          &label) != 0)
    return;  // none
  label = trim(label);
  BOOST_REQUIRE_MESSAGE(label.rfind(kProjectPrefix, 0) == 0, "a container named postgres exists on "
                                                                 << engine.host()
                                                                 << " and is not this test's");
  BOOST_TEST_MESSAGE("removing a leftover project " << label);
  Compose old{engine, dir, label, {}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(compose_example_restarts_a_killed_database_and_respects_a_stop) {
  if (std::string why = DockerEngine::unavailableReason(); !why.empty()) {
    BOOST_TEST_MESSAGE("skipped: " << why);
    return;
  }
  // Not installed is a failure, not a skip: scripts/setup.sh test installs it.
  CommandResult version = runCommand({"docker-compose", "version", "--short"}, 30s);
  BOOST_REQUIRE_MESSAGE(
      version.ok(), "docker-compose is missing (bash scripts/setup.sh test): " << version.output);
  BOOST_TEST_MESSAGE("docker-compose " << trim(version.output));

  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  DockerEngine engine;

  // The project dir: the shipped files, unchanged, and what the header asks for next to them.
  const std::string src = std::string(PGVIGIL_SOURCE_DIR) + "/config";
  const std::string proj = dir.path() + "/project";
  fs::create_directories(proj + "/initdb");
  ::chmod(proj.c_str(), 0755);
  ::chmod((proj + "/initdb").c_str(), 0755);
  for (const char* f : {"docker-compose.yaml", "docker.yaml", "initdb/10-pgvigil-role.sh"})
    copyShipped(src + "/" + f, proj + "/" + f);
  for (const char* f : {"docker-compose.yaml", "docker.yaml", "initdb/10-pgvigil-role.sh"})
    BOOST_REQUIRE(readAll(src + "/" + f) == readAll(proj + "/" + f));
  CommandResult token =
      runCommand({"bash", "-c",
                  "openssl rand -hex 32 > '" + proj + "/pgvigil-token' && chmod 0644 '" + proj +
                      "/pgvigil-token'"},
                 10s);
  BOOST_REQUIRE_MESSAGE(token.ok(), token.output);
  const std::string socket = engine.host().substr(std::string("unix://").size());
  struct stat st {};
  BOOST_REQUIRE(::stat(socket.c_str(), &st) == 0);
  const int port = freeLoopbackPort();
  std::ofstream(proj + "/.env") << "POSTGRES_PASSWORD=pw-" << ::getpid() << "-" << port << "\n"
                                << "PGVIGIL_DB_PASSWORD=pgv-" << port << "-" << ::getpid() << "\n"
                                << "DOCKER_GID=" << st.st_gid << "\n"
                                << "PGVIGIL_PORT=" << port << "\n";

  // The override: images, the subnet, the socket's host side. Nothing else.
  const std::string subnet = freeSubnet();
  std::string override = std::string("services:\n") + "  postgres:\n    image: " + kPostgresImage +
                         "\n  pgvigil:\n    image: " + kAgentImage + "\n";
  if (socket != "/var/run/docker.sock")
    override += "    volumes:\n      - " + socket + ":/var/run/docker.sock\n";
  override += std::string("  app:\n    image: ") + kAppImage +
              "\nnetworks:\n  default:\n    ipam:\n      config:\n        - subnet: " + subnet +
              "\n";
  std::ofstream(proj + "/override.yaml") << override;

  removeLeftovers(engine, proj);
  Compose compose{engine, proj, kProjectPrefix + std::to_string(::getpid()), {}};

  // The images: pgvigil's from the .deb (as docker_image), the two stand-ins.
  const auto buildStart = Clk::now();
  const std::string agentCtx = dir.path() + "/agent";
  fs::create_directories(agentCtx);
  const std::string deb = buildDeb(agentCtx);
  if (fs::path(deb).parent_path() != fs::path(agentCtx))
    fs::copy_file(deb, agentCtx + "/" + fs::path(deb).filename().string());
  BOOST_TEST_MESSAGE(".deb: " << msSince(buildStart) << " ms");
  const std::string baseTar = baseRootTar();
  compose.images = {kAppImage, kPostgresImage, kAgentImage, kBaseImage};
  engine.dockerOk({"import", baseTar, kBaseImage});
  ::setenv("DOCKER_BUILDKIT", "0", 1);  // the classic builder: no buildx on this machine
  auto build = [&](const std::string& tag, const std::string& dockerfile, const std::string& ctx) {
    std::string out;
    int rc = engine.docker({"build", "--network", "host", "--build-arg",
                            std::string("BASE=") + kBaseImage, "-t", tag, "-f", dockerfile, ctx},
                           &out, 600s);
    BOOST_REQUIRE_MESSAGE(rc == 0, "docker build " << tag << " failed:\n" << out);
  };
  const auto imagesStart = Clk::now();
  build(kAgentImage, std::string(PGVIGIL_SOURCE_DIR) + "/packaging/docker/Dockerfile", agentCtx);
  const std::string support = std::string(PGVIGIL_SOURCE_DIR) + "/tests/support/compose";
  const std::string pgCtx = dir.path() + "/postgres";
  fs::create_directories(pgCtx);
  CommandResult hostPg = runCommand(
      {"bash", support + "/postgres/host-postgresql.sh", pgCtx + "/host-postgresql.tar", "15"},
      120s);
  BOOST_REQUIRE_MESSAGE(hostPg.ok(), "host-postgresql.sh: " << hostPg.output);
  fs::copy_file(support + "/postgres/docker-entrypoint.sh", pgCtx + "/docker-entrypoint.sh");
  build(kPostgresImage, support + "/postgres/Dockerfile", pgCtx);
  const std::string appCtx = dir.path() + "/app";
  fs::create_directories(appCtx);
  BOOST_REQUIRE_MESSAGE(fs::exists("/bin/busybox"), "no /bin/busybox (bash scripts/setup.sh test)");
  fs::copy_file("/bin/busybox", appCtx + "/busybox");
  build(kAppImage, support + "/app/Dockerfile", appCtx);
  BOOST_TEST_MESSAGE("images (pgvigil, postgres and app stand-ins): " << msSince(imagesStart)
                                                                      << " ms");

  // Up. It returns once the app is created, i.e. after pgvigil's healthcheck said healthy.
  const auto scenarioStart = Clk::now();
  const auto upStart = Clk::now();
  CommandResult up = compose.run({"up", "-d"}, 150s);
  auto logs = [&](const std::string& name) {
    std::string out;
    engine.docker({"logs", name}, &out);
    return out;
  };
  BOOST_REQUIRE_MESSAGE(up.ok(), "docker-compose up failed:\n"
                                     << up.output << "\npostgres:\n"
                                     << logs("postgres") << "\npgvigil:\n"
                                     << logs(compose.id("pgvigil")));
  BOOST_TEST_MESSAGE("docker-compose up -d (until pgvigil healthy and app created): "
                     << msSince(upStart) << " ms");
  const std::string agent = compose.id("pgvigil");
  const std::string app = compose.id("app");
  BOOST_REQUIRE(!agent.empty());
  BOOST_REQUIRE(!app.empty());
  auto health = [&](const std::string& name) {
    std::string out;
    engine.docker({"inspect", "-f", "{{.State.Health.Status}}", name}, &out);
    return trim(out);
  };
  auto running = [&] {
    std::string out;
    engine.docker({"inspect", "-f", "{{.State.Running}}", "postgres"}, &out);
    return trim(out);
  };
  // The shipped initdb/ ran on the first start (the role pgvigil logs in with).
  BOOST_CHECK(logs("postgres").find("10-pgvigil-role.sh") != std::string::npos);
  BOOST_CHECK_EQUAL(health(agent), "healthy");
  HttpClient http("127.0.0.1", port);
  BOOST_REQUIRE(waitStatus(http, "/health/db", 200, 30s));
  BOOST_REQUIRE_MESSAGE(waitFor(30s, [&] { return health(app) == "healthy"; }),
                        "app: " << health(app));
  BOOST_TEST_MESSAGE("up -> app healthy: " << msSince(upStart) << " ms");
  std::string user;
  engine.docker({"exec", agent, "id", "-un"}, &user);
  BOOST_CHECK_EQUAL(trim(user), "pgvigil");
  // The secret token (bind-mounted as it is): /status needs it, and it is accepted.
  const std::string tok = trim(readAll(proj + "/pgvigil-token"));
  BOOST_CHECK_NE(http.get("/status").status, 200);
  BOOST_CHECK_EQUAL(http.request("GET", "/status", {{"Authorization", "Bearer " + tok}}).status,
                    200);

  // docker kill: a crash. The pgvigil container restarts it through the Engine API.
  engine.dockerOk({"kill", "postgres"});
  auto t0 = Clk::now();
  BOOST_CHECK(waitStatus(http, "/health/db", 503, 20s));
  BOOST_REQUIRE_MESSAGE(waitStatus(http, "/health/db", 200, 90s), "not restarted:\n"
                                                                      << logs(agent));
  BOOST_TEST_MESSAGE("docker kill postgres -> /health/db 200 again: " << msSince(t0) << " ms");
  BOOST_CHECK(logs(agent).find("\"event\":\"restart_succeeded\"") != std::string::npos);
  BOOST_CHECK_EQUAL(running(), "true");
  BOOST_CHECK_MESSAGE(waitFor(30s, [&] { return health(app) == "healthy"; }), health(app));

  // docker stop: an operator's stop. Respected; the app's health follows.
  const std::size_t before = logs(agent).size();
  t0 = Clk::now();
  engine.dockerOk({"stop", "postgres"});
  BOOST_TEST_MESSAGE("docker stop postgres: " << msSince(t0) << " ms");
  BOOST_CHECK(waitStatus(http, "/health/db", 503, 20s));
  BOOST_CHECK(waitFor(20s, [&] {
    const std::string l = logs(agent);
    return l.size() > before &&
           l.find("\"reason\":\"operator_stopped\"", before) != std::string::npos;
  }));
  BOOST_CHECK_MESSAGE(waitFor(40s, [&] { return health(app) == "unhealthy"; }), health(app));
  BOOST_TEST_MESSAGE("docker stop -> app unhealthy: " << msSince(t0) << " ms");
  std::this_thread::sleep_for(10s);  // past unhealthy_after and any backoff: it stays down
  BOOST_CHECK_EQUAL(running(), "false");
  BOOST_CHECK_EQUAL(http.get("/health/db").status, 503);
  BOOST_CHECK(logs(agent).find("\"event\":\"restart_requested\"", before) == std::string::npos);

  // The operator starts it again: everything follows.
  t0 = Clk::now();
  const std::size_t beforeStart = logs(agent).size();
  engine.dockerOk({"start", "postgres"});
  BOOST_CHECK(waitStatus(http, "/health/db", 200, 60s));
  BOOST_TEST_MESSAGE("docker start -> /health/db 200: " << msSince(t0) << " ms");
  if (msSince(t0) > 20000) BOOST_TEST_MESSAGE(logs(agent).substr(beforeStart));
  BOOST_CHECK_MESSAGE(waitFor(40s, [&] { return health(app) == "healthy"; }), health(app));
  BOOST_TEST_MESSAGE("docker start -> app healthy: " << msSince(t0) << " ms");
  // The operator's start is not taken for a crash while the entrypoint runs: no restart of ours.
  BOOST_CHECK(logs(agent).find("\"event\":\"restart_requested\"", beforeStart) ==
              std::string::npos);

  // pgvigil ends on the image's STOPSIGNAL (SIGTERM) well within compose's 10 s, exit code 0.
  t0 = Clk::now();
  engine.dockerOk({"stop", agent});
  BOOST_TEST_MESSAGE("docker stop of the pgvigil container: " << msSince(t0) << " ms");
  BOOST_CHECK_LT(msSince(t0), 8000);
  BOOST_CHECK_EQUAL(engine.dockerOk({"inspect", "-f", "{{.State.ExitCode}}", agent}), "0");

  t0 = Clk::now();
  CommandResult down = compose.run({"down", "-v"});
  BOOST_CHECK_MESSAGE(down.ok(), down.output);
  BOOST_TEST_MESSAGE("docker-compose down -v: " << msSince(t0) << " ms; scenario from up: "
                                                << msSince(scenarioStart) << " ms");
  std::string left;
  engine.docker({"ps", "-aq", "--filter", "label=com.docker.compose.project=" + compose.project},
                &left);
  BOOST_CHECK_EQUAL(trim(left), "");
}
