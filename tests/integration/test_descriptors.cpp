// No descriptor of the agent leaks into the processes it starts (issue 9, "Descriptors"): the
// real agent, a real PostgreSQL 15, restart.method command running scripts/pg-restart. After a
// restart the new postmaster and its children hold nothing of the agent's (listener, HTTP
// connections, log file); the control CLI gets its answer at once while the restart runs; and
// an agent started again after a restart binds its port.
#define BOOST_TEST_MODULE test_descriptors
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

const std::string kToken = "descriptors-token-1";
const std::string kPgRestart = std::string(PGVIGIL_SOURCE_DIR) + "/scripts/pg-restart";

std::string yamlList(const std::vector<std::string>& argv) {
  std::string out = "[";
  for (std::size_t i = 0; i < argv.size(); ++i) out += (i ? ", \"" : "\"") + argv[i] + "\"";
  return out + "]";
}

/// The target "main" on `pg`, restarted by scripts/pg-restart, with fast thresholds.
std::string target(const PgCluster& pg) {
  const std::vector<std::string> command = {
      kPgRestart, "--fast-timeout",  "3",  "--immediate-timeout", "2",  "--kill-timeout",
      "3",        "--start-timeout", "20", pg.dataDir(),          "-l", pg.logPath()};
  return "  - name: main\n    conninfo: \"" + pg.conninfo() +
         "\"\n    interval: 1s\n    timeout: 800ms\n    unhealthy_after: 2\n    healthy_after: 1\n"
         "    restart:\n      method: command\n      command: " +
         yamlList(command) +
         "\n      timeout: 30s\n      grace: 20s\n      backoff: { initial: 1s, max: 10s }\n";
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// fd number -> link target ("socket:[123]", "pipe:[45]", "/path", "anon_inode:[eventfd]").
std::map<int, std::string> openDescriptors(pid_t pid) {
  std::map<int, std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code linkEc;
    auto target = fs::read_symlink(entry.path(), linkEc);
    if (!linkEc) out[std::stoi(entry.path().filename().string())] = target.string();
  }
  return out;
}

/// The targets that identify one open object of the agent's: sockets and pipes by inode, files
/// by path. Left out: /dev/null (everyone has it) and anon_inode:[...] (eventfd, eventpoll: the
/// name says nothing about which object it is).
bool identifiesAnObject(const std::string& target) {
  if (target == "/dev/null") return false;
  return target.rfind("socket:[", 0) == 0 || target.rfind("pipe:[", 0) == 0 ||
         (!target.empty() && target.front() == '/');
}

/// Direct children of pid (the postmaster's backends and auxiliary processes).
std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> kids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = readFile(entry.path().string() + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) kids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return kids;
}

/// "socket:[inode]" of the socket listening on 127.0.0.1:port (from /proc/net/tcp).
std::string listenerTarget(int port) {
  std::istringstream in(readFile("/proc/net/tcp"));
  char wanted[16];
  std::snprintf(wanted, sizeof wanted, "0100007F:%04X", port);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, local, remote, state, queues, timer, retr, uid, timeout, inode;
    f >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
    if (local == wanted && state == "0A") return "socket:[" + inode + "]";
  }
  return "";
}

/// "socket:[inode]" of the established loopback TCP socket local:port -> remote:port.
std::string connectionTarget(int localPort, int remotePort) {
  std::istringstream in(readFile("/proc/net/tcp"));
  char local[16], remote[16];
  std::snprintf(local, sizeof local, "0100007F:%04X", localPort);
  std::snprintf(remote, sizeof remote, "0100007F:%04X", remotePort);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, l, r, state, queues, timer, retr, uid, timeout, inode;
    f >> slot >> l >> r >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
    if (l == local && r == remote && state == "01") return "socket:[" + inode + "]";
  }
  return "";
}

/// A client that keeps one HTTP connection to the agent open and busy (GET /livez every
/// 200 ms, well inside the agent's keep-alive timeout) until destroyed, so the agent holds an
/// accepted socket while it runs a restart.
class KeptConnection {
 public:
  explicit KeptConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    BOOST_REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    BOOST_REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    localPort_ = ntohs(addr.sin_port);
    timeval tv{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    BOOST_REQUIRE(ask());
    thread_ = std::thread([this] {
      while (!stop_) {
        if (!ask()) ++failures_;
        std::this_thread::sleep_for(200ms);
      }
    });
  }
  ~KeptConnection() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  KeptConnection(const KeptConnection&) = delete;
  KeptConnection& operator=(const KeptConnection&) = delete;
  int localPort() const { return localPort_; }
  int failures() const { return failures_; }

 private:
  /// One request on the kept connection; true when an answer came back.
  bool ask() {
    const std::string req = "GET /livez HTTP/1.1\r\nHost: agent\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return false;
    char buf[4096];
    std::string in;
    // Head, then Content-Length bytes of body: the connection stays usable for the next one.
    auto complete = [&] {
      auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      auto cl = in.find("Content-Length: ");
      std::size_t length = cl < end ? std::stoul(in.substr(cl + 16)) : 0;
      return in.size() >= end + 4 + length;
    };
    while (!complete()) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in.append(buf, static_cast<std::size_t>(n));
    }
    return in.rfind("HTTP/1.1 200", 0) == 0;
  }

  int fd_ = -1;
  int localPort_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> failures_{0};
  std::thread thread_;
};

/// The new postmaster after a restart by pg-restart: the pid in postmaster.pid, checked to be a
/// live process whose cwd is this data dir (TESTING.md: never trust the pid alone).
pid_t restartedPostmaster(const PgCluster& pg) {
  const pid_t pid = pg.postmasterPid();  // checks /proc/PID/cwd and liveness itself
  BOOST_REQUIRE_MESSAGE(pid > 0, "no live postmaster for " << pg.dataDir());
  std::error_code ec;
  const auto cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  BOOST_REQUIRE(!ec);
  BOOST_REQUIRE(cwd == fs::canonical(pg.dataDir()));
  return pid;
}

/// targets[0].consecutive_failures in /status, -1 when there is no answer.
int consecutiveFailures(const HttpClient& http) {
  const std::string body =
      http.request("GET", "/status", {{"Authorization", "Bearer " + kToken}}).body;
  const std::string key = "\"consecutive_failures\":";
  auto pos = body.find(key);
  return pos == std::string::npos ? -1 : std::atoi(body.c_str() + pos + key.size());
}

/// A run of the CLI (`pgvigil VERB -c CONFIG main`): exit code, output, and how long it took.
struct CliRun {
  std::optional<int> code;
  double seconds = 0;
  std::string output;
};
CliRun runControl(const std::string& verb, const std::string& config) {
  const auto start = Clock::now();
  AgentProcess cli({.binary = pgvigilBinary(),
                    .args = {verb, "-c", config, "main"},
                    .env = {"PGVIGIL_CONFIG="}});
  CliRun run;
  run.code = cli.wait(15s);  // the old, leaking agent made this take the 10 s receive timeout
  run.seconds = secondsSince(start);
  cli.waitForLine([](const std::string&) { return false; }, 1s);  // drain its output
  run.output = cli.output();
  return run;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(descriptors)

// (a) After the agent's restart the postmaster and its children share no socket, pipe or file
// with the agent: not its listener, not its HTTP connections, not its log file.
BOOST_AUTO_TEST_CASE(restarted_postmaster_holds_nothing_of_the_agent) {
  PgCluster pg;
  TempDir dir;
  const std::string logFile = dir.path() + "/agent.log";
  const int port = freeLoopbackPort();
  const std::string config =
      dir.write("pgvigil.yaml", "agent:\n  listen: \"127.0.0.1:" + std::to_string(port) +
                                    "\"\n  state_dir: " + dir.path() +
                                    "/state\n  log: { output: file, file: " + logFile +
                                    ", format: text, level: info }\ntargets:\n" + target(pg));
  AgentProcess agent({.binary = pgvigilBinary(), .args = {"run", "-c", config}});
  HttpClient http("127.0.0.1", port);
  BOOST_REQUIRE_MESSAGE(waitStatus(http, "/livez", 200, 10s), agent.output());
  auto logHas = [&](const std::string& text) {
    return readFile(logFile).find(text) != std::string::npos;
  };
  BOOST_REQUIRE_MESSAGE(waitUntil([&] { return logHas("event=target_healthy"); }, 10s),
                        readFile(logFile));
  BOOST_REQUIRE(waitMonitorConnection(pg, 5s));

  KeptConnection client(port);  // open and in use through the whole restart
  const auto started = Clock::now();
  pg.kill9();  // the agent sees it and runs pg-restart, which starts a new postmaster
  BOOST_REQUIRE_MESSAGE(waitUntil([&] { return logHas("event=restart_succeeded"); }, 40s),
                        readFile(logFile) << agent.output());
  BOOST_REQUIRE(pg.waitReady(10s));
  BOOST_REQUIRE(waitMonitorConnection(pg, 10s));  // a backend of the agent's, forked after it
  std::cout << "kill -9 to a restarted, ready cluster: " << secondsSince(started) << " s"
            << std::endl;

  // What the agent holds now: its listener and log file among them (checked, so the comparison
  // below can see them if they leak).
  std::set<std::string> agentObjects;
  for (const auto& [fd, t] : openDescriptors(agent.pid()))
    if (identifiesAnObject(t)) agentObjects.insert(t);
  const std::string listener = listenerTarget(port);
  BOOST_REQUIRE(!listener.empty());
  BOOST_REQUIRE_MESSAGE(agentObjects.count(listener), "the agent's listener " << listener);
  BOOST_REQUIRE(agentObjects.count(fs::canonical(logFile).string()));
  const std::string accepted = connectionTarget(port, client.localPort());
  BOOST_REQUIRE_MESSAGE(agentObjects.count(accepted), "the agent's end of the kept connection");
  BOOST_TEST(client.failures() == 0);

  const pid_t postmaster = restartedPostmaster(pg);
  std::vector<pid_t> postgres = {postmaster};
  for (pid_t kid : childrenOf(postmaster)) postgres.push_back(kid);
  BOOST_TEST_REQUIRE(postgres.size() >= 3u);  // checkpointer, walwriter, ... and a backend
  for (pid_t pid : postgres) {
    for (const auto& [fd, t] : openDescriptors(pid)) {
      BOOST_TEST(!agentObjects.count(t), "postgres pid "
                                             << pid << (pid == postmaster ? " (postmaster)" : "")
                                             << " fd " << fd << " is the agent's: " << t);
    }
  }
}

// (b) The control CLI's answer arrives at once although its request starts a restart: no child
// of the restart holds the agent's end of the connection open.
BOOST_AUTO_TEST_CASE(restart_and_resume_from_the_cli_answer_within_a_second) {
  PgCluster pg;
  TempDir dir;
  const std::string token = dir.write("token", kToken + "\n");
  auto agent = startAgent(dir, target(pg), "  token_file: " + token + "\n");
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  BOOST_REQUIRE(waitMonitorConnection(pg, 5s));

  auto from = agent.process->lineCount();
  CliRun restart = runControl("restart", agent.configPath);
  std::cout << "pgvigil restart main answered in " << restart.seconds << " s" << std::endl;
  BOOST_TEST(restart.code.value_or(-1) == 0, restart.output);
  BOOST_TEST(restart.seconds < 1.0, restart.output);
  BOOST_REQUIRE_MESSAGE(waitEvent(*agent.process, "restart_succeeded", 30s, from),
                        agent.process->output());
  BOOST_REQUIRE(pg.waitReady(10s));
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s, from));

  // resume releases a restart that a pause held back.
  CliRun pause = runControl("pause", agent.configPath);
  BOOST_REQUIRE_MESSAGE(pause.code == std::optional<int>(0), pause.output);
  from = agent.process->lineCount();
  pg.kill9();
  // Paused, the agent goes on checking: wait until it has seen enough failures to restart.
  BOOST_REQUIRE_MESSAGE(waitUntil([&] { return consecutiveFailures(*agent.http) >= 2; }, 10s),
                        agent.process->output());
  BOOST_REQUIRE(countEvents(*agent.process, "restart_requested") == 1u);  // only the first one
  from = agent.process->lineCount();
  CliRun resume = runControl("resume", agent.configPath);
  std::cout << "pgvigil resume main answered in " << resume.seconds << " s" << std::endl;
  BOOST_TEST(resume.code.value_or(-1) == 0, resume.output);
  BOOST_TEST(resume.seconds < 1.0, resume.output);
  BOOST_REQUIRE_MESSAGE(waitEvent(*agent.process, "restart_succeeded", 30s, from),
                        agent.process->output());
  BOOST_TEST(pg.waitReady(10s));
}

// (c) An agent stopped after a command restart and started again binds its port at once: the
// postmaster it started does not hold the listener (the old agent exited 78, address in use).
BOOST_AUTO_TEST_CASE(agent_started_again_after_a_restart_binds_its_port) {
  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(dir, target(pg));
  agent.waitUp();
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  BOOST_REQUIRE(waitMonitorConnection(pg, 5s));
  pg.kill9();
  BOOST_REQUIRE_MESSAGE(waitEvent(*agent.process, "restart_succeeded", 40s),
                        agent.process->output());
  BOOST_REQUIRE(pg.waitReady(10s));

  agent.process->signal(SIGTERM);
  auto stopped = agent.process->wait(20s);
  BOOST_REQUIRE_MESSAGE(stopped, agent.process->output());
  BOOST_TEST(*stopped == 0, agent.process->output());

  const auto start = Clock::now();
  AgentProcess again({.binary = pgvigilBinary(), .args = {"run", "-c", agent.configPath}});
  const auto up = waitStatus(*agent.http, "/livez", 200, 5s);
  std::cout << "agent started again: /livez after " << secondsSince(start) << " s" << std::endl;
  BOOST_TEST(up.has_value(), again.output());
  BOOST_TEST(again.running(), "exited: " << again.output());
}

BOOST_AUTO_TEST_SUITE_END()
