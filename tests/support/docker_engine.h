// A real Docker engine for tests (../shared/TESTING.md "Docker engine (real, no registry)").
// Uses the daemon that already answers on /var/run/docker.sock, or starts a private dockerd
// (its own socket, data root and exec root in a temp dir; no bridge, no iptables: containers use
// --network host and touch no 172.17.x address). The destructor removes the containers and the
// image it made, stops only a dockerd it started, and removes its temp dir, also on failure.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace pgvigil::test {

class DockerEngine {
 public:
  /// `privateDaemon`: always start an own dockerd, even when one runs (for tests that stop it).
  explicit DockerEngine(bool privateDaemon = false);  ///< throws when docker cannot run here
  ~DockerEngine();
  DockerEngine(const DockerEngine&) = delete;
  DockerEngine& operator=(const DockerEngine&) = delete;

  /// Why Docker tests cannot run on this machine ("" when they can): no dockerd/docker binary.
  static std::string unavailableReason();

  const std::string& host() const { return host_; }  ///< "unix:///.../docker.sock"
  bool ownsDaemon() const { return daemonPid_ > 0; }

  /// Runs the docker CLI against this daemon; its exit code, stdout+stderr into *output.
  int docker(const std::vector<std::string>& args, std::string* output = nullptr,
             std::chrono::seconds timeout = std::chrono::seconds{60});
  /// Same, and throws with the output when it fails. Returns the output, trailing newline cut.
  std::string dockerOk(const std::vector<std::string>& args);

  /// An image with no files at all ("pgvigil-test/empty"), imported from an empty tar once.
  std::string emptyImage();
  /// `docker run -d --name NAME <args...>`; the container is removed by the destructor.
  void runContainer(const std::string& name, const std::vector<std::string>& args);
  /// `docker rm -f NAME` now.
  void removeContainer(const std::string& name);
  /// Stops the dockerd this fixture started (SIGTERM, then SIGKILL) and waits for it.
  void stopDaemon();

 private:
  void startDaemon();
  void cleanup();

  std::string dockerBin_;
  std::string dir_;  ///< temp dir of a private daemon ("" when using the host's)
  std::string host_;
  pid_t daemonPid_ = 0;
  std::vector<std::string> containers_;
  bool imageMade_ = false;
};

}  // namespace pgvigil::test
