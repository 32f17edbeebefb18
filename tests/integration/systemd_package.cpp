// The Debian package, installed the way an operator installs it (docs/packaging.md): built by
// `bash scripts/package.sh` (lintian on, every finding fixed or overridden), then
// `apt-get install ./pgvigil_*.deb` on a genuine Debian 12 root (scripts/debian-root.sh: made
// from Debian's archive with systemd, dbus, polkitd and postgresql-15) booted with systemd as
// PID 1 in a container (../shared/TESTING.md "systemd"), next to a real postgresql@15-main unit.
//  * after install: the unit is enabled and active, its main process runs as user pgvigil,
//    /var/lib/pgvigil, the token (0640 root:pgvigil) and the config's stat override exist;
//  * with the shipped config (only the port and listen address edited, as an admin would) the
//    agent watches the cluster over the unix socket with peer auth: /health/main is 200;
//  * kill -9 of the postmaster: the unit fails, pgvigil restarts it through D-Bus (the shipped
//    polkit rule), /health/main is 200 again and /metrics counts a successful restart;
//  * `systemctl reload pgvigil`: same main pid, still active, still healthy;
//  * `pgvigil pause|resume` as root reach the agent with the package's token;
//  * `systemctl stop` of the cluster (an operator's stop) is respected: it stays inactive;
//  * `apt-get purge pgvigil`: no user, no group, no /var/lib/pgvigil, no /etc/pgvigil, no unit
//    file or enablement link, nothing left running.
// PGVIGIL_TEST_DEB=path skips the package build (for iterating on this test only).
// Everything is bounded; the container, the imported image and any dockerd the fixture started
// are removed at the end, also on failure.
#define BOOST_TEST_MODULE systemd_package
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "package_image_support.h"
#include "support/docker_engine.h"
#include "support/http_client.h"
#include "support/pg_cluster.h"
#include "support/systemd_container.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clk = std::chrono::steady_clock;

namespace {

constexpr const char* kImage = "pgvigil-test/bookworm-systemd";
// What the root needs beyond minbase: systemd as PID 1, the bus, polkit (the agent's D-Bus
// restarts), the cluster, and pgvigil's own dependencies (so the install needs no download).
const std::vector<std::string> kRootPackages = [] {
  std::vector<std::string> p = {"systemd", "systemd-sysv", "dbus", "polkitd", "postgresql-15"};
  p.insert(p.end(), kBasePackages.begin(), kBasePackages.end());
  return p;
}();

/// The packaged Debian root, booted: systemd as PID 1 of a container on the host network.
class BookwormSystemd {
 public:
  BookwormSystemd() {
    dir_ = fs::temp_directory_path() / ("pgv-package." + std::to_string(::getpid()));
    name_ = "pgv-package-" + std::to_string(::getpid());
    try {
      boot();
    } catch (...) {
      cleanup();
      throw;
    }
  }
  ~BookwormSystemd() { cleanup(); }

  const fs::path& dir() const { return dir_; }  ///< mounted read-only at /mnt/pgvigil

  /// sh -c SCRIPT in the container, as root.
  CommandResult sh(const std::string& script, std::chrono::milliseconds timeout = 60s) {
    CommandResult r;
    r.exit_code = engine_.docker({"exec", name_, "sh", "-c", script}, &r.output,
                                 std::chrono::ceil<std::chrono::seconds>(timeout));
    return r;
  }
  std::string out(const std::string& script) { return trim(sh(script).output); }

 private:
  void boot() {
    fs::create_directories(dir_);
    const std::string tar = cacheDir() + "/bookworm-systemd.tar";
    std::vector<std::string> argv = {
        "bash", std::string(PGVIGIL_SOURCE_DIR) + "/scripts/debian-root.sh", tar};
    argv.insert(argv.end(), kRootPackages.begin(), kRootPackages.end());
    CommandResult root = runCommand(argv, 900s);
    if (!root.ok()) throw std::runtime_error("debian-root.sh: " + root.output);
    engine_.dockerOk({"import", tar, kImage});
    engine_.runContainer(name_, {"--network",
                                 "host",
                                 "--cap-add",
                                 "SYS_ADMIN",
                                 "--security-opt",
                                 "seccomp=unconfined",
                                 "--security-opt",
                                 "apparmor=unconfined",
                                 "--tmpfs",
                                 "/run",
                                 "--tmpfs",
                                 "/run/lock",
                                 "-v",
                                 "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                                 "--cgroupns=host",
                                 "-v",
                                 dir_.string() + ":/mnt/pgvigil:ro",
                                 "-e",
                                 "container=docker",
                                 kImage,
                                 "/lib/systemd/systemd"});
    std::string state;
    if (!waitFor(90s, [&] {
          state = trim(sh("systemctl is-system-running").output);
          return state == "running" || state == "degraded";
        }))
      throw std::runtime_error("systemd did not boot in the Debian root: " + state);
  }
  void cleanup() {
    engine_.removeContainer(name_);
    std::string ignored;
    engine_.docker({"rmi", "-f", kImage}, &ignored);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  DockerEngine engine_;
  fs::path dir_;
  std::string name_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(package_installs_runs_restarts_reloads_and_purges) {
  if (std::string why = DockerEngine::unavailableReason(); !why.empty()) {
    BOOST_TEST_MESSAGE("skipped: " << why);
    return;
  }
  BookwormSystemd box;
  const std::string deb = buildDeb(box.dir().string(), /*lintian=*/true);
  BOOST_TEST_MESSAGE("package: " << deb);
  if (fs::path(deb).parent_path() != box.dir())  // PGVIGIL_TEST_DEB: a .deb from elsewhere
    fs::copy_file(deb, box.dir() / fs::path(deb).filename(), fs::copy_options::overwrite_existing);
  const std::string inBox = "/mnt/pgvigil/" + fs::path(deb).filename().string();

  // The cluster, on a free port (host network), with the role the shipped config names.
  const int pgPort = freeLoopbackPort();
  const std::string port = std::to_string(pgPort);
  BOOST_REQUIRE(
      box.sh("sed -i 's/^port = .*/port = " + port + "/' /etc/postgresql/15/main/postgresql.conf")
          .ok());
  CommandResult start = box.sh("systemctl start postgresql@15-main", 120s);
  BOOST_REQUIRE_MESSAGE(
      start.ok(), start.output << box.out("journalctl -n 30 --no-pager -u postgresql@15-main"));
  CommandResult role = box.sh("runuser -u postgres -- psql -X -q -p " + port +
                              " -c 'CREATE ROLE pgvigil LOGIN' -c 'GRANT pg_monitor TO pgvigil'");
  BOOST_REQUIRE_MESSAGE(role.ok(), role.output);

  // Install, as a user would.
  CommandResult install =
      box.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q " + inBox, 300s);
  BOOST_REQUIRE_MESSAGE(install.ok(), install.output);
  BOOST_CHECK_EQUAL(box.out("systemctl is-enabled pgvigil"), "enabled");
  BOOST_CHECK(waitFor(30s, [&] { return box.out("systemctl is-active pgvigil") == "active"; }));
  BOOST_CHECK(
      box.sh("getent passwd pgvigil | grep -q ':/var/lib/pgvigil:/usr/sbin/nologin$'").ok());
  BOOST_CHECK_EQUAL(box.out("stat -c '%U %G %a' /var/lib/pgvigil"), "pgvigil pgvigil 750");
  BOOST_CHECK_EQUAL(box.out("stat -c '%U %G %a' /etc/pgvigil/token"), "root pgvigil 640");
  BOOST_CHECK_EQUAL(box.out("wc -c < /etc/pgvigil/token"), "65");
  BOOST_CHECK_EQUAL(box.out("stat -c '%U %G %a' /etc/pgvigil/pgvigil.yaml"), "root pgvigil 640");
  BOOST_CHECK(
      box.sh("grep -qx /etc/pgvigil/pgvigil.yaml /var/lib/dpkg/info/pgvigil.conffiles").ok());
  for (const char* path :
       {"/usr/bin/pgvigil", "/lib/systemd/system/pgvigil.service",
        "/usr/share/polkit-1/rules.d/50-pgvigil.rules", "/usr/lib/pgvigil/pg-restart",
        "/usr/share/pgvigil/prometheus/pgvigil-rules.yml",
        "/usr/share/pgvigil/grafana/pgvigil-dashboard.json"})
    BOOST_CHECK_MESSAGE(box.sh(std::string("test -e ") + path).ok(), path << " is not installed");

  // The shipped config, with the two values an admin of this machine would change.
  const int httpPort = freeLoopbackPort();
  BOOST_REQUIRE(box.sh("sed -i -e 's/port=5432/port=" + port +
                       "/' -e 's/127.0.0.1:8787/127.0.0.1:" + std::to_string(httpPort) +
                       "/' /etc/pgvigil/pgvigil.yaml && pgvigil config validate")
                    .ok());
  BOOST_REQUIRE(box.sh("systemctl restart pgvigil", 120s).ok());
  const std::string mainPid = box.out("systemctl show -P MainPID pgvigil");
  BOOST_REQUIRE_NE(mainPid, "0");
  BOOST_CHECK_EQUAL(box.out("stat -c %U /proc/" + mainPid), "pgvigil");
  BOOST_CHECK_EQUAL(box.out("awk '/^Uid:/ {print $2}' /proc/" + mainPid + "/status"),
                    box.out("id -u pgvigil"));

  HttpClient http("127.0.0.1", httpPort);
  auto healthy = [&] { return http.get("/health/main").status == 200; };
  BOOST_REQUIRE_MESSAGE(waitFor(60s, healthy),
                        "not healthy: " << http.get("/health/main").body << "\n"
                                        << box.out("journalctl -n 40 --no-pager -u pgvigil"));
  const std::string token = box.out("cat /etc/pgvigil/token");
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + token}};
  BOOST_CHECK_EQUAL(http.get("/metrics").status, 401);  // the token the package made is in force
  BOOST_CHECK_EQUAL(http.request("GET", "/metrics", auth).status, 200);

  // kill -9 of the postmaster: systemd marks the unit failed; pgvigil restarts it over D-Bus.
  const std::string pgPid = box.out("systemctl show -P MainPID postgresql@15-main");
  BOOST_REQUIRE_NE(pgPid, "0");
  BOOST_REQUIRE(box.sh("kill -9 " + pgPid).ok());
  const auto killedAt = Clk::now();
  BOOST_CHECK(waitFor(30s, [&] { return http.get("/health/main").status == 503; }));
  const bool back = waitFor(150s, [&] {
    std::string pid = box.out("systemctl show -P MainPID postgresql@15-main");
    return pid != "0" && pid != pgPid && healthy();
  });
  BOOST_REQUIRE_MESSAGE(
      back, "the cluster did not come back: " << box.out("journalctl -n 60 --no-pager -u pgvigil"));
  BOOST_TEST_MESSAGE(
      "kill -9 to healthy again: "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clk::now() - killedAt).count()
      << " ms");
  const std::string metrics = http.request("GET", "/metrics", auth).body;
  BOOST_CHECK_MESSAGE(
      std::regex_search(
          metrics,
          std::regex(R"re(pgvigil_restarts_total\{target="main",result="success"\} [1-9])re")),
      metrics);
  BOOST_CHECK(box.sh("journalctl --no-pager -u pgvigil | grep -q 'event=restart_succeeded'").ok());
  BOOST_CHECK_EQUAL(box.out("systemctl show -P MainPID pgvigil"),
                    mainPid);  // the agent itself ran on

  // systemctl reload: the same process rereads its config and keeps watching.
  // (config_loaded is the reload's event; this invocation of the unit has none before it.)
  const std::string thisRun =
      "journalctl --no-pager _SYSTEMD_INVOCATION_ID=$(systemctl show -P InvocationID pgvigil)";
  BOOST_CHECK(!box.sh(thisRun + " | grep -q 'event=config_loaded'").ok());
  BOOST_REQUIRE(box.sh("systemctl reload pgvigil").ok());
  BOOST_CHECK(
      waitFor(20s, [&] { return box.sh(thisRun + " | grep -q 'event=config_loaded'").ok(); }));
  BOOST_CHECK_EQUAL(box.out("systemctl is-active pgvigil"), "active");
  BOOST_CHECK_EQUAL(box.out("systemctl show -P MainPID pgvigil"), mainPid);
  BOOST_CHECK(healthy());

  // The control CLI, as root, with the token the package made: pause and resume reach the agent.
  BOOST_CHECK(box.sh("pgvigil pause -c /etc/pgvigil/pgvigil.yaml main --for 1m").ok());
  BOOST_CHECK(box.sh(thisRun + " | grep -q 'event=target_paused'").ok());
  BOOST_CHECK(box.sh("pgvigil resume -c /etc/pgvigil/pgvigil.yaml main").ok());
  BOOST_CHECK(
      waitFor(10s, [&] { return box.sh(thisRun + " | grep -q 'event=target_resumed'").ok(); }));

  // An operator's `systemctl stop` of the cluster is respected: down, and it stays down through
  // more than unhealthy_after rounds (3 x 5 s) and the first backoff.
  BOOST_REQUIRE(box.sh("systemctl stop postgresql@15-main", 120s).ok());
  BOOST_CHECK(waitFor(30s, [&] { return http.get("/health/main").status == 503; }));
  std::this_thread::sleep_for(25s);
  BOOST_CHECK_EQUAL(box.out("systemctl is-active postgresql@15-main"), "inactive");
  BOOST_CHECK(box.sh(thisRun + " | grep -q 'event=restart_deferred'").ok());
  BOOST_REQUIRE(box.sh("systemctl start postgresql@15-main", 120s).ok());
  BOOST_CHECK(waitFor(60s, healthy));

  // Purge: nothing of the package is left.
  CommandResult purge = box.sh("DEBIAN_FRONTEND=noninteractive apt-get purge -y -q pgvigil", 300s);
  BOOST_REQUIRE_MESSAGE(purge.ok(), purge.output);
  BOOST_CHECK(!box.sh("getent passwd pgvigil").ok());
  BOOST_CHECK(!box.sh("getent group pgvigil").ok());
  for (const char* path : {"/var/lib/pgvigil", "/var/log/pgvigil", "/etc/pgvigil",
                           "/lib/systemd/system/pgvigil.service", "/usr/bin/pgvigil",
                           "/usr/lib/pgvigil", "/usr/share/pgvigil"})
    BOOST_CHECK_MESSAGE(!box.sh(std::string("test -e ") + path).ok(),
                        path << " is left after purge");
  BOOST_CHECK_EQUAL(box.out("find /etc/systemd /var/lib/systemd -name 'pgvigil*' | wc -l"), "0");
  BOOST_CHECK(!box.sh("dpkg-statoverride --list /etc/pgvigil/pgvigil.yaml").ok());
  BOOST_CHECK_NE(box.out("systemctl is-active pgvigil"), "active");
  BOOST_CHECK(http.get("/livez").status == 0);  // nothing answers on its port
  BOOST_CHECK(box.sh("systemctl is-active postgresql@15-main").ok());  // the cluster is untouched
}
