#include "support/systemd_container.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

extern char** environ;

#include "support/docker_engine.h"
#include "support/pg_cluster.h"

namespace pgvigil::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";
constexpr std::size_t kMaxOutput = 256 * 1024;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  std::size_t start = s.find_first_not_of(" \n\r");
  return start == std::string::npos ? std::string() : s.substr(start);
}

std::string makeTempDir(const char* prefix) {
  std::string tmpl = std::string("/tmp/") + prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp: " + std::string(strerror(errno)));
  ::chmod(tmpl.c_str(), 0755);  // the postgres user must reach its data dir below
  return tmpl;
}

void writeFile(const std::string& path, const std::string& text, bool append = false) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

void chownRecursive(const std::string& path, uid_t uid, gid_t gid) {
  if (::lchown(path.c_str(), uid, gid) != 0) return;
  if (!fs::is_directory(fs::symlink_status(path))) return;
  for (const auto& entry : fs::recursive_directory_iterator(path))
    (void)::lchown(entry.path().c_str(), uid, gid);
}

bool sleepUntilOr(steady_clock::time_point deadline, milliseconds step) {
  if (steady_clock::now() >= deadline) return false;
  std::this_thread::sleep_for(std::min<milliseconds>(
      step, std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()) + 1ms));
  return true;
}

std::atomic<int> gCounter{0};

}  // namespace

CommandResult runCommand(const std::vector<std::string>& argv, milliseconds timeout,
                         const std::vector<std::string>& env) {
  CommandResult result;
  if (argv.empty()) return result;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.output = "pipe: " + std::string(strerror(errno));
    return result;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The child's environment, built before fork (only async-signal-safe calls after it).
  std::vector<std::string> envStrings;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    bool overridden = false;
    for (const auto& extra : env) {
      auto eq = extra.find('=');
      if (eq != std::string::npos &&
          entry.substr(0, eq + 1) == std::string_view(extra).substr(0, eq + 1))
        overridden = true;
    }
    if (!overridden) envStrings.emplace_back(entry);
  }
  envStrings.insert(envStrings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : envStrings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    result.output = "fork: " + std::string(strerror(errno));
    return result;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execvpe(args[0], args.data(), envp.data());
    const char msg[] = "exec failed\n";
    ssize_t n = ::write(2, msg, sizeof msg - 1);
    (void)n;
    ::_exit(127);
  }
  ::close(fds[1]);
  // Ours to wait for: the fixtures' subreaper thread must leave it alone.
  Subreaper::instance().own(pid);
  const auto deadline = steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (result.output.size() < kMaxOutput) result.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  pid_t waited;
  while ((waited = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  Subreaper::instance().disown(pid);
  if (waited == pid && !result.timed_out && WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  return result;
}

struct SystemdContainer::Impl {
  SystemdContainerOptions options;
  std::string name;
  std::string dir;                          // bind-mounted into the container at the same path
  std::unique_ptr<DockerEngine> ownEngine;  // the host's dockerd, or a private one it started
  DockerEngine* engine = nullptr;           // ownEngine, or the one given in the options
  std::string image;
  bool container_created = false;
  int pg_port = 0;

  CommandResult docker(const std::vector<std::string>& args, milliseconds timeout) const {
    CommandResult r;
    auto seconds = std::chrono::ceil<std::chrono::seconds>(timeout);
    try {
      r.exit_code = engine->docker(args, &r.output, seconds);
    } catch (const std::exception& e) {
      r.output = e.what();
      r.exit_code = -1;
    }
    r.timed_out = r.exit_code == -1;
    return r;
  }

  void prepareEtc() {
    const std::string etc = dir + "/root/etc";
    fs::create_directories(dir + "/root");
    CommandResult cp = runCommand({"cp", "-a", "/etc", etc}, 60s);
    if (!cp.ok()) throw std::runtime_error("cp -a /etc: " + cp.output);
    // Nothing of the host's enabled services may start in there (docker, prometheus, ...).
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(etc + "/systemd/system", ec)) {
      if (entry.is_directory() && entry.path().extension() == ".wants")
        fs::remove_all(entry.path(), ec);
    }
    for (const char* rc : {"rc0.d", "rc1.d", "rc2.d", "rc3.d", "rc4.d", "rc5.d", "rc6.d", "rcS.d"})
      fs::remove_all(etc + "/" + rc, ec);
    for (const auto& [unit, text] : options.units) writeFile(etc + "/systemd/system/" + unit, text);
    for (const auto& [path, text] : options.etc_files) writeFile(etc + "/" + path, text);
    for (const auto& line : options.passwd_lines) writeFile(etc + "/passwd", line + "\n", true);
    for (const auto& line : options.group_lines) writeFile(etc + "/group", line + "\n", true);
  }

  void preparePostgres() {
    auto ids = postgresUserIds();
    const std::string pgdir = dir + "/pg";
    fs::create_directories(pgdir);
    chownRecursive(pgdir, ids.first, ids.second);
    const std::string initdb = std::string(kPgBin) + "/initdb";
    CommandResult r = runCommand({"runuser", "-u", "postgres", "--", initdb, "-D", pgdir + "/data",
                                  "-U", "postgres", "--auth=trust", "-N"},
                                 120s);
    if (!r.ok()) throw std::runtime_error("initdb: " + r.output);
    pg_port = freeLoopbackPort();
    std::ostringstream unit;
    // StartLimitIntervalSec=0: the tests start and restart it dozens of times a minute, past
    // systemd's default of 5 starts in 10 s.
    unit << "[Unit]\nDescription=pgvigil test PostgreSQL\nStartLimitIntervalSec=0\n\n"
         << "[Service]\nType=notify\nUser=postgres\n"
         << "ExecStart=" << kPgBin << "/postgres -D " << pgdir << "/data -p " << pg_port << " -k "
         << pgdir << " -c listen_addresses=127.0.0.1\n"
         << "ExecReload=/bin/kill -HUP $MAINPID\n"
         << "KillMode=mixed\nKillSignal=SIGINT\nTimeoutStartSec=60\nTimeoutStopSec=30\n";
    writeFile(dir + "/root/etc/systemd/system/" + options.pg_unit, unit.str());
  }

  static std::pair<uid_t, gid_t> postgresUserIds() {
    struct passwd* pw = ::getpwnam("postgres");
    if (!pw) throw std::runtime_error("no postgres user on this machine");
    return {pw->pw_uid, pw->pw_gid};
  }

  void runContainer() {
    std::vector<std::string> args = {"run",
                                     "-d",
                                     "--name",
                                     name,
                                     "--network",
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
                                     "/usr:/usr:ro",
                                     "-v",
                                     "/lib:/lib:ro",
                                     "-v",
                                     "/lib64:/lib64:ro",
                                     "-v",
                                     "/bin:/bin:ro",
                                     "-v",
                                     "/sbin:/sbin:ro",
                                     "-v",
                                     dir + "/root/etc:/etc:ro",
                                     "-v",
                                     dir + ":" + dir,
                                     "-e",
                                     "container=docker"};
    for (const auto& path : options.bind_ro) {
      args.push_back("-v");
      args.push_back(path + ":" + path + ":ro");
    }
    for (const auto& [host, inside] : options.bind_ro_at) {
      args.push_back("-v");
      args.push_back(host + ":" + inside + ":ro");
    }
    args.push_back(image);
    args.push_back("/lib/systemd/systemd");
    CommandResult r = docker(args, 60s);
    container_created = true;  // even a failed run may leave a created container behind
    if (!r.ok()) throw std::runtime_error("docker run: " + r.output);

    const auto deadline = steady_clock::now() + 60s;
    std::string last;
    for (;;) {
      CommandResult s = docker({"exec", name, "systemctl", "is-system-running"}, 10s);
      last = trim(s.output);
      if (last == "running" || last == "degraded") break;
      if (!sleepUntilOr(deadline, 200ms)) {
        CommandResult logs = docker({"logs", "--tail", "40", name}, 10s);
        throw std::runtime_error("systemd in the container did not boot within 60 s (" + last +
                                 "): " + logs.output);
      }
    }
  }

  void removeContainer() {
    if (!container_created) return;
    docker({"rm", "-f", "-v", name}, 60s);
    container_created = false;
  }
};

SystemdContainer::SystemdContainer(SystemdContainerOptions options) : impl_(new Impl) {
  impl_->options = std::move(options);
  impl_->name = "pgv-systemd-" + std::to_string(::getpid()) + "-" + std::to_string(gCounter++);
  try {
    impl_->dir = makeTempDir("pgv-systemd.");
    if (impl_->options.engine) {
      impl_->engine = impl_->options.engine;
    } else {
      impl_->ownEngine = std::make_unique<DockerEngine>();
      impl_->engine = impl_->ownEngine.get();
    }
    impl_->image = impl_->engine->emptyImage();  // an image with no files, imported once
    impl_->prepareEtc();
    if (impl_->options.postgres) impl_->preparePostgres();
    impl_->runContainer();
    if (impl_->options.postgres && !ensureActive(impl_->options.pg_unit, 60s)) {
      throw std::runtime_error("PostgreSQL unit did not come up: " +
                               journal(impl_->options.pg_unit));
    }
  } catch (...) {
    impl_->removeContainer();
    impl_->ownEngine.reset();
    std::error_code ec;
    if (!impl_->dir.empty()) fs::remove_all(impl_->dir, ec);
    delete impl_;
    throw;
  }
}

SystemdContainer::~SystemdContainer() {
  impl_->removeContainer();
  impl_->ownEngine.reset();  // stops only a dockerd it started
  std::error_code ec;
  fs::remove_all(impl_->dir, ec);
  delete impl_;
}

const std::string& SystemdContainer::name() const {
  return impl_->name;
}
const std::string& SystemdContainer::dir() const {
  return impl_->dir;
}
int SystemdContainer::pgPort() const {
  return impl_->pg_port;
}
const std::string& SystemdContainer::pgUnit() const {
  return impl_->options.pg_unit;
}
std::string SystemdContainer::pgDataDir() const {
  return impl_->dir + "/pg/data";
}

std::string SystemdContainer::pgConninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(impl_->pg_port) +
         " dbname=postgres user=postgres connect_timeout=2";
}

CommandResult SystemdContainer::exec(const std::vector<std::string>& argv, milliseconds timeout,
                                     const std::vector<std::string>& env,
                                     const std::string& user) const {
  std::vector<std::string> args = {"exec"};
  if (!user.empty()) {
    args.push_back("--user");
    args.push_back(user);
  }
  for (const auto& e : env) {
    args.push_back("-e");
    args.push_back(e);
  }
  args.push_back(impl_->name);
  args.insert(args.end(), argv.begin(), argv.end());
  return impl_->docker(args, timeout);
}

CommandResult SystemdContainer::systemctl(const std::vector<std::string>& args,
                                          milliseconds timeout) const {
  std::vector<std::string> argv = {"systemctl"};
  argv.insert(argv.end(), args.begin(), args.end());
  return exec(argv, timeout);
}

std::string SystemdContainer::unitProperty(const std::string& unit,
                                           const std::string& property) const {
  CommandResult r = systemctl({"show", "-P", property, unit}, 10s);
  return r.ok() ? trim(r.output) : std::string();
}

bool SystemdContainer::ensureActive(const std::string& unit, milliseconds timeout) const {
  const auto deadline = steady_clock::now() + timeout;
  if (unitProperty(unit, "ActiveState") != "active") systemctl({"start", unit}, timeout);
  while (unitProperty(unit, "ActiveState") != "active")
    if (!sleepUntilOr(deadline, 100ms)) return false;
  if (unit != impl_->options.pg_unit) return true;
  while (!pgAnswers())
    if (!sleepUntilOr(deadline, 100ms)) return false;
  return true;
}

std::string SystemdContainer::journal(const std::string& unit) const {
  CommandResult r = exec({"journalctl", "--no-pager", "-n", "30", "-u", unit}, 10s);
  return r.output;
}

bool SystemdContainer::pgAnswers() const {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(pgConninfo().c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) return false;
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), "SELECT 1"), &PQclear);
  return res && PQresultStatus(res.get()) == PGRES_TUPLES_OK;
}

}  // namespace pgvigil::test
