#include "support/docker_engine.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/pg_cluster.h"
#include "support/spawn.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace pgvigil::test {

namespace {

constexpr const char* kEmptyImage = "pgvigil-test/empty";

std::string findBinary(const std::vector<std::string>& candidates) {
  for (const auto& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c;
  return "";
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Waits for our own child; false on timeout (the child is then still running).
bool waitChild(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);
  }
}

/// GET /_ping answers on the socket: the daemon is up.
bool pingUnixSocket(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return false;
  }
  std::copy(path.begin(), path.end(), addr.sun_path);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const char req[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
    if (::write(fd, req, sizeof req - 1) == static_cast<ssize_t>(sizeof req - 1)) {
      char buf[256];
      ssize_t n = ::read(fd, buf, sizeof buf - 1);
      ok = n > 12 &&
           std::string(buf, static_cast<std::size_t>(n)).find(" 200 ") != std::string::npos;
    }
  }
  ::close(fd);
  return ok;
}

/// Detaches whatever a dead dockerd left mounted under dir (netns, overlay), deepest first.
void unmountUnder(const std::string& dir) {
  std::vector<std::string> mounts;
  std::istringstream in(readFile("/proc/self/mountinfo"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mountPoint;
    fields >> id >> parent >> devno >> root >> mountPoint;
    if (mountPoint.rfind(dir + "/", 0) == 0) mounts.push_back(mountPoint);
  }
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& m : mounts) ::umount2(m.c_str(), MNT_DETACH);
}

}  // namespace

std::string DockerEngine::unavailableReason() {
  if (findBinary({"/usr/bin/docker", "/usr/local/bin/docker"}).empty())
    return "no docker CLI (apt-get install docker.io)";
  if (pingUnixSocket("/var/run/docker.sock")) return "";
  if (findBinary({"/usr/sbin/dockerd", "/usr/bin/dockerd", "/usr/local/bin/dockerd"}).empty())
    return "no dockerd (apt-get install docker.io)";
  if (::geteuid() != 0) return "starting dockerd needs root";
  return "";
}

DockerEngine::DockerEngine(bool privateDaemon) {
  dockerBin_ = findBinary({"/usr/bin/docker", "/usr/local/bin/docker"});
  if (dockerBin_.empty()) throw std::runtime_error("DockerEngine: no docker CLI");
  // Containers' shims are daemons: they are re-parented to us and reaped, not left as zombies.
  Subreaper::instance();
  if (!privateDaemon && pingUnixSocket("/var/run/docker.sock")) {
    host_ = "unix:///var/run/docker.sock";
    return;
  }
  startDaemon();
}

void DockerEngine::startDaemon() {
  std::string dockerd =
      findBinary({"/usr/sbin/dockerd", "/usr/bin/dockerd", "/usr/local/bin/dockerd"});
  if (dockerd.empty()) throw std::runtime_error("DockerEngine: no dockerd");
  char tmpl[] = "/tmp/pgvigil-dockerd-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("DockerEngine: mkdtemp failed");
  dir_ = tmpl;
  ::chmod(dir_.c_str(), 0755);  // bind mounts of dirs below it are entered by the postgres uid
  std::string socket = dir_ + "/docker.sock";
  host_ = "unix://" + socket;

  int log =
      ::open((dir_ + "/dockerd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  SpawnOptions so;
  so.argv = {dockerd,
             "--bridge=none",
             "--iptables=false",
             "--ip6tables=false",
             "--host=" + host_,
             "--data-root=" + dir_ + "/data",
             "--exec-root=" + dir_ + "/exec",
             "--pidfile=" + dir_ + "/dockerd.pid",
             "--storage-driver=overlay2"};
  so.stdout_fd = log;
  so.stderr_fd = log;
  so.new_process_group = true;
  std::string error;
  pid_t pid = spawnProcess(so, &error);
  if (log >= 0) ::close(log);
  if (pid < 0) {
    cleanup();
    throw std::runtime_error("DockerEngine: dockerd: " + error);
  }
  Subreaper::instance().own(pid);
  daemonPid_ = pid;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (!pingUnixSocket(socket)) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      daemonPid_ = 0;
      std::string text = readFile(dir_ + "/dockerd.log");
      cleanup();
      throw std::runtime_error("DockerEngine: dockerd exited:\n" + text);
    }
    if (std::chrono::steady_clock::now() >= until) {
      std::string text = readFile(dir_ + "/dockerd.log");
      cleanup();
      throw std::runtime_error("DockerEngine: dockerd did not come up:\n" + text);
    }
    std::this_thread::sleep_for(50ms);
  }
}

DockerEngine::~DockerEngine() {
  try {
    cleanup();
  } catch (...) {
  }
}

void DockerEngine::cleanup() {
  if (daemonPid_ > 0 || dir_.empty()) {
    for (const auto& c : containers_) docker({"rm", "-f", c}, nullptr, 30s);
    if (imageMade_) docker({"rmi", kEmptyImage}, nullptr, 30s);
  }
  containers_.clear();
  imageMade_ = false;
  stopDaemon();
  if (!dir_.empty()) {
    unmountUnder(dir_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

void DockerEngine::stopDaemon() {
  if (daemonPid_ <= 0) return;
  pid_t pid = daemonPid_;
  daemonPid_ = 0;
  int status = 0;
  ::kill(pid, SIGTERM);
  if (!waitChild(pid, 20s, &status)) {
    ::kill(-pid, SIGKILL);  // its group: dockerd and the containerd it started
    waitChild(pid, 10s, &status);
  }
  Subreaper::instance().disown(pid);
}

int DockerEngine::docker(const std::vector<std::string>& args, std::string* output,
                         std::chrono::seconds timeout) {
  char tmpl[] = "/tmp/pgvigil-docker-out-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("DockerEngine: mkstemp failed");
  ::unlink(tmpl);
  SpawnOptions so;
  so.argv = {dockerBin_};
  so.argv.insert(so.argv.end(), args.begin(), args.end());
  so.env = {"DOCKER_HOST=" + host_, "DOCKER_CONFIG=/nonexistent/pgvigil-docker-config"};
  so.stdout_fd = fd;
  so.stderr_fd = fd;
  std::string error;
  pid_t pid = spawnProcess(so, &error);
  if (pid < 0) {
    ::close(fd);
    throw std::runtime_error("DockerEngine: docker: " + error);
  }
  Subreaper::instance().own(pid);
  int status = 0;
  bool done = waitChild(pid, timeout, &status);
  if (!done) {
    ::kill(pid, SIGKILL);
    waitChild(pid, 5s, &status);
  }
  Subreaper::instance().disown(pid);
  if (output) {
    output->clear();
    ::lseek(fd, 0, SEEK_SET);
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
      output->append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!done) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string DockerEngine::dockerOk(const std::vector<std::string>& args) {
  std::string out;
  int rc = docker(args, &out);
  if (rc != 0) {
    std::string cmd = "docker";
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error("DockerEngine: " + cmd + " failed (" + std::to_string(rc) + "):\n" +
                             out);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string DockerEngine::emptyImage() {
  if (docker({"image", "inspect", kEmptyImage}) == 0) return kEmptyImage;
  char tmpl[] = "/tmp/pgvigil-empty-XXXXXX.tar";
  int fd = ::mkstemps(tmpl, 4);
  if (fd < 0) throw std::runtime_error("DockerEngine: mkstemps failed");
  // An empty tar archive: two 512-byte zero blocks (tar cf x --files-from /dev/null).
  std::string zeros(10240, '\0');
  bool written = ::write(fd, zeros.data(), zeros.size()) == static_cast<ssize_t>(zeros.size());
  ::close(fd);
  std::string out;
  int rc = written ? docker({"import", tmpl, kEmptyImage}, &out) : -1;
  ::unlink(tmpl);
  if (rc != 0) throw std::runtime_error("DockerEngine: docker import failed:\n" + out);
  imageMade_ = true;
  return kEmptyImage;
}

void DockerEngine::runContainer(const std::string& name, const std::vector<std::string>& args) {
  std::vector<std::string> cmd{"run", "-d", "--name", name};
  cmd.insert(cmd.end(), args.begin(), args.end());
  containers_.push_back(name);
  dockerOk(cmd);
}

void DockerEngine::removeContainer(const std::string& name) {
  docker({"rm", "-f", name}, nullptr, 30s);
  containers_.erase(std::remove(containers_.begin(), containers_.end(), name), containers_.end());
}

}  // namespace pgvigil::test
