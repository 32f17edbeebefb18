// Issue 10: the docker restart path is checked at start against a real dockerd
// (tests/support/docker_engine.h). A container that does not exist is restart_path_broken at once
// — PostgreSQL (a PgCluster on the host) healthy, nothing crashed — and `/status` says so; once
// the container exists, a reload checks again and restart_path_ok follows. The agent never
// restarts anything here.
#define BOOST_TEST_MODULE docker_restart_preflight
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/agent_harness.h"
#include "support/docker_engine.h"
#include "support/pg_cluster.h"

using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

Poco::JSON::Object::Ptr parseJson(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

/// The container named `name` is removed at the end, whatever happened.
struct RemoveContainer {
  DockerEngine& engine;
  std::string name;
  ~RemoveContainer() { engine.docker({"rm", "-f", name}); }
};

Poco::JSON::Object::Ptr restartPathOf(AgentUnderTest& agent) {
  auto status = agent.http->get("/status");
  if (status.status != 200) return nullptr;
  auto t = parseJson(status.body)->getArray("targets")->getObject(0);
  if (t->isNull("restart_path")) return nullptr;
  return t->getObject("restart_path");
}

}  // namespace

BOOST_AUTO_TEST_CASE(missing_container_is_reported_at_start_and_its_creation_on_reload) {
  const std::string why = DockerEngine::unavailableReason();
  if (!why.empty()) throw std::runtime_error("docker tests cannot run here: " + why);
  DockerEngine engine;
  const std::string name = "pgv-preflight-" + std::to_string(::getpid());
  RemoveContainer cleanup{engine, name};
  engine.docker({"rm", "-f", name});  // a leftover of an earlier run

  PgCluster pg;
  TempDir dir;
  auto agent = startAgent(dir, "  - name: main\n    conninfo: \"" + pg.conninfo() +
                                   "\"\n    interval: 1s\n    timeout: 800ms\n"
                                   "    restart:\n      method: docker\n      container: " +
                                   name + "\n      docker_host: " + engine.host() + "\n");
  agent.waitUp();
  auto line = waitEvent(*agent.process, "restart_path_broken", 15s);
  BOOST_REQUIRE_MESSAGE(line, agent.process->output());
  BOOST_TEST(line->find("container '" + name + "' does not exist") != std::string::npos, *line);
  auto path = restartPathOf(agent);
  BOOST_REQUIRE(path);
  BOOST_TEST(!path->getValue<bool>("ok"));
  BOOST_TEST(path->getValue<std::string>("problem").find("does not exist") != std::string::npos);
  BOOST_REQUIRE(waitEvent(*agent.process, "target_healthy", 10s));
  BOOST_TEST(countEvents(*agent.process, "restart_requested") == 0u);

  // Created (not even started: the path only needs it to exist), then a reload.
  engine.dockerOk({"create", "--name", name, engine.emptyImage(), "/nothing"});
  const auto from = agent.process->lineCount();
  agent.process->signal(SIGHUP);
  auto ok = waitEvent(*agent.process, "restart_path_ok", 15s, from);
  BOOST_REQUIRE_MESSAGE(ok, agent.process->output());
  path = restartPathOf(agent);
  BOOST_REQUIRE(path);
  BOOST_TEST(path->getValue<bool>("ok"));
  BOOST_TEST(path->isNull("problem"));
  BOOST_TEST(countEvents(*agent.process, "restart_path_broken") == 1u);
  agent.process->signal(SIGTERM);
  BOOST_TEST(agent.process->wait(15s).has_value());
}
