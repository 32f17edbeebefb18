// Issue 11's canary through the running agent: the connection shapes libpq cannot parse (an
// unknown option name, a password with a space spliced into a keyword string, an unknown URI
// parameter left to libpq, an unterminated quote) and a valid Prisma URL, each a target of one
// agent. Neither /status, /metrics, /events nor the event log shows the canary password, and
// /status names the rejected option (only values are masked).
#define BOOST_TEST_MODULE test_app_urls_agent
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <thread>

#include "support/agent_harness.h"
#include "support/pg_cluster.h"

using namespace pgvigil;
using namespace pgvigil::test;
using namespace std::chrono_literals;

namespace {

const std::string kCanary = "Cn7Qx3Lp";
const std::string kPassword = kCanary + " it's \\ok";
const std::string kEncoded = kCanary + "%20it%27s%20%5Cok";

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(app_urls_agent)

BOOST_AUTO_TEST_CASE(status_metrics_and_events_never_show_the_password) {
  PgClusterOptions options;
  options.password = kPassword;
  PgCluster pg(options);
  const std::string port = std::to_string(pg.port());
  const std::string hostPort = "127.0.0.1:" + port;
  const std::string every = "    interval: 1s\n    timeout: 800ms\n";
  const std::string targets =
      "  - name: bad-option\n    conninfo: \"host=127.0.0.1 port=" + port +
      " dbname=postgres user=pgvigil colour=blue password=${DB_PASSWORD}\"\n" + every +
      "  - name: spliced\n    conninfo: \"host=127.0.0.1 port=" + port +
      " dbname=postgres user=pgvigil password=${DB_SPLICED}\"\n" + every +
      "  - name: uri-param\n    conninfo: \"postgresql://pgvigil:" + kEncoded + "@" + hostPort +
      "/postgres?colour=" + kCanary + "\"\n" + every +
      "  - name: unterminated\n    conninfo: \"host=127.0.0.1 port=" + port +
      " user=pgvigil password='" + kCanary + "\"\n" + every +
      "  - name: prisma\n    url: \"postgresql://pgvigil:" + kEncoded + "@" + hostPort +
      "/postgres?schema=public&connection_limit=5&sslmode=disable\"\n" + every;
  TempDir dir;
  auto agent =
      startAgent(dir, targets, "", {"DB_PASSWORD=" + kCanary, "DB_SPLICED=x " + kCanary + "=1"});
  agent.waitUp();

  // Every target has a round behind it.
  Poco::JSON::Object::Ptr root;
  std::string body;
  const auto until = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    auto status = agent.http->get("/status");
    BOOST_REQUIRE(status.status == 200);
    body = status.body;
    Poco::JSON::Parser parser;
    root = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    auto list = root->getArray("targets");
    bool all = true;
    for (size_t i = 0; i < list->size(); ++i)
      all = all && !list->getObject(i)->isNull("last_round");
    if (all) break;
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, body);
    std::this_thread::sleep_for(200ms);
  }
  BOOST_TEST(!contains(body, kCanary), body);
  std::map<std::string, Poco::JSON::Object::Ptr> byName;
  auto list = root->getArray("targets");
  for (size_t i = 0; i < list->size(); ++i)
    byName[list->getObject(i)->getValue<std::string>("name")] = list->getObject(i);
  BOOST_TEST(byName.at("prisma")->getValue<std::string>("state") == "healthy", body);
  auto message = [&](const std::string& name) {
    return byName.at(name)->getObject("last_round")->getValue<std::string>("message");
  };
  BOOST_TEST(contains(message("bad-option"), "invalid connection option \"colour\""),
             message("bad-option"));
  BOOST_TEST(contains(message("uri-param"), "invalid URI query parameter: \"colour\""),
             message("uri-param"));
  BOOST_TEST(contains(message("unterminated"), "unterminated quoted string"),
             message("unterminated"));

  for (const char* path : {"/metrics", "/events", "/health"}) {
    auto r = agent.http->get(path);
    BOOST_TEST(!contains(r.body, kCanary), path << ": " << r.body);
  }
  // Each failing target's target_unhealthy event (with its message) is in the log.
  for (const char* name : {"bad-option", "spliced", "uri-param", "unterminated"}) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (countEvents(*agent.process, "target_unhealthy", name) == 0 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(200ms);
    BOOST_TEST(countEvents(*agent.process, "target_unhealthy", name) >= 1u,
               name << ":\n"
                    << agent.process->output());
  }
  BOOST_TEST(!contains(agent.process->output(), kCanary), agent.process->output());
}

BOOST_AUTO_TEST_SUITE_END()
