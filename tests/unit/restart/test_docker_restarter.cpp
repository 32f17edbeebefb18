// The Docker restarter's pure parts: docker_host parsing, event lines, Docker's timestamps, the
// operator-stop judgement and the stop timeout. The daemon itself: tests/integration/docker_*.
#include <boost/test/unit_test.hpp>
#include <vector>

#include "restart/docker_restarter.h"
#include "restart_printers.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

DockerEvent event(std::string action, std::map<std::string, std::string> attrs = {}) {
  DockerEvent e;
  e.type = "container";
  e.action = std::move(action);
  e.attributes = std::move(attrs);
  return e;
}

ContainerState exited(int code, bool oom = false) {
  ContainerState s;
  s.status = "exited";
  s.exitCode = code;
  s.oomKilled = oom;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(docker_restarter)

BOOST_AUTO_TEST_CASE(test_ParseDockerHost) {
  auto unix = parseDockerHost("unix:///var/run/docker.sock");
  BOOST_TEST(unix.error.empty());
  BOOST_TEST((unix.kind == DockerHost::Kind::kUnix));
  BOOST_TEST(unix.path == "/var/run/docker.sock");

  auto tcp = parseDockerHost("tcp://127.0.0.1:2375");
  BOOST_TEST(tcp.error.empty());
  BOOST_TEST((tcp.kind == DockerHost::Kind::kTcp));
  BOOST_TEST(tcp.host == "127.0.0.1");
  BOOST_TEST(tcp.port == 2375);

  auto v6 = parseDockerHost("tcp://[::1]:2376/");
  BOOST_TEST(v6.error.empty());
  BOOST_TEST(v6.host == "::1");
  BOOST_TEST(v6.port == 2376);

  BOOST_TEST(!parseDockerHost("npipe:////./pipe/docker_engine").error.empty());
  BOOST_TEST(!parseDockerHost("unix://relative.sock").error.empty());
  BOOST_TEST(!parseDockerHost("tcp://127.0.0.1").error.empty());
  BOOST_TEST(!parseDockerHost("tcp://127.0.0.1:99999").error.empty());
  BOOST_TEST(!parseDockerHost("tcp://127.0.0.1:80x").error.empty());
}

BOOST_AUTO_TEST_CASE(test_ParseEventLine) {
  auto ev = parseDockerEvent(
      R"({"status":"die","id":"12d6","from":"img","Type":"container","Action":"die",)"
      R"("Actor":{"ID":"12d6857b","Attributes":{"exitCode":"137","image":"img","name":"pgv-pg"}},)"
      R"("scope":"local","time":1795354167,"timeNano":1795354167774557915})"
      "\n");
  BOOST_REQUIRE(ev.has_value());
  BOOST_TEST(ev->type == "container");
  BOOST_TEST(ev->action == "die");
  BOOST_TEST(ev->id == "12d6857b");
  BOOST_TEST(ev->attributes.at("exitCode") == "137");
  BOOST_TEST(ev->attributes.at("name") == "pgv-pg");
  BOOST_TEST(ev->timeNano == 1795354167774557915LL);

  BOOST_TEST(!parseDockerEvent("").has_value());
  BOOST_TEST(!parseDockerEvent("not json").has_value());
  BOOST_TEST(!parseDockerEvent("{\"truncated\":").has_value());
  BOOST_TEST(!parseDockerEvent("{}").has_value());
}

BOOST_AUTO_TEST_CASE(test_ParseDockerTime) {
  auto t = parseDockerTime("2026-11-22T13:29:30.506551226Z");
  BOOST_REQUIRE(t.has_value());
  BOOST_TEST(*t == 1795354170.506551226, boost::test_tools::tolerance(1e-6));
  auto offset = parseDockerTime("2026-11-22T14:29:30+01:00");
  BOOST_REQUIRE(offset.has_value());
  BOOST_TEST(*offset == 1795354170.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(!parseDockerTime("0001-01-01T00:00:00Z").has_value());  // "never"
  BOOST_TEST(!parseDockerTime("yesterday").has_value());
}

BOOST_AUTO_TEST_CASE(test_EventsMapToServiceStates) {
  BOOST_TEST((serviceStateFromEvent(event("start")) == ServiceState::kRunning));
  BOOST_TEST((serviceStateFromEvent(event("die", {{"exitCode", "137"}})) == ServiceState::kFailed));
  BOOST_TEST(
      (serviceStateFromEvent(event("die", {{"exitCode", "0"}})) == ServiceState::kOperatorStopped));
  BOOST_TEST((serviceStateFromEvent(event("oom")) == ServiceState::kFailed));
  BOOST_TEST((serviceStateFromEvent(event("stop")) == ServiceState::kOperatorStopped));
  BOOST_TEST((serviceStateFromEvent(event("pause")) == ServiceState::kOperatorStopped));
  BOOST_TEST((serviceStateFromEvent(event("destroy")) == ServiceState::kNotFound));
  BOOST_TEST(!serviceStateFromEvent(event("kill", {{"signal", "9"}})).has_value());
  BOOST_TEST(!serviceStateFromEvent(event("exec_start")).has_value());
}

BOOST_AUTO_TEST_CASE(test_FoldTellsDockerStopFromDockerKill) {
  // docker stop: kill(15), die(0), stop
  BOOST_TEST((foldEvents({event("kill", {{"signal", "15"}}), event("die", {{"exitCode", "0"}}),
                          event("stop")}) == ServiceState::kOperatorStopped));
  // docker stop that had to SIGKILL after its timeout: die(137), then stop
  BOOST_TEST((foldEvents({event("kill", {{"signal", "15"}}), event("kill", {{"signal", "9"}}),
                          event("die", {{"exitCode", "137"}}), event("stop")}) ==
              ServiceState::kOperatorStopped));
  // docker kill / a crash: die(137), no stop
  BOOST_TEST((foldEvents({event("kill", {{"signal", "9"}}), event("die", {{"exitCode", "137"}})}) ==
              ServiceState::kFailed));
  // an earlier stop and start, then a crash: the crash counts
  BOOST_TEST((foldEvents({event("stop"), event("start"), event("die", {{"exitCode", "1"}})}) ==
              ServiceState::kFailed));
  // docker stop that SIGKILLed, its `stop` not (yet) in the log: the stop signal still says so
  BOOST_TEST((foldEvents({event("kill", {{"signal", "15"}}), event("kill", {{"signal", "9"}}),
                          event("die", {{"exitCode", "137"}})}) == ServiceState::kOperatorStopped));
  BOOST_TEST(!foldEvents({event("kill")}).has_value());
  BOOST_TEST(!foldEvents({}).has_value());
}

namespace {
/// What the event watcher publishes for events streamed one by one: each change once.
std::vector<ServiceState> streamed(const std::vector<DockerEvent>& events) {
  DockerEventFold fold;
  std::vector<ServiceState> out;
  for (const auto& ev : events)
    if (auto s = fold.onEvent(ev); s && (out.empty() || out.back() != *s)) out.push_back(*s);
  return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(test_StreamedDockerStopIsNeverAFailure) {
  using S = ServiceState;
  // A `die` published as failed makes the agent probe at once and restart before `stop`
  // arrives; a docker stop must therefore be known from its first event, the stop signal.
  // docker stop, clean: kill(15), die(0), stop
  BOOST_TEST((streamed({event("kill", {{"signal", "15"}}), event("die", {{"exitCode", "0"}}),
                        event("stop")}) == std::vector<S>{S::kOperatorStopped}));
  // docker stop -t N that had to SIGKILL: kill(15), kill(9), die(137), stop
  BOOST_TEST((streamed({event("kill", {{"signal", "15"}}), event("kill", {{"signal", "9"}}),
                        event("die", {{"exitCode", "137"}}), event("stop")}) ==
              std::vector<S>{S::kOperatorStopped}));
  // the same with --stop-signal SIGINT (the official image) and SIGQUIT, and a daemon that names
  // the signal
  for (const char* sig : {"2", "3", "SIGTERM", "TERM", "SIGINT"})
    BOOST_TEST((streamed({event("kill", {{"signal", sig}}), event("kill", {{"signal", "9"}}),
                          event("die", {{"exitCode", "137"}}), event("stop")}) ==
                std::vector<S>{S::kOperatorStopped}),
               sig);
  // docker kill (SIGKILL, no stop signal first): a crash, restarted
  BOOST_TEST((streamed({event("kill", {{"signal", "9"}}), event("die", {{"exitCode", "137"}})}) ==
              std::vector<S>{S::kFailed}));
  // docker kill -s HUP is a reload, not a stop; a crash after it is a crash
  BOOST_TEST((streamed({event("kill", {{"signal", "1"}}), event("die", {{"exitCode", "1"}})}) ==
              std::vector<S>{S::kFailed}));
  // a stop, a start, then docker kill: the stop's episode ended with the start
  BOOST_TEST((streamed({event("kill", {{"signal", "15"}}), event("die", {{"exitCode", "0"}}),
                        event("stop"), event("start"), event("kill", {{"signal", "9"}}),
                        event("die", {{"exitCode", "137"}})}) ==
              std::vector<S>{S::kOperatorStopped, S::kRunning, S::kFailed}));
  // a stop whose die ended the episode: a later crash (start missed) is still a crash
  BOOST_TEST((streamed({event("kill", {{"signal", "15"}}), event("die", {{"exitCode", "137"}}),
                        event("die", {{"exitCode", "139"}})}) ==
              std::vector<S>{S::kOperatorStopped, S::kFailed}));
  // docker restart (by an operator, or by pgvigil itself): stopped, then running again
  BOOST_TEST((streamed({event("kill", {{"signal", "15"}}), event("die", {{"exitCode", "0"}}),
                        event("stop"), event("start"), event("restart")}) ==
              std::vector<S>{S::kOperatorStopped, S::kRunning}));
  // an OOM kill is a failure
  BOOST_TEST((streamed({event("oom"), event("die", {{"exitCode", "137"}})}) ==
              std::vector<S>{S::kFailed}));
}

BOOST_AUTO_TEST_CASE(test_ShutdownKillSignals) {
  BOOST_TEST(isShutdownKill(event("kill", {{"signal", "15"}})));
  BOOST_TEST(isShutdownKill(event("kill", {{"signal", "SIGQUIT"}})));
  BOOST_TEST(!isShutdownKill(event("kill", {{"signal", "9"}})));
  BOOST_TEST(!isShutdownKill(event("kill", {{"signal", "SIGHUP"}})));
  BOOST_TEST(!isShutdownKill(event("kill")));
  BOOST_TEST(!isShutdownKill(event("die", {{"signal", "15"}})));
}

BOOST_AUTO_TEST_CASE(test_JudgeContainer) {
  ContainerState running;
  running.status = "running";
  running.running = true;
  BOOST_TEST((judgeContainer(running, std::nullopt) == ServiceState::kRunning));

  BOOST_TEST((judgeContainer(exited(0), std::nullopt) == ServiceState::kOperatorStopped));
  BOOST_TEST((judgeContainer(exited(137), std::nullopt) == ServiceState::kFailed));
  BOOST_TEST((judgeContainer(exited(137), ServiceState::kOperatorStopped) ==
              ServiceState::kOperatorStopped));
  BOOST_TEST((judgeContainer(exited(137), ServiceState::kFailed) == ServiceState::kFailed));
  BOOST_TEST((judgeContainer(exited(137, true), ServiceState::kOperatorStopped) ==
              ServiceState::kFailed));  // an OOM kill is never on purpose

  ContainerState paused = running;
  paused.status = "paused";
  BOOST_TEST((judgeContainer(paused, std::nullopt) == ServiceState::kOperatorStopped));
  ContainerState restarting = running;
  restarting.status = "restarting";
  BOOST_TEST((judgeContainer(restarting, std::nullopt) == ServiceState::kFailed));
  ContainerState created;
  created.status = "created";
  BOOST_TEST((judgeContainer(created, std::nullopt) == ServiceState::kOperatorStopped));
}

BOOST_AUTO_TEST_CASE(test_StopTimeoutIsGenerous) {
  BOOST_TEST(dockerStopTimeout(60s).count() == 45);      // 15 s kept for the start
  BOOST_TEST(dockerStopTimeout(59990ms).count() == 45);  // a deadline taken a moment ago
  BOOST_TEST(dockerStopTimeout(600s).count() == 585);
  BOOST_TEST(dockerStopTimeout(8s).count() == 6);     // a quarter kept
  BOOST_TEST(dockerStopTimeout(500ms).count() == 1);  // never 0: that would be an instant kill
}

BOOST_AUTO_TEST_CASE(test_ErrorsMapToOutcomes) {
  using R = RestartOutcome::Result;
  BOOST_TEST((toRestartResult(DockerError::Kind::kUnreachable) == R::kUnreachable));
  BOOST_TEST((toRestartResult(DockerError::Kind::kPermissionDenied) == R::kPermissionDenied));
  BOOST_TEST((toRestartResult(DockerError::Kind::kNotFound) == R::kNotFound));
  BOOST_TEST((toRestartResult(DockerError::Kind::kTimeout) == R::kTimedOut));
  BOOST_TEST((toRestartResult(DockerError::Kind::kApi) == R::kFailed));
}

BOOST_AUTO_TEST_CASE(test_MissingSocketIsUnreachableNotACrash) {
  // A path that cannot exist: no daemon is contacted, the answer is a value.
  DockerRestarter restarter("pg", "unix:///nonexistent/pgvigil-test/docker.sock",
                            SystemClock::instance());
  auto out = restarter.restart(Deadline(SystemClock::instance(), 2s));
  BOOST_TEST((out.result == RestartOutcome::Result::kUnreachable));
  BOOST_TEST(out.detail.find("/nonexistent/pgvigil-test/docker.sock") != std::string::npos);
  BOOST_TEST((restarter.query(Deadline(SystemClock::instance(), 2s)) == ServiceState::kUnknown));

  DockerRestarter bad("pg", "npipe:////./pipe/docker_engine", SystemClock::instance());
  auto unsupported = bad.restart(Deadline(SystemClock::instance(), 2s));
  BOOST_TEST((unsupported.result == RestartOutcome::Result::kUnreachable));
  BOOST_TEST(unsupported.detail.find("unsupported") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
