// `pgvigil demo`, as a person would use it (issue "Restarts", docs/reference.md §7): the real
// binary creates a throwaway cluster, the dashboard is opened in a real headless Chromium at each
// stage (healthy, hung, recovered after kill -9), and Ctrl-C removes everything. Screenshots go to
// $PGVIGIL_SCREENSHOT_DIR when set (docs/images holds the ones from the last update).
#define BOOST_TEST_MODULE test_demo
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Runs headless Chromium on `url`: the DOM after the page's scripts ran, and a screenshot.
std::string chromium(const TempDir& dir, const std::string& url, const std::string& screenshot) {
  const std::string profile = dir.path() + "/chromium-profile";
  const std::string flags =
      "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--user-data-dir=" +
      profile + " --window-size=1100,700 --virtual-time-budget=3000 ";
  const std::string dom = dir.path() + "/dom.html";
  std::string cmd =
      "timeout 60 chromium " + flags + "--dump-dom " + url + " > " + dom + " 2>/dev/null";
  BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
  if (!screenshot.empty()) {
    cmd = "timeout 60 chromium " + flags + "--screenshot=" + screenshot + " " + url +
          " >/dev/null 2>&1";
    BOOST_TEST(std::system(cmd.c_str()) == 0);
    BOOST_TEST(fs::file_size(screenshot) > 10000u);
  }
  return readFile(dom);
}

std::string shotPath(const TempDir& dir, const std::string& name) {
  const char* out = std::getenv("PGVIGIL_SCREENSHOT_DIR");
  return (out && *out ? std::string(out) : dir.path()) + "/" + name;
}

pid_t postmasterPid(const std::string& clusterDir) {
  std::ifstream in(clusterDir + "/data/postmaster.pid");
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

bool portAccepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

BOOST_AUTO_TEST_CASE(demo_watches_restarts_and_cleans_up) {
  TempDir dir;
  const int port = freeLoopbackPort();
  AgentProcessOptions options;
  options.binary = pgvigilBinary();
  options.args = {"demo", "--listen", "127.0.0.1:" + std::to_string(port)};
  AgentProcess demo(options);
  // On any failure below, stop the demo the way a user would (SIGINT: it stops PostgreSQL and
  // removes its dir) before AgentProcess's SIGKILL; then make sure the cluster is gone anyway
  // (its postmaster runs in its own process group, out of reach of that SIGKILL).
  std::string clusterDir;
  struct Cleanup {
    AgentProcess& demo;
    std::string& dir;
    ~Cleanup() {
      if (demo.running()) {
        demo.signal(SIGINT);
        demo.wait(30s);
      }
      if (!dir.empty() && fs::exists(dir + "/data/postmaster.pid")) {
        const std::string stop =
            "runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl stop -D " + dir +
            "/data -m immediate -w -t 20 >/dev/null 2>&1";
        [[maybe_unused]] int rc = std::system(stop.c_str());
      }
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  } cleanup{demo, clusterDir};
  // The banner's last line: everything it prints before (paths, ports) has arrived by then.
  auto running = demo.waitForLine("Events follow", 60s);
  BOOST_REQUIRE_MESSAGE(running, demo.output());
  std::smatch m;
  const std::string out = demo.output();
  BOOST_REQUIRE_MESSAGE(std::regex_search(out, m, std::regex("PostgreSQL +(/\\S+)")), out);
  clusterDir = m[1];
  BOOST_REQUIRE_MESSAGE(std::regex_search(out, m, std::regex("\\(port ([0-9]+),")), out);
  const int pgPort = std::stoi(m[1]);
  HttpClient http("127.0.0.1", port);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";

  // 1. Healthy.
  BOOST_REQUIRE(waitStatus(http, "/health", 200, 10s));
  std::string dom = chromium(dir, url, shotPath(dir, "demo-1-healthy.png"));
  BOOST_TEST(dom.find("state s-healthy") != std::string::npos, dom);

  // 2. Hung: the postmaster stopped; the dashboard shows it unhealthy (a timeout) while
  //    hang_after (10 s in the demo) is waited out, then pg-restart cures it.
  const pid_t hung = postmasterPid(clusterDir);
  BOOST_REQUIRE(hung > 0);
  ::kill(hung, SIGSTOP);
  BOOST_REQUIRE_MESSAGE(waitEvent(demo, "target_unhealthy", 15s), demo.output());
  dom = chromium(dir, url, shotPath(dir, "demo-2-hung.png"));
  BOOST_TEST(dom.find("state s-unhealthy") != std::string::npos, dom);
  BOOST_TEST(dom.find("timeout") != std::string::npos);
  BOOST_REQUIRE_MESSAGE(waitEvent(demo, "restart_succeeded", 45s), demo.output());
  BOOST_REQUIRE(waitStatus(http, "/health", 200, 20s));

  // 3. Crash: kill -9, restarted, healthy again; the dashboard lists what happened.
  std::this_thread::sleep_for(1s);
  const auto before = countEvents(demo, "restart_succeeded");
  const pid_t crashed = postmasterPid(clusterDir);
  BOOST_REQUIRE(crashed > 0 && crashed != hung);
  const auto killed = std::chrono::steady_clock::now();
  ::kill(crashed, SIGKILL);
  BOOST_REQUIRE(waitStatus(http, "/health", 503, 10s));
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (countEvents(demo, "restart_succeeded") == before &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  BOOST_REQUIRE_MESSAGE(countEvents(demo, "restart_succeeded") == before + 1, demo.output());
  BOOST_REQUIRE(waitStatus(http, "/health", 200, 20s));
  std::cout << "demo: kill -9 to /health 200 again: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count()
            << " s" << std::endl;
  dom = chromium(dir, url, shotPath(dir, "demo-3-recovered.png"));
  BOOST_TEST(dom.find("state s-healthy") != std::string::npos);
  BOOST_TEST(dom.find("restart_succeeded") != std::string::npos);
  BOOST_TEST(dom.find("target_unhealthy") != std::string::npos);

  // 4. Ctrl-C: everything it made is gone.
  demo.signal(SIGINT);
  auto code = demo.wait(60s);
  BOOST_REQUIRE(code);
  BOOST_TEST(*code == 0);
  BOOST_TEST(!fs::exists(clusterDir));
  BOOST_TEST(!portAccepts(pgPort), "PostgreSQL still listens after the demo stopped");
}
