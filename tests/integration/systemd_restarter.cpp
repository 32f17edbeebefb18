// The systemd restarter against a REAL systemd: PID 1 of a Docker container
// (tests/support/systemd_container.h), with PostgreSQL as a Type=notify unit in it.
//
// The binary runs twice. On the host (suites `host` and `in_container`) it builds the container
// and, for each scenario, runs ITSELF inside it with `docker exec ... --run_test=inside/<case>`
// (the build dir is bind-mounted read-only), so the restarter talks to that systemd's own bus as
// pgvigil would on a real machine. Inside (env PGVIGIL_SYSTEMD_INSIDE=1) only the `inside` suite
// runs. Every case is bounded; the container and any dockerd the fixture started are removed at
// the end, also on failure.
#define BOOST_TEST_MODULE systemd_restarter
#include <boost/test/unit_test.hpp>

#include <libpq-fe.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "restart/systemd_restarter.h"
#include "support/pg_cluster.h"
#include "support/systemd_container.h"

using namespace std::chrono_literals;
using pgvigil::Deadline;
using pgvigil::RestartOutcome;
using pgvigil::ServiceState;
using pgvigil::SystemClock;
using pgvigil::SystemdRestarter;
using pgvigil::SystemdServiceWatcher;
using pgvigil::SystemdUnitStatus;
using pgvigil::test::CommandResult;
using pgvigil::test::runCommand;
using pgvigil::test::SystemdContainer;
using pgvigil::test::SystemdContainerOptions;
using Result = RestartOutcome::Result;
using Ms = std::chrono::milliseconds;

namespace utf = boost::unit_test;

namespace pgvigil {
// Boost prints these in failed checks.
std::ostream& operator<<(std::ostream& os, ServiceState s) {
  return os << toString(s);
}
std::ostream& operator<<(std::ostream& os, RestartOutcome::Result r) {
  return os << toString(r);
}
}  // namespace pgvigil

namespace {

/// Where the hardened units find this test binary and the agent (see ContainerSuite).
constexpr const char* kTestBinMount = "/opt/pgvigil-test/bin";
constexpr const char* kAgentBinMount = "/opt/pgvigil-test/agent";

constexpr const char* kInsideEnv = "PGVIGIL_SYSTEMD_INSIDE";
constexpr const char* kBrokenUnit = "pgv-broken.service";
constexpr const char* kSlowUnit = "pgv-slow.service";
constexpr const char* kOtherUnit = "pgv-other.service";  // running, not in the polkit rule
constexpr const char* kMissingUnit = "pgv-no-such-unit.service";
constexpr const char* kStandInUnit = "pgvigil-standin.service";
constexpr const char* kAgentUnit = "pgvigil.service";
constexpr const char* kAgentUser = "pgvigil";
constexpr int kAgentUid = 1990;

bool inside() {
  return std::getenv(kInsideEnv) != nullptr;
}
boost::test_tools::assertion_result onHost(utf::test_unit_id) {
  return !inside();
}
boost::test_tools::assertion_result inContainer(utf::test_unit_id) {
  return inside();
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string selfExe() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

long msSince(std::chrono::steady_clock::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0).count());
}

/// Polls pred every 50 ms until it holds or timeout passes.
template <class Pred>
bool waitFor(Pred pred, Ms timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

// ------------------------------------------------------------------------------------------
// Helpers for the inside half (run in the container, next to its systemd).

std::string systemctlShow(const std::string& unit, const std::string& property) {
  CommandResult r = runCommand({"systemctl", "show", "-P", property, unit}, 10s);
  return trim(r.output);
}

CommandResult systemctl(std::vector<std::string> args) {
  args.insert(args.begin(), "systemctl");
  return runCommand(args, 30s);
}

void requireSystemctl(std::vector<std::string> args) {
  std::string cmd = "systemctl";
  for (const auto& a : args) cmd += " " + a;
  CommandResult r = systemctl(std::move(args));
  BOOST_REQUIRE_MESSAGE(r.ok(), cmd << ": exit " << r.exit_code
                                    << (r.timed_out ? " (timed out)" : "") << ": " << r.output);
}

pid_t mainPid(const std::string& unit) {
  return static_cast<pid_t>(std::atol(systemctlShow(unit, "MainPID").c_str()));
}

bool selectOne(const std::string& conninfo) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) return false;
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), "SELECT 1"), &PQclear);
  return res && PQresultStatus(res.get()) == PGRES_TUPLES_OK;
}

/// The PostgreSQL unit is up and answering before a scenario starts (cases run in any order).
void requirePgUp() {
  const std::string unit = env("PGV_UNIT");
  if (systemctlShow(unit, "ActiveState") != "active") systemctl({"start", unit});
  BOOST_REQUIRE_MESSAGE(waitFor([&] { return selectOne(env("PGV_CONNINFO")); }, 30s),
                        unit << " did not come up before the scenario");
}

/// Records what a watcher reports, with the time it arrived.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<ServiceState, std::chrono::steady_clock::time_point>> seen;

  void operator()(ServiceState s) {
    std::lock_guard lock(mu);
    seen.emplace_back(s, std::chrono::steady_clock::now());
    cv.notify_all();
  }
  /// Waits for state s reported after index from; returns its arrival time.
  std::optional<std::chrono::steady_clock::time_point> waitFor(ServiceState s, std::size_t from,
                                                               Ms timeout) {
    std::unique_lock lock(mu);
    std::optional<std::chrono::steady_clock::time_point> at;
    cv.wait_for(lock, timeout, [&] {
      for (std::size_t i = from; i < seen.size(); ++i)
        if (seen[i].first == s) {
          at = seen[i].second;
          return true;
        }
      return false;
    });
    return at;
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return seen.size();
  }
};

// ------------------------------------------------------------------------------------------
// Helpers for the host half.

/// The agent's unit file as shipped (service/pgvigil.service), with ExecStart replaced and extra
/// [Service] lines added: the hardening under test stays exactly as shipped.
std::string agentUnitText(const std::string& execStart, const std::vector<std::string>& extra) {
  std::ifstream in(std::string(PGVIGIL_SOURCE_DIR) + "/service/pgvigil.service");
  BOOST_REQUIRE_MESSAGE(in, "service/pgvigil.service not found");
  std::ostringstream out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("ExecStart=", 0) == 0) {
      out << "ExecStart=" << execStart << "\n";
      for (const auto& e : extra) out << e << "\n";
      continue;
    }
    out << line << "\n";
  }
  return out.str();
}

/// packaging/polkit/50-pgvigil.rules with its unit list set to units (as an admin would).
std::string polkitRuleFor(const std::vector<std::string>& units) {
  std::ifstream in(std::string(PGVIGIL_SOURCE_DIR) + "/packaging/polkit/50-pgvigil.rules");
  BOOST_REQUIRE_MESSAGE(in, "packaging/polkit/50-pgvigil.rules not found");
  std::ostringstream out;
  std::string line;
  bool replaced = false;
  while (std::getline(in, line)) {
    auto pos = line.find("var units = [");
    if (pos != std::string::npos) {
      out << line.substr(0, pos) << "var units = [";
      for (std::size_t i = 0; i < units.size(); ++i)
        out << (i ? ", " : "") << '"' << units[i] << '"';
      out << "];\n";
      replaced = true;
      continue;
    }
    out << line << "\n";
  }
  BOOST_REQUIRE_MESSAGE(replaced, "the rule has no `var units = [...]` line to extend");
  return out.str();
}

bool hostHasUser(const std::string& name) {
  std::ifstream in("/etc/passwd");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + ":", 0) == 0) return true;
  return false;
}

/// One container for the whole in_container suite (it takes a few seconds to boot).
struct ContainerSuite {
  static inline std::unique_ptr<SystemdContainer> container;

  ContainerSuite() {
    SystemdContainerOptions o;
    o.units[kBrokenUnit] =
        "[Service]\nType=notify\nExecStart=/bin/false\n";  // exits before READY=1: job "failed"
    o.units[kSlowUnit] =
        "[Service]\nType=notify\nExecStart=/bin/sleep 120\nTimeoutStartSec=300\n";  // never READY
    o.units[kOtherUnit] = "[Service]\nExecStart=/bin/sleep infinity\n";
    o.etc_files["polkit-1/rules.d/50-pgvigil.rules"] = polkitRuleFor({"pgtest.service"});
    if (!hostHasUser(kAgentUser)) {
      o.passwd_lines.push_back(std::string(kAgentUser) + ":x:" + std::to_string(kAgentUid) + ":" +
                               std::to_string(kAgentUid) + "::/var/lib/pgvigil:/usr/sbin/nologin");
      o.group_lines.push_back(std::string(kAgentUser) + ":x:" + std::to_string(kAgentUid) + ":");
    }
    const std::string exe = selfExe();
    o.bind_ro.push_back(std::filesystem::path(exe).parent_path().string());
    const std::string agentDir = std::filesystem::path(PGVIGIL_BINARY).parent_path().string();
    if (agentDir != o.bind_ro.front() && std::filesystem::exists(agentDir))
      o.bind_ro.push_back(agentDir);
    // The shipped agent unit, its ExecStart replaced by this binary in a stand-in mode that does
    // what the agent does through the hardening: read the unit, restart it, then READY=1.
    // Hardened units cannot see /tmp, /root or /home, where a build dir may be: they run the
    // binaries from fixed read-only mounts instead.
    o.bind_ro_at.emplace_back(std::filesystem::path(exe).parent_path().string(), kTestBinMount);
    o.bind_ro_at.emplace_back(agentDir, kAgentBinMount);
    o.units[kStandInUnit] = agentUnitText(
        std::string(kTestBinMount) + "/" + std::filesystem::path(exe).filename().string() +
            " --run_test=inside/sandboxed_stand_in --log_level=message",
        {std::string("Environment=") + kInsideEnv + "=1", "Environment=PGV_UNIT=pgtest.service"});
    const auto t0 = std::chrono::steady_clock::now();
    container = std::make_unique<SystemdContainer>(std::move(o));
    BOOST_TEST_MESSAGE("systemd container " << container->name() << " up in " << msSince(t0)
                                            << " ms, PostgreSQL unit on port "
                                            << container->pgPort());
  }
  ~ContainerSuite() { container.reset(); }
};

/// Runs one `inside/<name>` case of this binary in the container and relays its verdict.
void runInside(const std::string& name, const std::string& user = "") {
  auto& c = *ContainerSuite::container;
  std::vector<std::string> envs = {std::string(kInsideEnv) + "=1", "PGV_UNIT=" + c.pgUnit(),
                                   "PGV_CONNINFO=" + c.pgConninfo()};
  CommandResult r = c.exec(
      // Log and report both on stdout: on two streams they interleave in the merged output and
      // cut the verdict line this function looks for.
      {selfExe(), "--run_test=inside/" + name, "--log_level=message", "--report_level=short",
       "--report_sink=stdout"},
      120s, envs, user);
  BOOST_TEST_MESSAGE("inside/" << name << (user.empty() ? "" : " as " + user) << ":\n" << r.output);
  BOOST_CHECK_MESSAGE(!r.timed_out, "inside/" << name << " timed out");
  BOOST_CHECK_MESSAGE(r.exit_code == 0, "inside/" << name << " failed (exit " << r.exit_code
                                                  << "):\n"
                                                  << r.output << "\njournal:\n"
                                                  << c.journal(c.pgUnit()));
  // A case skipped or not found inside would exit 0 too: make sure it really ran and passed.
  BOOST_CHECK_MESSAGE(
      std::regex_search(r.output, std::regex("has passed with:\\s+1 test case out of \\d+ passed")),
      "inside/" << name << " did not run and pass");
}

}  // namespace

// ==========================================================================================
// host: no container needed.

BOOST_AUTO_TEST_SUITE(host, *utf::precondition(onHost))

BOOST_AUTO_TEST_CASE(state_mapping_follows_the_health_model) {
  struct Row {
    SystemdUnitStatus status;
    ServiceState expected;
  };
  const Row rows[] = {
      {{"loaded", "active", "running", "success"}, ServiceState::kRunning},
      {{"loaded", "reloading", "reload", "success"}, ServiceState::kRunning},
      {{"loaded", "activating", "start", "success"}, ServiceState::kRunning},
      {{"loaded", "activating", "auto-restart", "signal"}, ServiceState::kFailed},
      {{"loaded", "failed", "failed", "signal"}, ServiceState::kFailed},
      {{"loaded", "failed", "failed", "exit-code"}, ServiceState::kFailed},
      {{"loaded", "inactive", "dead", "success"}, ServiceState::kOperatorStopped},
      {{"loaded", "inactive", "dead", "signal"}, ServiceState::kFailed},
      {{"loaded", "inactive", "dead", "timeout"}, ServiceState::kFailed},
      {{"not-found", "inactive", "dead", "success"}, ServiceState::kNotFound},
      {{"loaded", "deactivating", "stop-sigterm", "success"}, ServiceState::kUnknown},
      {{"loaded", "maintenance", "", ""}, ServiceState::kUnknown},
      {{"loaded", "inactive", "dead", "success", true}, ServiceState::kUnknown},
      {{"loaded", "failed", "failed", "signal", true}, ServiceState::kUnknown},
      {{"loaded", "active", "running", "success", true}, ServiceState::kRunning},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.status.load_state << "/" << row.status.active_state << "/"
                                             << row.status.sub_state << "/" << row.status.result) {
      BOOST_CHECK_EQUAL(pgvigil::serviceStateFrom(row.status), row.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(unit_names_get_a_service_suffix_only_when_they_have_no_type) {
  BOOST_CHECK_EQUAL(pgvigil::systemdUnitName("postgresql@15-main"), "postgresql@15-main.service");
  BOOST_CHECK_EQUAL(pgvigil::systemdUnitName("postgresql.service"), "postgresql.service");
  BOOST_CHECK_EQUAL(pgvigil::systemdUnitName("pg.socket"), "pg.socket");
  BOOST_CHECK_EQUAL(SystemdRestarter("pg", SystemClock::instance()).unit(), "pg.service");
}

BOOST_AUTO_TEST_CASE(bus_address_override_beats_the_environment) {
  ::setenv("PGVIGIL_SYSTEMD_BUS", "unix:path=/from/env", 1);
  BOOST_CHECK_EQUAL(pgvigil::systemdBusAddress(""), "unix:path=/from/env");
  BOOST_CHECK_EQUAL(pgvigil::systemdBusAddress("unix:path=/explicit"), "unix:path=/explicit");
  ::unsetenv("PGVIGIL_SYSTEMD_BUS");
  BOOST_CHECK_EQUAL(pgvigil::systemdBusAddress(""), "");
}

BOOST_AUTO_TEST_CASE(missing_bus_is_unreachable_not_a_crash) {
  const std::string dir = std::filesystem::temp_directory_path() / "pgv-no-bus";
  SystemdRestarter r("pgtest.service", SystemClock::instance(),
                     "unix:path=" + dir + "/no_such_socket");
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_CHECK_EQUAL(r.query(Deadline(SystemClock::instance(), 2s)), ServiceState::kUnknown);
  RestartOutcome out = r.restart(Deadline(SystemClock::instance(), 2s));
  BOOST_CHECK_EQUAL(out.result, Result::kUnreachable);
  BOOST_CHECK_MESSAGE(out.detail.find("connect") != std::string::npos, out.detail);
  BOOST_CHECK_LT(msSince(t0), 1000);  // a missing socket fails at once, not at the deadline
}

BOOST_AUTO_TEST_CASE(silent_bus_is_unreachable_within_the_deadline) {
  // A socket that accepts connections and never says a word: a hung dbus-daemon.
  const std::string path = "/tmp/pgv-silent-bus-" + std::to_string(::getpid());
  struct Listener {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    std::string path;
    ~Listener() {
      if (fd >= 0) ::close(fd);
      if (!path.empty()) ::unlink(path.c_str());
    }
  } listener{.path = path};
  const int fd = listener.fd;
  BOOST_REQUIRE_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ::unlink(path.c_str());
  BOOST_REQUIRE_EQUAL(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  BOOST_REQUIRE_EQUAL(::listen(fd, 16), 0);
  SystemdRestarter r("pgtest.service", SystemClock::instance(), "unix:path=" + path);

  auto t0 = std::chrono::steady_clock::now();
  BOOST_CHECK_EQUAL(r.query(Deadline(SystemClock::instance(), 500ms)), ServiceState::kUnknown);
  long queryMs = msSince(t0);
  t0 = std::chrono::steady_clock::now();
  RestartOutcome out = r.restart(Deadline(SystemClock::instance(), 500ms));
  long restartMs = msSince(t0);
  BOOST_CHECK_EQUAL(out.result, Result::kUnreachable);
  BOOST_TEST_MESSAGE("silent bus: query gave up after " << queryMs << " ms, restart after "
                                                        << restartMs << " ms: " << out.detail);
  BOOST_CHECK_GE(queryMs, 400);
  BOOST_CHECK_LT(queryMs, 1500);
  BOOST_CHECK_LT(restartMs, 1500);
  BOOST_CHECK_GE(out.took.count(), 400);
}

BOOST_AUTO_TEST_CASE(watcher_without_a_bus_stops_promptly_and_reports_nothing) {
  Recorder rec;  // outlives the watcher, whose thread calls it
  SystemdServiceWatcher w("pgtest.service", "unix:path=/nonexistent/pgv/bus", Ms{5000});
  w.start([&](ServiceState s) { rec(s); });
  std::this_thread::sleep_for(200ms);
  BOOST_CHECK(!w.subscribed());
  const auto t0 = std::chrono::steady_clock::now();
  w.stop();
  BOOST_CHECK_LT(msSince(t0), 500);  // interrupts the 5 s reconnect wait
  BOOST_CHECK_EQUAL(rec.size(), 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// ==========================================================================================
// in_container: each case runs its scenario inside the container.

BOOST_AUTO_TEST_SUITE(in_container, *utf::precondition(onHost) * utf::fixture<ContainerSuite>())

BOOST_AUTO_TEST_CASE(kill9_then_restart_over_dbus) {
  runInside("kill9_then_restart_over_dbus");
}
BOOST_AUTO_TEST_CASE(restart_of_a_running_unit) {
  runInside("restart_of_a_running_unit");
}
BOOST_AUTO_TEST_CASE(operator_stop_is_respected) {
  runInside("operator_stop_is_respected");
}
BOOST_AUTO_TEST_CASE(missing_unit_is_not_found) {
  runInside("missing_unit_is_not_found");
}
BOOST_AUTO_TEST_CASE(failing_start_reports_the_job_result) {
  runInside("failing_start_reports_the_job_result");
}
BOOST_AUTO_TEST_CASE(slow_start_is_cut_at_the_deadline) {
  runInside("slow_start_is_cut_at_the_deadline");
}
BOOST_AUTO_TEST_CASE(watcher_sees_failure_stop_and_start_at_once) {
  runInside("watcher_sees_failure_stop_and_start_at_once");
}
BOOST_AUTO_TEST_CASE(watcher_survives_a_restart_of_the_bus) {
  runInside("watcher_survives_a_restart_of_the_bus");
}
BOOST_AUTO_TEST_CASE(unprivileged_user_is_denied) {
  runInside("unprivileged_user_is_denied", "65534:65534");  // nobody
}
BOOST_AUTO_TEST_CASE(polkit_rule_lets_pgvigil_restart_only_its_units) {
  BOOST_REQUIRE(ContainerSuite::container->ensureActive(kOtherUnit, 30s));
  // docker exec resolves names in the image, not in the bind-mounted /etc: use the ids.
  runInside("polkit_rule_lets_pgvigil_restart_only_its_units",
            std::to_string(kAgentUid) + ":" + std::to_string(kAgentUid));
}

// Issue 10: the preflight check finds what a restart would run into, restarting nothing.
BOOST_AUTO_TEST_CASE(preflight_finds_a_missing_unit) {
  runInside("preflight_finds_a_missing_unit");
}
BOOST_AUTO_TEST_CASE(preflight_as_the_agents_user_passes_polkit_and_restarts_nothing) {
  runInside("preflight_as_the_agents_user_passes_polkit_and_restarts_nothing",
            std::to_string(kAgentUid) + ":" + std::to_string(kAgentUid));
}

// The shipped unit's hardening (service/pgvigil.service, ExecStart swapped for a stand-in) still
// lets the process reach the system bus, pass polkit as User=pgvigil, restart PostgreSQL's unit
// and report READY=1 (Type=notify).
BOOST_AUTO_TEST_CASE(hardened_agent_unit_reaches_the_bus) {
  auto& c = *ContainerSuite::container;
  const std::string before = c.unitProperty(c.pgUnit(), "MainPID");
  const auto t0 = std::chrono::steady_clock::now();
  CommandResult start = c.systemctl({"start", kStandInUnit}, 60s);
  BOOST_TEST_MESSAGE("stand-in unit started in " << msSince(t0) << " ms");
  BOOST_CHECK_MESSAGE(start.ok(), "systemctl start " << kStandInUnit << ": " << start.output
                                                     << c.journal(kStandInUnit));
  BOOST_CHECK_EQUAL(c.unitProperty(kStandInUnit, "ActiveState"), "active");
  BOOST_CHECK_EQUAL(c.unitProperty(kStandInUnit, "User"), kAgentUser);
  BOOST_CHECK_EQUAL(c.unitProperty(kStandInUnit, "WatchdogUSec"), "30s");
  BOOST_CHECK_NE(c.unitProperty(c.pgUnit(), "MainPID"), before);  // it did restart PostgreSQL
  BOOST_CHECK(c.ensureActive(c.pgUnit(), 30s));
  CommandResult stop = c.systemctl({"stop", kStandInUnit}, 60s);
  BOOST_CHECK_MESSAGE(stop.ok(), stop.output);
  BOOST_CHECK_EQUAL(c.unitProperty(kStandInUnit, "Result"), "success");
}

// The real agent (`pgvigil run`) under its shipped unit: Type=notify start, User=pgvigil through
// the polkit rule, and a kill -9 of PostgreSQL's MainPID undone by the agent alone (the unit has
// Restart=no, so systemd itself never restarts it).
BOOST_AUTO_TEST_CASE(agent_unit_runs_and_restarts_postgres) {
  auto& c = *ContainerSuite::container;
  // Whatever happens below, the agent must not outlive this case (it would restart PostgreSQL
  // under the other cases' feet).
  struct StopAgent {
    const SystemdContainer& c;
    ~StopAgent() { c.systemctl({"stop", kAgentUnit}, 60s); }
  } stopAgent{c};
  const int listenPort = pgvigil::test::freeLoopbackPort();
  std::ostringstream yaml;
  yaml << "agent:\n  listen: \"127.0.0.1:" << listenPort << "\"\n  log: { output: stdout }\n"
       << "targets:\n  - name: main\n    conninfo: \"" << c.pgConninfo() << "\"\n"
       << "    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 2\n"
       << "    restart:\n      method: systemd\n      unit: " << c.pgUnit() << "\n"
       << "      grace: 10s\n      backoff: { initial: 1s, max: 5s }\n";
  // The unit has PrivateTmp=yes, so the config goes where a package puts it: /etc/pgvigil (the
  // container's /etc is read-only inside, written here through the fixture's temp root).
  const std::string config = "/etc/pgvigil/pgvigil.yaml";
  std::filesystem::create_directories(c.dir() + "/root/etc/pgvigil");
  {
    std::ofstream out(c.dir() + "/root" + config);
    out << yaml.str();
  }
  const std::string unitPath = c.dir() + "/root/etc/systemd/system/" + kAgentUnit;
  {
    std::ofstream out(unitPath);
    out << agentUnitText(std::string(kAgentBinMount) + "/pgvigil run -c " + config, {});
  }
  BOOST_REQUIRE(c.systemctl({"daemon-reload"}).ok());
  CommandResult start = c.systemctl({"start", kAgentUnit}, 60s);
  BOOST_REQUIRE_MESSAGE(start.ok(), start.output << c.journal(kAgentUnit));
  BOOST_CHECK_EQUAL(c.unitProperty(kAgentUnit, "ActiveState"), "active");

  const std::string pidBefore = c.unitProperty(c.pgUnit(), "MainPID");
  BOOST_REQUIRE(c.exec({"kill", "-9", pidBefore}, 10s).ok());
  const auto t0 = std::chrono::steady_clock::now();
  bool back = waitFor(
      [&] {
        return c.unitProperty(c.pgUnit(), "ActiveState") == "active" &&
               c.unitProperty(c.pgUnit(), "MainPID") != pidBefore && c.pgAnswers();
      },
      60s);
  BOOST_TEST_MESSAGE("agent brought PostgreSQL back after kill -9 in " << msSince(t0) << " ms");
  BOOST_CHECK_MESSAGE(back, c.journal(kAgentUnit));
  const std::string journal = c.journal(kAgentUnit);
  BOOST_CHECK_MESSAGE(journal.find("restart_succeeded") != std::string::npos, journal);
  BOOST_TEST_MESSAGE("agent journal:\n" << journal);
  CommandResult stop = c.systemctl({"stop", kAgentUnit}, 60s);
  BOOST_CHECK(stop.ok());
  BOOST_CHECK_EQUAL(c.unitProperty(kAgentUnit, "Result"), "success");
}

BOOST_AUTO_TEST_SUITE_END()

// ==========================================================================================
// inside: run by the cases above, in the container, as root unless said otherwise.

BOOST_AUTO_TEST_SUITE(inside, *utf::precondition(inContainer))

BOOST_AUTO_TEST_CASE(kill9_then_restart_over_dbus) {
  requirePgUp();
  const std::string unit = env("PGV_UNIT");
  SystemdRestarter r(unit, SystemClock::instance());
  BOOST_REQUIRE_EQUAL(r.query(Deadline(SystemClock::instance(), 5s)), ServiceState::kRunning);

  const pid_t pid = mainPid(unit);
  BOOST_REQUIRE_GT(pid, 1);
  BOOST_REQUIRE_EQUAL(::kill(pid, SIGKILL), 0);
  BOOST_REQUIRE(waitFor(
      [&] { return r.query(Deadline(SystemClock::instance(), 5s)) == ServiceState::kFailed; },
      10s));
  BOOST_CHECK_EQUAL(systemctlShow(unit, "ActiveState"), "failed");
  BOOST_CHECK_EQUAL(systemctlShow(unit, "Result"), "signal");
  BOOST_CHECK(!selectOne(env("PGV_CONNINFO")));

  const auto t0 = std::chrono::steady_clock::now();
  RestartOutcome out = r.restart(Deadline(SystemClock::instance(), 30s));
  const long took = msSince(t0);
  BOOST_TEST_MESSAGE("kill -9 -> StartUnit over D-Bus -> active in " << took << " ms ("
                                                                     << out.detail << ")");
  BOOST_CHECK_EQUAL(out.result, Result::kSucceeded);
  BOOST_CHECK_MESSAGE(out.detail.find("StartUnit") != std::string::npos, out.detail);
  BOOST_CHECK_GT(out.took.count(), 0);
  BOOST_CHECK_EQUAL(r.query(Deadline(SystemClock::instance(), 5s)), ServiceState::kRunning);
  BOOST_CHECK_EQUAL(systemctlShow(unit, "ActiveState"), "active");
  BOOST_CHECK_NE(mainPid(unit), pid);
  // Type=notify: the job is done only after READY=1, so SELECT 1 answers at once.
  BOOST_CHECK(selectOne(env("PGV_CONNINFO")));
}

BOOST_AUTO_TEST_CASE(restart_of_a_running_unit) {
  requirePgUp();
  const std::string unit = env("PGV_UNIT");
  SystemdRestarter r(unit, SystemClock::instance());
  const pid_t before = mainPid(unit);
  const auto t0 = std::chrono::steady_clock::now();
  RestartOutcome out = r.restart(Deadline(SystemClock::instance(), 30s));
  BOOST_TEST_MESSAGE("RestartUnit of a running unit took " << msSince(t0) << " ms");
  BOOST_CHECK_EQUAL(out.result, Result::kSucceeded);
  BOOST_CHECK_MESSAGE(out.detail.find("RestartUnit") != std::string::npos, out.detail);
  BOOST_CHECK_NE(mainPid(unit), before);
  BOOST_CHECK(selectOne(env("PGV_CONNINFO")));
}

BOOST_AUTO_TEST_CASE(operator_stop_is_respected) {
  requirePgUp();
  const std::string unit = env("PGV_UNIT");
  SystemdRestarter r(unit, SystemClock::instance());
  requireSystemctl({"stop", unit});
  BOOST_CHECK_EQUAL(systemctlShow(unit, "ActiveState"), "inactive");
  BOOST_CHECK_EQUAL(r.query(Deadline(SystemClock::instance(), 5s)), ServiceState::kOperatorStopped);
  // The engine would not ask; if it did, the restarter still does not start it.
  RestartOutcome out = r.restart(Deadline(SystemClock::instance(), 10s));
  BOOST_CHECK_EQUAL(out.result, Result::kOperatorStopped);
  std::this_thread::sleep_for(300ms);
  BOOST_CHECK_EQUAL(systemctlShow(unit, "ActiveState"), "inactive");
  BOOST_CHECK(!selectOne(env("PGV_CONNINFO")));
  BOOST_CHECK(systemctl({"start", unit}).ok());  // leave it as found
}

BOOST_AUTO_TEST_CASE(missing_unit_is_not_found) {
  SystemdRestarter r(kMissingUnit, SystemClock::instance());
  BOOST_CHECK_EQUAL(r.query(Deadline(SystemClock::instance(), 5s)), ServiceState::kNotFound);
  RestartOutcome out = r.restart(Deadline(SystemClock::instance(), 5s));
  BOOST_CHECK_EQUAL(out.result, Result::kNotFound);
  BOOST_CHECK_MESSAGE(out.detail.find(kMissingUnit) != std::string::npos, out.detail);
}

BOOST_AUTO_TEST_CASE(failing_start_reports_the_job_result) {
  systemctl({"start", kBrokenUnit});  // fails: /bin/false exits before READY=1
  BOOST_REQUIRE_EQUAL(systemctlShow(kBrokenUnit, "ActiveState"), "failed");
  SystemdRestarter r(kBrokenUnit, SystemClock::instance());
  BOOST_CHECK_EQUAL(r.query(Deadline(SystemClock::instance(), 5s)), ServiceState::kFailed);
  RestartOutcome out = r.restart(Deadline(SystemClock::instance(), 20s));
  BOOST_CHECK_EQUAL(out.result, Result::kFailed);
  BOOST_CHECK_MESSAGE(out.detail.find("job failed") != std::string::npos, out.detail);
  BOOST_CHECK_MESSAGE(out.detail.find("unit result exit-code") != std::string::npos, out.detail);
  systemctl({"reset-failed", kBrokenUnit});
}

BOOST_AUTO_TEST_CASE(slow_start_is_cut_at_the_deadline) {
  systemctl({"start", "--no-block", kSlowUnit});  // activating: it never sends READY=1
  BOOST_REQUIRE(
      waitFor([] { return systemctlShow(kSlowUnit, "ActiveState") == "activating"; }, 10s));
  SystemdRestarter r(kSlowUnit, SystemClock::instance());
  const auto t0 = std::chrono::steady_clock::now();
  RestartOutcome out = r.restart(Deadline(SystemClock::instance(), 1500ms));
  const long took = msSince(t0);
  BOOST_CHECK_EQUAL(out.result, Result::kTimedOut);
  BOOST_CHECK_GE(took, 1400);
  BOOST_CHECK_LT(took, 3000);
  BOOST_TEST_MESSAGE("slow start abandoned after " << took << " ms: " << out.detail);
  systemctl({"stop", kSlowUnit});
}

BOOST_AUTO_TEST_CASE(watcher_sees_failure_stop_and_start_at_once) {
  requirePgUp();
  const std::string unit = env("PGV_UNIT");
  SystemdRestarter r(unit, SystemClock::instance());
  Recorder rec;  // outlives the watcher, whose thread calls it
  SystemdServiceWatcher w(unit);
  w.start([&](ServiceState s) { rec(s); });
  BOOST_REQUIRE(waitFor([&] { return w.subscribed(); }, 5s));
  BOOST_CHECK_EQUAL(rec.size(), 0u);  // the first state is a baseline, not a transition

  const pid_t pid = mainPid(unit);
  BOOST_REQUIRE_GT(pid, 1);
  auto t0 = std::chrono::steady_clock::now();
  BOOST_REQUIRE_EQUAL(::kill(pid, SIGKILL), 0);
  auto failedAt = rec.waitFor(ServiceState::kFailed, 0, 5s);
  BOOST_REQUIRE_MESSAGE(failedAt, "the watcher did not report the crash");
  const long seenMs = static_cast<long>(std::chrono::duration_cast<Ms>(*failedAt - t0).count());
  BOOST_TEST_MESSAGE("watcher saw kill -9 after " << seenMs << " ms");
  BOOST_CHECK_LT(seenMs, 1000);

  std::size_t mark = rec.size();
  BOOST_REQUIRE_EQUAL(r.restart(Deadline(SystemClock::instance(), 30s)).result, Result::kSucceeded);
  BOOST_CHECK(rec.waitFor(ServiceState::kRunning, mark, 3s));

  // A restart passes through a dead moment with a start job queued: neither a stop nor a crash.
  mark = rec.size();
  requireSystemctl({"restart", unit});
  std::this_thread::sleep_for(300ms);
  {
    std::lock_guard lock(rec.mu);
    for (std::size_t i = mark; i < rec.seen.size(); ++i)
      BOOST_CHECK_EQUAL(rec.seen[i].first, ServiceState::kRunning);
  }

  mark = rec.size();
  t0 = std::chrono::steady_clock::now();
  requireSystemctl({"stop", unit});
  auto stoppedAt = rec.waitFor(ServiceState::kOperatorStopped, mark, 5s);
  BOOST_CHECK_MESSAGE(stoppedAt, "the watcher did not report the operator stop");
  {
    std::lock_guard lock(rec.mu);
    for (std::size_t i = mark; i < rec.seen.size(); ++i)
      BOOST_CHECK_NE(rec.seen[i].first, ServiceState::kFailed);  // a clean stop is no failure
  }

  mark = rec.size();
  requireSystemctl({"start", unit});
  BOOST_CHECK(rec.waitFor(ServiceState::kRunning, mark, 3s));

  t0 = std::chrono::steady_clock::now();
  w.stop();
  BOOST_CHECK_LT(msSince(t0), 500);
}

BOOST_AUTO_TEST_CASE(watcher_survives_a_restart_of_the_bus) {
  requirePgUp();
  const std::string unit = env("PGV_UNIT");
  Recorder rec;  // outlives the watcher, whose thread calls it
  SystemdServiceWatcher w(unit, "", Ms{200});
  w.start([&](ServiceState s) { rec(s); });
  BOOST_REQUIRE(waitFor([&] { return w.subscribed(); }, 5s));

  // dbus-daemon goes away; systemd itself is still reachable on its private socket.
  requireSystemctl({"stop", "dbus.socket", "dbus.service"});
  BOOST_CHECK(waitFor([&] { return !w.subscribed(); }, 5s));
  // The crash happens while nobody can tell the watcher...
  const pid_t pid = mainPid(unit);
  BOOST_REQUIRE_GT(pid, 1);
  BOOST_REQUIRE_EQUAL(::kill(pid, SIGKILL), 0);
  BOOST_REQUIRE(waitFor([&] { return systemctlShow(unit, "ActiveState") == "failed"; }, 10s));
  BOOST_CHECK_EQUAL(rec.size(), 0u);
  // ...and is reported once the bus is back.
  const auto t0 = std::chrono::steady_clock::now();
  requireSystemctl({"start", "dbus.socket"});
  BOOST_CHECK_MESSAGE(rec.waitFor(ServiceState::kFailed, 0, 15s),
                      "the watcher did not report the crash it missed");
  BOOST_TEST_MESSAGE("missed crash reported " << msSince(t0) << " ms after the bus came back");
  BOOST_CHECK(waitFor([&] { return w.subscribed(); }, 2s));  // set just after the report

  const std::size_t mark = rec.size();
  SystemdRestarter r(unit, SystemClock::instance());
  BOOST_CHECK_EQUAL(r.restart(Deadline(SystemClock::instance(), 30s)).result, Result::kSucceeded);
  BOOST_CHECK(rec.waitFor(ServiceState::kRunning, mark, 3s));
  w.stop();
}

BOOST_AUTO_TEST_CASE(unprivileged_user_is_denied) {
  BOOST_REQUIRE_NE(::geteuid(), 0u);
  const std::string unit = env("PGV_UNIT");
  SystemdRestarter r(unit, SystemClock::instance());
  // Reading is open to every user; managing units is not.
  BOOST_CHECK_EQUAL(r.query(Deadline(SystemClock::instance(), 5s)), ServiceState::kRunning);
  RestartOutcome out = r.restart(Deadline(SystemClock::instance(), 10s));
  BOOST_CHECK_EQUAL(out.result, Result::kPermissionDenied);
  BOOST_TEST_MESSAGE("as uid " << ::geteuid() << ": " << out.detail);
}

BOOST_AUTO_TEST_CASE(polkit_rule_lets_pgvigil_restart_only_its_units) {
  BOOST_REQUIRE_EQUAL(::geteuid(), static_cast<uid_t>(kAgentUid));
  const std::string unit = env("PGV_UNIT");
  SystemdRestarter mine(unit, SystemClock::instance());
  const pid_t before = mainPid(unit);
  RestartOutcome out = mine.restart(Deadline(SystemClock::instance(), 30s));
  BOOST_CHECK_EQUAL(out.result, Result::kSucceeded);
  BOOST_TEST_MESSAGE("pgvigil restarting " << unit << ": " << out.detail);
  BOOST_CHECK_NE(mainPid(unit), before);
  BOOST_CHECK(selectOne(env("PGV_CONNINFO")));

  // Running, but not in the rule's list: denied, and nothing happens to it.
  const pid_t otherPid = mainPid(kOtherUnit);
  BOOST_REQUIRE_GT(otherPid, 1);
  SystemdRestarter other(kOtherUnit, SystemClock::instance());
  BOOST_CHECK_EQUAL(other.query(Deadline(SystemClock::instance(), 5s)), ServiceState::kRunning);
  RestartOutcome denied = other.restart(Deadline(SystemClock::instance(), 10s));
  BOOST_CHECK_EQUAL(denied.result, Result::kPermissionDenied);
  BOOST_TEST_MESSAGE("pgvigil restarting " << kOtherUnit << ": " << denied.detail);
  BOOST_CHECK_EQUAL(mainPid(kOtherUnit), otherPid);
}

BOOST_AUTO_TEST_CASE(preflight_finds_a_missing_unit) {
  BOOST_REQUIRE_EQUAL(::geteuid(), 0u);
  SystemdRestarter missing(kMissingUnit, SystemClock::instance());
  pgvigil::RestartPathCheck c = missing.preflight(Deadline(SystemClock::instance(), 5s));
  BOOST_CHECK(!c.ok);
  BOOST_CHECK_EQUAL(c.problem, std::string("unit ") + kMissingUnit + " does not exist");
  // Root may manage every unit: the configured one is fine, and it was not touched.
  const std::string unit = env("PGV_UNIT");
  const pid_t before = mainPid(unit);
  SystemdRestarter mine(unit, SystemClock::instance());
  pgvigil::RestartPathCheck ok = mine.preflight(Deadline(SystemClock::instance(), 5s));
  BOOST_CHECK_MESSAGE(ok.ok, ok.problem);
  BOOST_CHECK_EQUAL(mainPid(unit), before);
}

// As User=pgvigil under the shipped rule: the unit is found and polkit, asked without the unit
// (only root may pass it), does not refuse; nothing is restarted. A missing unit is found by
// any user.
BOOST_AUTO_TEST_CASE(preflight_as_the_agents_user_passes_polkit_and_restarts_nothing) {
  BOOST_REQUIRE_EQUAL(::geteuid(), static_cast<uid_t>(kAgentUid));
  const std::string unit = env("PGV_UNIT");
  const pid_t before = mainPid(unit);
  SystemdRestarter mine(unit, SystemClock::instance());
  pgvigil::RestartPathCheck ok = mine.preflight(Deadline(SystemClock::instance(), 10s));
  BOOST_CHECK_MESSAGE(ok.ok, ok.problem);
  BOOST_CHECK_EQUAL(mainPid(unit), before);  // asked, not restarted
  SystemdRestarter missing(kMissingUnit, SystemClock::instance());
  pgvigil::RestartPathCheck gone = missing.preflight(Deadline(SystemClock::instance(), 10s));
  BOOST_CHECK(!gone.ok);
  BOOST_CHECK_EQUAL(gone.problem, std::string("unit ") + kMissingUnit + " does not exist");
}

// ExecStart of the stand-in unit: the shipped hardening, User=pgvigil.
BOOST_AUTO_TEST_CASE(sandboxed_stand_in) {
  const std::string unit = env("PGV_UNIT");
  SystemdRestarter r(unit, SystemClock::instance());
  BOOST_REQUIRE_EQUAL(r.query(Deadline(SystemClock::instance(), 5s)), ServiceState::kRunning);
  RestartOutcome out = r.restart(Deadline(SystemClock::instance(), 30s));
  BOOST_REQUIRE_EQUAL(out.result, Result::kSucceeded);
  BOOST_REQUIRE_GT(sd_notify(0, "READY=1"), 0);
  // Stay up until systemd stops the unit, as the agent would.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  BOOST_CHECK_EQUAL(sig, SIGTERM);
}

BOOST_AUTO_TEST_SUITE_END()
