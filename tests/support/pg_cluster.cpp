#include "support/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/spawn.h"

namespace pgvigil::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Subreaper

struct Subreaper::Impl {
  mutable std::mutex mutex;
  std::set<pid_t> owned;
  std::map<pid_t, SteadyClock::time_point> zombieSince;  ///< unowned zombies seen, not yet reaped
  std::atomic<bool> stop{false};
  std::thread thread;

  void loop() {
    while (!stop.load()) {
      siginfo_t info{};
      // Peek only: the first waitable child, left waitable.
      int rc = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
      pid_t pid = rc == 0 ? info.si_pid : 0;
      if (pid > 0) {
        std::lock_guard lock(mutex);
        if (!owned.count(pid)) {
          auto now = SteadyClock::now();
          auto [it, inserted] = zombieSince.try_emplace(pid, now);
          if (!inserted && now - it->second >= kGrace) {
            int status = 0;
            waitpid(pid, &status, WNOHANG);
            zombieSince.erase(it);
          }
        }
      }
      // Forget pids that someone else reaped meanwhile.
      {
        std::lock_guard lock(mutex);
        for (auto it = zombieSince.begin(); it != zombieSince.end();) {
          if (it->first != pid && SteadyClock::now() - it->second > 10 * kGrace)
            it = zombieSince.erase(it);
          else
            ++it;
        }
      }
      std::this_thread::sleep_for(20ms);
    }
  }
};

Subreaper::Subreaper() : impl_(new Impl) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  impl_->thread = std::thread([this] { impl_->loop(); });
  impl_->thread.detach();  // lives as long as the process; it only sleeps and reaps
}

Subreaper& Subreaper::instance() {
  static Subreaper* reaper = new Subreaper();  // never destroyed: its thread runs until exit
  return *reaper;
}

void Subreaper::own(pid_t pid) {
  std::lock_guard lock(impl_->mutex);
  impl_->owned.insert(pid);
  impl_->zombieSince.erase(pid);
}

void Subreaper::disown(pid_t pid) {
  std::lock_guard lock(impl_->mutex);
  impl_->owned.erase(pid);
}

bool Subreaper::owns(pid_t pid) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->owned.count(pid) > 0;
}

// ---------------------------------------------------------------------------------------------
// helpers

namespace {

using PgConnPtr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using PgResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

std::string pgBinDir() {
  static const std::string dir = [] {
    std::string out;
    if (FILE* p = popen("pg_config --bindir 2>/dev/null", "r")) {
      char buf[512];
      while (fgets(buf, sizeof buf, p)) out += buf;
      pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (!out.empty() && fs::exists(out + "/postgres")) return out;
    for (const char* cand :
         {"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"})
      if (fs::exists(std::string(cand) + "/postgres")) return std::string(cand);
    throw std::runtime_error("PgCluster: no PostgreSQL binaries (pg_config --bindir)");
  }();
  return dir;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const std::string& path, const std::string& text, bool append = false) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("PgCluster: cannot write " + path);
}

std::string quoteConf(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

void chownTree(const std::string& path, const std::optional<UserIds>& ids) {
  if (!ids) return;
  if (lchown(path.c_str(), ids->uid, ids->gid) != 0)
    throw std::runtime_error("PgCluster: chown " + path + ": " + std::strerror(errno));
  if (fs::is_directory(fs::symlink_status(path)))
    for (const auto& e : fs::recursive_directory_iterator(path))
      if (lchown(e.path().c_str(), ids->uid, ids->gid) != 0)
        throw std::runtime_error("PgCluster: chown: " + std::string(std::strerror(errno)));
}

/// Waits for an owned child with a deadline. Returns true when it exited (and was reaped).
bool waitChild(pid_t pid, std::chrono::milliseconds timeout, int* status = nullptr) {
  auto until = SteadyClock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      if (status) *status = st;
      return true;
    }
    if (r < 0 && errno == ECHILD) return true;  // reaped elsewhere: gone all the same
    if (SteadyClock::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
}

/// Process state letter from /proc/PID/stat ('Z' zombie), or 0 when there is no such process.
char procState(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

bool aliveNotZombie(pid_t pid) {
  char s = procState(pid);
  return s != 0 && s != 'Z' && s != 'X';
}

pid_t parentOf(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  char state;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    if (parentOf(pid) == parent) out.push_back(pid);
  }
  return out;
}

/// Waits until pid is gone or a zombie (a zombie holds no shared memory or sockets).
bool waitDead(pid_t pid, std::chrono::milliseconds timeout) {
  auto until = SteadyClock::now() + timeout;
  while (aliveNotZombie(pid)) {
    if (SteadyClock::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace

int freeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("freeLoopbackPort: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("freeLoopbackPort: bind failed");
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// ---------------------------------------------------------------------------------------------
// PgCluster

struct PgCluster::Impl {
  PgClusterOptions options;
  std::string dir;
  std::string dataDir;
  std::string logPath;
  std::string bin;
  int port = 0;
  std::optional<UserIds> ids;
  pid_t child = 0;       ///< our own postmaster child, 0 when none
  bool stopped = false;  ///< SIGSTOPped by sigstop()
  std::vector<PgConnPtr> idle;

  std::string firstListenAddress() const {
    return options.listen_addresses.substr(0, options.listen_addresses.find(','));
  }

  std::string tcpConninfo(const std::string& user = "postgres") const {
    std::string s = "host=" + firstListenAddress() + " port=" + std::to_string(port) +
                    " dbname=postgres user=" + user + " connect_timeout=5";
    if (!options.password.empty()) {
      std::string quoted = "'";
      for (char c : options.password) {
        if (c == '\'' || c == '\\') quoted += '\\';
        quoted += c;
      }
      s += " password=" + quoted + "'";
    }
    return s;
  }
  std::string socketConninfo() const {
    return "host=" + dir + " port=" + std::to_string(port) + " dbname=postgres user=postgres";
  }

  void runInitdb() {
    std::vector<std::string> argv{bin + "/initdb", "-D", dataDir, "-U",         "postgres",
                                  "--no-sync",     "-E", "UTF8",  "--locale=C", "--auth=trust"};
    if (options.standby_of_port > 0)
      argv = {bin + "/pg_basebackup",
              "-h",
              "127.0.0.1",
              "-p",
              std::to_string(options.standby_of_port),
              "-U",
              "postgres",
              "-D",
              dataDir,
              "-X",
              "stream",
              "-R",
              "--no-sync"};
    else
      argv.insert(argv.end(), options.initdb_args.begin(), options.initdb_args.end());
    std::string pwfile;
    if (!options.password.empty()) {
      pwfile = dir + "/pwfile";
      writeFile(pwfile, options.password + "\n");
      chmod(pwfile.c_str(), 0600);
      chownTree(pwfile, ids);
      argv.push_back("--pwfile=" + pwfile);
    }
    std::string initLog = dir + "/initdb.log";
    int fd = open(initLog.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    SpawnOptions so;
    so.argv = argv;
    so.cwd = dir;
    so.env = {"LC_ALL=C", "LANG=C"};
    so.stdout_fd = fd;
    so.stderr_fd = fd;
    if (ids) {
      so.uid = ids->uid;
      so.gid = ids->gid;
    }
    std::string error;
    pid_t pid = spawnProcess(so, &error);
    close(fd);
    if (pid < 0) throw std::runtime_error("PgCluster: initdb: " + error);
    Subreaper::instance().own(pid);
    int status = 0;
    bool exited = waitChild(pid, 120s, &status);
    Subreaper::instance().disown(pid);
    if (!pwfile.empty()) unlink(pwfile.c_str());
    if (!exited) {
      ::kill(pid, SIGKILL);
      waitChild(pid, 5s);
      throw std::runtime_error("PgCluster: initdb did not finish");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error("PgCluster: initdb failed: " + readFile(initLog));
  }

  void writeConfig() {
    std::string conf = "\n# pgvigil test fixture\n";
    conf += "port = " + std::to_string(port) + "\n";
    conf += "listen_addresses = " + quoteConf(options.listen_addresses) + "\n";
    conf += "unix_socket_directories = " + quoteConf(dir) + "\n";
    conf += "logging_collector = off\n";
    conf += "log_destination = 'stderr'\n";
    conf += "lc_messages = 'C'\n";
    conf += "fsync = off\n";
    conf += "synchronous_commit = off\n";
    conf += "full_page_writes = off\n";
    conf += "shared_buffers = 16MB\n";
    if (options.standby_no_hot) conf += "hot_standby = off\n";
    if (!options.ssl_cert_file.empty() && !options.ssl_key_file.empty()) {
      writeFile(dataDir + "/server.crt", readFile(options.ssl_cert_file));
      writeFile(dataDir + "/server.key", readFile(options.ssl_key_file));
      chmod((dataDir + "/server.key").c_str(), 0600);
      chownTree(dataDir + "/server.crt", ids);
      chownTree(dataDir + "/server.key", ids);
      conf += "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n";
    }
    for (const auto& setting : options.settings) {
      auto eq = setting.find('=');
      if (eq == std::string::npos) throw std::runtime_error("PgCluster: bad setting " + setting);
      std::string value = setting.substr(eq + 1);
      bool bare = !value.empty() && value.find_first_not_of(
                                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789._-") == std::string::npos;
      conf += setting.substr(0, eq) + " = " + (bare ? value : quoteConf(value)) + "\n";
    }
    writeFile(dataDir + "/postgresql.conf", conf, /*append=*/true);

    std::string hba = "# pgvigil test fixture\nlocal all all trust\n";
    const char* method = options.password.empty() ? "trust" : "scram-sha-256";
    hba += std::string("host all all 127.0.0.1/32 ") + method + "\n";
    hba += std::string("host all all ::1/128 ") + method + "\n";
    hba += "local replication all trust\n";  // pg_basebackup of a standby (standby_of_port)
    hba += std::string("host replication all 127.0.0.1/32 ") + method + "\n";
    writeFile(dataDir + "/pg_hba.conf", hba);
    if (options.standby_no_hot) writeFile(dataDir + "/standby.signal", "");
  }

  void setPort(int newPort) {
    port = newPort;
    // The last "port =" line wins; append one so a retry on a new port needs no rewrite.
    writeFile(dataDir + "/postgresql.conf", "port = " + std::to_string(port) + "\n", true);
  }

  /// The pid of our own running child, reaping it when it has exited.
  pid_t ownChild() {
    if (child > 0) {
      int status = 0;
      pid_t r = waitpid(child, &status, WNOHANG);
      if (r == child || (r < 0 && errno == ECHILD)) {
        Subreaper::instance().disown(child);
        child = 0;
        stopped = false;
      }
    }
    return child;
  }

  /// A postmaster that is not our child (started by pg_ctl), if its pid file points at a live
  /// process whose working directory is this data dir.
  pid_t foreignPostmaster() const {
    std::string pidFile = readFile(dataDir + "/postmaster.pid");
    if (pidFile.empty()) return 0;
    pid_t pid = std::atoi(pidFile.c_str());
    if (pid <= 1) return 0;
    std::error_code ec;
    auto cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
    if (ec) return 0;
    auto want = fs::weakly_canonical(dataDir, ec);
    if (cwd != want && cwd != fs::path(dataDir)) return 0;
    if (!aliveNotZombie(pid)) return 0;
    return pid;
  }

  pid_t postmaster() {
    if (pid_t pid = ownChild()) return pid;
    return foreignPostmaster();
  }

  void launch() {
    if (postmaster() != 0) throw std::runtime_error("PgCluster: already running");
    int fd = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("PgCluster: cannot open " + logPath);
    SpawnOptions so;
    so.argv = {bin + "/postgres", "-D", dataDir};
    so.cwd = dir;
    so.env = {"LC_ALL=C", "LANG=C"};
    so.stdout_fd = fd;
    so.stderr_fd = fd;
    so.new_process_group = true;  // a Ctrl-C of the test run does not hit it
    if (ids) {
      so.uid = ids->uid;
      so.gid = ids->gid;
    }
    std::string error;
    pid_t pid = spawnProcess(so, &error);
    close(fd);
    if (pid < 0) throw std::runtime_error("PgCluster: postgres: " + error);
    Subreaper::instance().own(pid);
    child = pid;
    stopped = false;
  }

  /// postmaster.pid lines: 1 pid, 2 data dir, 3 start time, 4 port, 5 socket dir, 6 listen
  /// address, 7 shmem key, 8 status ("starting", "ready", "standby", "stopping").
  std::vector<std::string> pidFileLines() const {
    std::vector<std::string> lines;
    std::istringstream in(readFile(dataDir + "/postmaster.pid"));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  /// Waits for the postmaster.pid status. afterOwnLaunch: our child just started, so its exit
  /// ends the wait at once; otherwise keep waiting (someone else, e.g. an agent's restart
  /// command, may start the cluster meanwhile).
  bool waitStatus(bool needReady, std::chrono::milliseconds timeout, bool afterOwnLaunch) {
    auto until = SteadyClock::now() + timeout;
    for (;;) {
      pid_t pm = postmaster();
      if (afterOwnLaunch && pm == 0 && child == 0) return false;  // exited
      auto lines = pidFileLines();
      if (pm != 0 && !lines.empty() && std::atoi(lines[0].c_str()) == pm) {
        if (!needReady && lines.size() >= 6 && !lines[5].empty()) return true;
        if (needReady && lines.size() >= 8 && lines[7].rfind("ready", 0) == 0) return true;
      }
      if (SteadyClock::now() >= until) return false;
      std::this_thread::sleep_for(10ms);
    }
  }

  bool selectOne() const {
    PgConnPtr conn(PQconnectdb(tcpConninfo().c_str()), &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK) return false;
    PgResultPtr res(PQexec(conn.get(), "SELECT 1"), &PQclear);
    return PQresultStatus(res.get()) == PGRES_TUPLES_OK;
  }

  void signalAndWait(int sig, std::chrono::milliseconds timeout) {
    if (pid_t pid = ownChild()) {
      if (stopped) ::kill(pid, SIGCONT);
      ::kill(pid, sig);
      if (!waitChild(pid, timeout)) {
        ::kill(pid, SIGKILL);
        waitChild(pid, 10s);
      }
      Subreaper::instance().disown(pid);
      child = 0;
      stopped = false;
      return;
    }
    if (pid_t pid = foreignPostmaster()) {
      if (stopped) ::kill(pid, SIGCONT);
      ::kill(pid, sig);
      if (!waitDead(pid, timeout)) {
        ::kill(pid, SIGKILL);
        waitDead(pid, 10s);
      }
      stopped = false;
    }
  }

  void kill9() {
    pid_t pm = postmaster();
    if (pm == 0) return;
    std::vector<pid_t> backends = childrenOf(pm);
    signalAndWait(SIGKILL, 10s);
    // Backends notice the postmaster's death and exit; until they have, the old shared memory
    // is still attached and a new postmaster would refuse to start.
    for (pid_t b : backends) waitDead(b, 10s);
  }
};

PgCluster::PgCluster(PgClusterOptions options) : impl_(new Impl) {
  std::unique_ptr<Impl> guard(impl_);
  Impl& im = *impl_;
  Subreaper::instance();
  im.options = std::move(options);
  im.bin = pgBinDir();
  im.ids = postgresUserIfRoot();
  char tmpl[] = "/tmp/pgvigil-pg-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("PgCluster: mkdtemp failed");
  im.dir = tmpl;
  im.dataDir = im.dir + "/data";
  im.logPath = im.dir + "/postgres.log";
  try {
    chmod(im.dir.c_str(), 0755);
    chownTree(im.dir, im.ids);
    writeFile(im.logPath, "");
    chownTree(im.logPath, im.ids);
    im.runInitdb();
    im.port = freeLoopbackPort();
    im.writeConfig();
    chownTree(im.dataDir, im.ids);
    // The port was free a moment ago; another process may take it first. Retry on a new one.
    for (int attempt = 0;; ++attempt) {
      im.launch();
      if (im.waitStatus(!im.options.standby_no_hot, 60s, true)) break;
      std::string log = readFile(im.logPath);
      im.signalAndWait(SIGKILL, 5s);
      if (attempt < 3 && log.find("could not bind") != std::string::npos) {
        im.setPort(freeLoopbackPort());
        continue;
      }
      throw std::runtime_error("PgCluster: postgres did not start:\n" + log);
    }
    if (!im.options.standby_no_hot) {
      if (!waitReady(30s)) throw std::runtime_error("PgCluster: SELECT 1 fails:\n" + log());
      std::string create = "CREATE ROLE pgvigil LOGIN IN ROLE pg_monitor";
      if (!im.options.password.empty()) {
        PgConnPtr conn(PQconnectdb(im.socketConninfo().c_str()), &PQfinish);
        char* lit =
            PQescapeLiteral(conn.get(), im.options.password.c_str(), im.options.password.size());
        if (!lit) throw std::runtime_error("PgCluster: cannot escape the password");
        create += std::string(" PASSWORD ") + lit;
        PQfreemem(lit);
      }
      query(create);
    }
  } catch (...) {
    im.idle.clear();
    im.signalAndWait(SIGKILL, 5s);
    std::error_code ec;
    fs::remove_all(im.dir, ec);
    throw;
  }
  guard.release();
}

PgCluster::~PgCluster() {
  try {
    impl_->idle.clear();
    impl_->signalAndWait(SIGINT, 10s);
  } catch (...) {
  }
  std::error_code ec;
  fs::remove_all(impl_->dir, ec);
  delete impl_;
}

int PgCluster::port() const {
  return impl_->port;
}
const std::string& PgCluster::dir() const {
  return impl_->dir;
}
std::string PgCluster::dataDir() const {
  return impl_->dataDir;
}
std::string PgCluster::socketDir() const {
  return impl_->dir;
}
pid_t PgCluster::postmasterPid() const {
  return impl_->postmaster();
}
const std::string& PgCluster::password() const {
  return impl_->options.password;
}
std::string PgCluster::logPath() const {
  return impl_->logPath;
}

std::string PgCluster::conninfo(const std::string& extra) const {
  std::string s = "host=" + impl_->firstListenAddress() + " port=" + std::to_string(impl_->port) +
                  " dbname=postgres user=postgres";
  if (!extra.empty()) s += " " + extra;
  return s;
}

void PgCluster::start() {
  impl_->launch();
  if (!impl_->waitStatus(true, 60s, true) || !waitReady(30s))
    throw std::runtime_error("PgCluster: postgres did not start:\n" + log());
}

void PgCluster::startNoWait() {
  impl_->launch();
}

void PgCluster::stopFast() {
  impl_->signalAndWait(SIGINT, 30s);
}

void PgCluster::kill9() {
  impl_->kill9();
}

void PgCluster::sigstop() {
  if (pid_t pid = impl_->postmaster()) {
    ::kill(pid, SIGSTOP);
    impl_->stopped = true;
  }
}

void PgCluster::sigcont() {
  if (pid_t pid = impl_->postmaster()) ::kill(pid, SIGCONT);
  impl_->stopped = false;
}

bool PgCluster::waitReady(std::chrono::milliseconds timeout) {
  auto until = SteadyClock::now() + timeout;
  // Wait for "ready" in postmaster.pid first: connecting earlier would only put
  // "the database system is starting up" lines into the server log.
  if (!impl_->waitStatus(true, timeout, false)) return false;
  for (;;) {
    if (impl_->selectOne()) return true;
    if (SteadyClock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
}

bool PgCluster::waitListening(std::chrono::milliseconds timeout) {
  return impl_->waitStatus(false, timeout, false);
}

std::string PgCluster::query(const std::string& sql) {
  PgConnPtr conn(PQconnectdb(impl_->socketConninfo().c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error(std::string("PgCluster::query: ") + PQerrorMessage(conn.get()));
  PgResultPtr res(PQexec(conn.get(), sql.c_str()), &PQclear);
  auto st = PQresultStatus(res.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    throw std::runtime_error(std::string("PgCluster::query: ") + PQresultErrorMessage(res.get()));
  std::string out;
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    if (r) out += '\n';
    for (int c = 0; c < PQnfields(res.get()); ++c) {
      if (c) out += '|';
      out += PQgetvalue(res.get(), r, c);
    }
  }
  return out;
}

void PgCluster::openIdle(int n) {
  for (int i = 0; i < n; ++i) {
    PgConnPtr conn(PQconnectdb(impl_->tcpConninfo().c_str()), &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK)
      throw std::runtime_error(std::string("PgCluster::openIdle: ") + PQerrorMessage(conn.get()));
    impl_->idle.push_back(std::move(conn));
  }
}

void PgCluster::closeIdle() {
  impl_->idle.clear();
}

std::string PgCluster::log() const {
  return readFile(impl_->logPath);
}

std::vector<std::string> PgCluster::pgCtlStartCommand() const {
  std::vector<std::string> cmd;
  if (impl_->ids) cmd = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  std::vector<std::string> pgctl{impl_->bin + "/pg_ctl", "start", "-D", impl_->dataDir, "-l",
                                 impl_->logPath,         "-w",    "-t", "60",           "-s"};
  cmd.insert(cmd.end(), pgctl.begin(), pgctl.end());
  return cmd;
}

}  // namespace pgvigil::test
