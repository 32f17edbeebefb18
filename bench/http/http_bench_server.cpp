// The status endpoint over a fake provider of one target, for load tests (bench/http/run.sh).
// Prints "port N" once listening; stops on SIGINT/SIGTERM. Not a test: nothing asserted here.
#include <csignal>
#include <iostream>
#include <thread>

#include "http/fake_status_provider.h"
#include "http/http_server.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

volatile std::sig_atomic_t gStop = 0;

AgentStatus oneTarget() {
  AgentStatus s;
  s.version = "bench";
  s.started_at = std::chrono::system_clock::now();
  s.now = s.started_at;
  TargetStatus t;
  t.name = "main";
  t.state = TargetState::kHealthy;
  t.since = s.now;
  t.interval = 5s;
  RoundResult r;
  r.checked_at = s.now;
  r.verdict = Verdict::kOk;
  r.latency = 2ms;
  r.checks = {{"tcp", true, Cause::kNone, Phase::kNone, 200us, "", ""},
              {"query", true, Cause::kNone, Phase::kNone, 900us, "", ""},
              {"connections", true, Cause::kNone, Phase::kNone, 800us, "", ""}};
  ConnectionStats c;
  c.used = 12;
  c.usable = 97;
  c.max_connections = 100;
  c.superuser_reserved = 3;
  c.by_state = {{"active", 2}, {"idle", 10}};
  r.connections = c;
  t.last_round = r;
  t.last_success = s.now;
  t.failures_total = {{Cause::kRefused, 3}};
  s.targets.push_back(t);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  FakeStatusProvider provider;
  provider.setStatus(oneTarget());
  HttpServerOptions options;
  options.listen = argc > 1 ? argv[1] : "127.0.0.1:0";
  HttpServer server(provider, options);
  if (auto err = server.start()) {
    std::cerr << "bench server: " << *err << "\n";
    return 1;
  }
  std::cout << "port " << server.port() << std::endl;
  std::signal(SIGINT, [](int) { gStop = 1; });
  std::signal(SIGTERM, [](int) { gStop = 1; });
  while (!gStop) std::this_thread::sleep_for(50ms);
  auto st = server.stats();
  server.stop();
  std::cout << "requests " << st.requests << " accepted " << st.accepted << "\n";
  return 0;
}
