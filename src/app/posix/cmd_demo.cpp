#include "app/cmd_demo.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "agent/agent.h"
#include "app/agent_signals.h"
#include "app/cli.h"
#include "app/cmd_run.h"
#include "app/local_cluster.h"
#include "http/http_server.h"

namespace fs = std::filesystem;

namespace pgvigil {
namespace {

bool loopbackPortFree(int port) {
  // Bind-and-release: good enough to pick between 8787 and a free port for a demo.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::string findPgRestartScript() {
  if (const char* env = std::getenv("PGVIGIL_PG_RESTART"); env && *env) return env;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = self.parent_path().parent_path() / "lib" / "pgvigil" / "pg-restart";
    if (fs::exists(installed, ec)) return installed.string();
  }
  const fs::path configured = fs::path(PGVIGIL_LIBEXEC_DIR) / "pg-restart";
  if (fs::exists(configured, ec)) return configured.string();
  const fs::path source = fs::path(PGVIGIL_SOURCE_DIR) / "scripts" / "pg-restart";
  if (fs::exists(source, ec)) return source.string();
  return {};
}

Config demoConfig(const LocalCluster& cluster, const std::string& listen,
                  const std::string& restartScript) {
  Config config;
  config.path = "(embedded demo config)";
  config.agent.listen = listen;
  config.agent.state_dir = cluster.dir() + "/pgvigil-state";
  config.agent.log.output = LogOutput::kStdout;
  config.agent.log.format = LogFormat::kText;

  TargetConfig t;
  t.name = "demo";
  t.conninfo = cluster.conninfo();
  t.interval = std::chrono::seconds(2);
  t.timeout = std::chrono::milliseconds(1500);
  t.unhealthy_after = 2;
  t.healthy_after = 1;
  t.restart.method = RestartMethod::kCommand;
  // pg-restart's steps (fast stop, immediate stop, SIGKILL, start) are bounded to fit inside
  // restart.timeout: 5 + 3 + 5 + 20 = 33 s < 40 s.
  t.restart.command = {restartScript, "--fast-timeout",       "5",  "--immediate-timeout",
                       "3",           "--kill-timeout",       "5",  "--start-timeout",
                       "20",          cluster.dataDir(),      "-l", cluster.logFile(),
                       "-o",          cluster.serverOptions()};
  t.restart.timeout = std::chrono::seconds(40);
  t.restart.grace = std::chrono::seconds(15);
  t.restart.backoff.initial = std::chrono::seconds(1);
  t.restart.backoff.max = std::chrono::seconds(30);
  t.restart.budget.max = 10;
  t.restart.budget.window = std::chrono::minutes(10);
  t.restart.hang_after = std::chrono::seconds(10);
  t.restart.recovery_grace = std::chrono::minutes(1);
  t.application_name = "pgvigil-demo";
  config.targets.push_back(t);
  return config;
}

int runDemo(const std::optional<std::string>& listenArg, std::ostream& out, std::ostream& err) {
  const std::string script = findPgRestartScript();
  if (script.empty()) {
    err << "pgvigil demo: the restart recipe pg-restart was not found (set PGVIGIL_PG_RESTART)\n";
    return kExitFailed;
  }
  // Signals first: every thread started from here on (the reaper's too) inherits the mask, so
  // SIGINT/SIGTERM can only reach the run loop's sigtimedwait.
  prepareAgentSignals();
  // Reap killed postmasters (this machine's init may not): before the cluster starts, so the
  // first postmaster is re-parented here too when pg_ctl's intermediate process exits.
  OrphanReaper reaper;
  std::unique_ptr<LocalCluster> cluster;
  try {
    out << "pgvigil demo: creating a throwaway PostgreSQL cluster...\n" << std::flush;
    cluster = std::make_unique<LocalCluster>();
  } catch (const std::exception& e) {
    err << "pgvigil demo: " << e.what() << "\n";
    return kExitFailed;
  }
  std::string listen =
      listenArg.value_or(loopbackPortFree(8787) ? "127.0.0.1:8787" : "127.0.0.1:0");
  Config config = demoConfig(*cluster, listen, script);

  RunHooks hooks;
  hooks.reload = [&config](std::string*) { return std::optional<Config>(config); };
  hooks.on_ready = [&](Agent&, const HttpServer* http) {
    const std::string base =
        http ? "http://127.0.0.1:" + std::to_string(http->port()) : std::string("(endpoint off)");
    const std::string pidFile = cluster->dataDir() + "/postmaster.pid";
    // Composed first and written in one call: the event log shares stdout and writes from its
    // own thread, so a banner written piece by piece could be cut by an event line.
    std::ostringstream banner;
    banner << "\n"
           << "pgvigil demo is running.\n"
           << "  PostgreSQL   " << cluster->dir() << "  (port " << cluster->port()
           << ", postmaster pid " << cluster->postmasterPid() << ")\n"
           << "  dashboard    " << base << "/\n"
           << "  health       curl -s " << base << "/health\n"
           << "  status       curl -s " << base << "/status\n"
           << "  metrics      curl -s " << base << "/metrics\n"
           << "  connect      psql \"" << cluster->conninfo() << "\"\n"
           << "\nTry:\n"
           << "  kill -9 $(head -1 " << pidFile << ")      # a crash: seen at once, restarted\n"
           << "  kill -STOP $(head -1 " << pidFile
           << ")   # a hang: restarted after hang_after (10s)\n"
           << "  curl -s -XPOST " << base
           << "/targets/demo/pause   # needs a token: see docs/http.md\n"
           << "\nEvents follow, one line per state change. Ctrl-C stops the demo and removes "
           << cluster->dir() << ".\n\n";
    out << banner.str() << std::flush;
  };
  int code = runAgent(config, hooks, err);
  out << "pgvigil demo: stopping PostgreSQL and removing " << cluster->dir() << "\n" << std::flush;
  cluster.reset();
  return code;
}

}  // namespace pgvigil
