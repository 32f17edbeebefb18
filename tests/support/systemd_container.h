// A real systemd, as PID 1 of a Docker container (../shared/TESTING.md "systemd"), with a
// PostgreSQL cluster installed as a Type=notify unit in it, for the systemd restarter tests.
//
// What the constructor does, and the destructor undoes (also when a test fails):
//   - a DockerEngine (docker_engine.h): the dockerd that answers on /var/run/docker.sock, or a
//     private one (no bridge, no iptables) that it stops at the end, and the empty image;
//   - copies /etc into a temp root, strips every *.wants link and rc?.d, writes the units and
//     files the test asks for, and the PostgreSQL unit (initdb as the postgres user first);
//   - runs /lib/systemd/systemd as PID 1 with --network host and the host's /usr, /lib, /bin,
//     /sbin read-only, and waits until `systemctl is-system-running` says running or degraded;
//   - starts the PostgreSQL unit and waits until it answers SELECT 1 on 127.0.0.1.
// Teardown: docker rm -f (the container and its anonymous volumes), the temp dirs, then the
// DockerEngine (a dockerd and image only if it made them). Never signals anything it did not start.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace pgvigil::test {

class DockerEngine;

struct CommandResult {
  int exit_code = -1;  ///< -1 when it could not run or was killed
  bool timed_out = false;
  std::string output;  ///< stdout and stderr together, bounded
  bool ok() const { return exit_code == 0; }
};

/// Runs argv (argv[0] looked up in PATH) with extra environment ("NAME=value"), output captured,
/// SIGKILLed after timeout. Never throws.
CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::vector<std::string>& env = {});

struct SystemdContainerOptions {
  /// initdb a cluster and install it as pg_unit (Type=notify, User=postgres, Restart=no), started.
  bool postgres = true;
  std::string pg_unit = "pgtest.service";
  /// Extra units: file name under /etc/systemd/system -> its text. Not enabled, not started.
  std::map<std::string, std::string> units;
  /// Extra files under the container's /etc: path relative to /etc -> content (polkit rules, ...).
  std::map<std::string, std::string> etc_files;
  /// Lines appended to the container's /etc/passwd and /etc/group (a "pgvigil" user, ...).
  std::vector<std::string> passwd_lines;
  std::vector<std::string> group_lines;
  /// Host paths mounted read-only at the same path (the build dir, so tests can run inside).
  std::vector<std::string> bind_ro;
  /// Host dir -> container path, read-only: for programs a hardened unit runs (PrivateTmp and
  /// ProtectHome hide /tmp, /root and /home from it, wherever the build dir is).
  std::vector<std::pair<std::string, std::string>> bind_ro_at;
  /// The engine to run the container on (not owned; it must outlive the container), e.g. a
  /// test's own DockerEngine(true) that also runs other containers. nullptr: make one.
  DockerEngine* engine = nullptr;
};

class SystemdContainer {
 public:
  explicit SystemdContainer(SystemdContainerOptions options = {});  ///< throws with the reason
  ~SystemdContainer();
  SystemdContainer(const SystemdContainer&) = delete;
  SystemdContainer& operator=(const SystemdContainer&) = delete;

  const std::string& name() const;  ///< the container's name
  const std::string& dir() const;   ///< temp dir, mounted at the same path in the container
  int pgPort() const;
  const std::string& pgUnit() const;
  std::string pgDataDir() const;
  /// "host=127.0.0.1 port=N dbname=postgres user=postgres connect_timeout=2"
  std::string pgConninfo() const;

  /// docker exec [--user user] [-e env...] NAME argv...
  CommandResult exec(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                     const std::vector<std::string>& env = {}, const std::string& user = "") const;
  CommandResult systemctl(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds{30}) const;
  /// `systemctl show -P PROPERTY UNIT`, trimmed; "" when it fails.
  std::string unitProperty(const std::string& unit, const std::string& property) const;
  /// Starts the unit if needed and waits until it is active (and, for the PostgreSQL unit, until
  /// SELECT 1 answers). False on timeout.
  bool ensureActive(const std::string& unit, std::chrono::milliseconds timeout) const;
  /// The last lines of the unit's journal, for failure messages.
  std::string journal(const std::string& unit) const;

  /// SELECT 1 over TCP on 127.0.0.1:pgPort() answers (one attempt, 2 s connect timeout).
  bool pgAnswers() const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace pgvigil::test
