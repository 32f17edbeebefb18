#include "app/local_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "restart/process_launcher.h"

namespace fs = std::filesystem;

namespace pgvigil {
namespace {

bool isExecutable(const fs::path& p) {
  return ::access(p.c_str(), X_OK) == 0;
}

std::string commandOutput(const std::vector<std::string>& argv) {
  PosixProcessLauncher launcher;
  SpawnResult spawned = launcher.spawn(argv);
  if (!spawned.child ||
      !spawned.child->waitExit(Deadline(SystemClock::instance(), std::chrono::seconds(10))))
    return "";
  std::string text = spawned.child->output().text();
  if (!spawned.child->reap().success()) return "";
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

std::string findPostgresBinDir() {
  if (const char* env = std::getenv("PGVIGIL_PG_BINDIR"); env && *env) {
    if (isExecutable(fs::path(env) / "initdb")) return env;
    throw LocalClusterError(std::string("PGVIGIL_PG_BINDIR=") + env + " has no initdb");
  }
  std::string fromPgConfig = commandOutput({"pg_config", "--bindir"});
  if (!fromPgConfig.empty() && isExecutable(fs::path(fromPgConfig) / "initdb")) return fromPgConfig;
  // Debian/Ubuntu: /usr/lib/postgresql/NN/bin, the newest first.
  int best = -1;
  std::string bestDir;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    int version = std::atoi(name.c_str());
    if (version > best && isExecutable(entry.path() / "bin" / "initdb")) {
      best = version;
      bestDir = (entry.path() / "bin").string();
    }
  }
  if (!bestDir.empty()) return bestDir;
  throw LocalClusterError(
      "no PostgreSQL server binaries found (looked at $PGVIGIL_PG_BINDIR, pg_config --bindir, "
      "/usr/lib/postgresql/*/bin); install them with: apt-get install postgresql-15");
}

int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw LocalClusterError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  if (port == 0) throw LocalClusterError("could not find a free loopback port");
  return port;
}

LocalCluster::LocalCluster() : binDir_(findPostgresBinDir()) {
  std::string tmpl = (fs::temp_directory_path() / "pgvigil-demo-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw LocalClusterError("mkdtemp failed in " + tmpl);
  dir_ = tmpl;
  try {
    if (::geteuid() == 0) {
      // initdb and postgres refuse to run as root: run them as the postgres user.
      const passwd* pw = ::getpwnam("postgres");
      if (!pw)
        throw LocalClusterError(
            "running as root, and there is no 'postgres' user to run the server as; "
            "run pgvigil demo as an ordinary user, or install postgresql (which creates it)");
      user_ = "postgres";
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw LocalClusterError("could not hand " + dir_ + " to the postgres user");
    }
    ::chmod(dir_.c_str(), 0700);
    std::string output;
    if (run(asOwner({binDir_ + "/initdb", "-D", dataDir(), "-U", "postgres", "--auth=trust", "-E",
                     "UTF8", "--no-sync", "--no-instructions"}),
            &output) != 0)
      throw LocalClusterError("initdb failed:\n" + output);
    port_ = freeLoopbackPort();
    if (run(asOwner({binDir_ + "/pg_ctl", "start", "-D", dataDir(), "-l", logFile(), "-w", "-t",
                     "30", "-o", serverOptions()}),
            &output) != 0)
      throw LocalClusterError("pg_ctl start failed:\n" + output + "\nserver log: " + logFile());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

LocalCluster::~LocalCluster() {
  if (postmasterPid() != 0) {
    if (run(asOwner(
            {binDir_ + "/pg_ctl", "stop", "-D", dataDir(), "-m", "fast", "-w", "-t", "10"})) != 0)
      run(asOwner(
          {binDir_ + "/pg_ctl", "stop", "-D", dataDir(), "-m", "immediate", "-w", "-t", "10"}));
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string LocalCluster::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=postgres";
}

std::string LocalCluster::serverOptions() const {
  return "-p " + std::to_string(port_) + " -k " + dir_ + " -c listen_addresses=127.0.0.1";
}

pid_t LocalCluster::postmasterPid() const {
  std::ifstream in(dataDir() + "/postmaster.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  // Only a live process whose working directory is this data directory counts: postmaster.pid
  // can be stale, and a pid read from a file must never be trusted blindly.
  std::error_code ec;
  auto cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  if (ec || cwd != fs::path(dataDir())) return 0;
  return static_cast<pid_t>(pid);
}

std::vector<std::string> LocalCluster::asOwner(std::vector<std::string> argv) const {
  if (user_.empty()) return argv;
  std::vector<std::string> wrapped{"runuser", "-u", user_, "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

int LocalCluster::run(const std::vector<std::string>& argv, std::string* output) const {
  // The restart layer's launcher: own process group, default signal dispositions and an empty
  // signal mask, whatever the caller blocks (the demo blocks the signals it waits for).
  PosixProcessLauncher launcher(64 * 1024);
  SpawnResult spawned = launcher.spawn(argv);
  if (!spawned.child) {
    if (output) *output = describeSpawnError(spawned.error, argv.front());
    return -1;
  }
  const bool exited =
      spawned.child->waitExit(Deadline(SystemClock::instance(), std::chrono::minutes(2)));
  if (output) *output = spawned.child->output().text();
  if (!exited) return -1;  // the destructor kills its group
  const ExitStatus status = spawned.child->reap();
  if (status.success()) return 0;
  if (status.signaled) return 128 + status.signal;
  return status.lost ? -1 : status.code;
}

struct OrphanReaper::Impl {
  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;

  static void reapPostgresZombies() {
    const std::string self = std::to_string(::getpid());
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat(entry.path() / "stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      // pid (comm) state ppid ...
      auto open = line.find('('), close = line.rfind(')');
      if (open == std::string::npos || close == std::string::npos) continue;
      std::string comm = line.substr(open + 1, close - open - 1);
      std::istringstream rest(line.substr(close + 1));
      std::string state, ppid;
      rest >> state >> ppid;
      if (state == "Z" && ppid == self && comm == "postgres")
        ::waitpid(static_cast<pid_t>(std::stol(name)), nullptr, WNOHANG);
    }
  }
};

OrphanReaper::OrphanReaper() : impl_(new Impl) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  impl_->thread = std::thread([impl = impl_] {
    std::unique_lock lock(impl->mutex);
    while (!impl->stop) {
      lock.unlock();
      Impl::reapPostgresZombies();
      lock.lock();
      impl->cv.wait_for(lock, std::chrono::milliseconds(100), [impl] { return impl->stop; });
    }
  });
}

OrphanReaper::~OrphanReaper() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  delete impl_;
}

}  // namespace pgvigil
