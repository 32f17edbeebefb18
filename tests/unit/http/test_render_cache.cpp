// RenderCache: /health, /status and /metrics are rendered once per published snapshot, and a new
// snapshot is never answered with the previous one's bytes.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "http/fake_status_provider.h"
#include "http/render_cache.h"
#include "http/router.h"
#include "json_helpers.h"
#include "sample_status.h"

using namespace pgvigil;
using namespace pgvigil::testing;

namespace {

/// Publishes like the agent: the same immutable snapshot until the next publish.
struct PublishingProvider final : StatusProvider {
  std::shared_ptr<const AgentStatus> published = std::make_shared<const AgentStatus>();
  mutable int snapshots = 0;
  void publish(AgentStatus s) { published = std::make_shared<const AgentStatus>(std::move(s)); }
  std::shared_ptr<const AgentStatus> snapshot() const override {
    ++snapshots;
    return published;
  }
  std::vector<AlertEvent> recentEvents(std::size_t) const override { return {}; }
  ControlResult pause(std::string_view, std::optional<Millis>) override { return {}; }
  ControlResult resume(std::string_view) override { return {}; }
  ControlResult restart(std::string_view) override { return {}; }
  ControlResult reload() override { return {}; }
};

AgentStatus withTarget(const std::string& name, TargetState state) {
  AgentStatus s;
  s.version = "test";
  s.now = at(1'700'000'000'000);
  s.started_at = s.now - std::chrono::minutes(5);
  s.targets.push_back(richTarget(name, state, s.now - std::chrono::seconds(1)));
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(render_cache)

BOOST_AUTO_TEST_CASE(renders_once_per_snapshot) {
  RenderCache<std::string> cache;
  int renders = 0;
  auto render = [&](const AgentStatus& s) {
    ++renders;
    return s.version;
  };
  auto a = std::make_shared<const AgentStatus>(withTarget("a", TargetState::kHealthy));
  BOOST_TEST(*cache.get(a, render) == "test");
  BOOST_TEST(*cache.get(a, render) == "test");
  BOOST_TEST(*cache.get(a, render) == "test");
  BOOST_TEST(renders == 1);

  AgentStatus next = *a;
  next.version = "next";
  auto b = std::make_shared<const AgentStatus>(next);
  BOOST_TEST(*cache.get(b, render) == "next");
  BOOST_TEST(renders == 2);
  // Back to an older snapshot (the agent never does this, a stalled-loop copy does): rendered
  // again, never confused with the cached one.
  BOOST_TEST(*cache.get(a, render) == "test");
  BOOST_TEST(renders == 3);
}

BOOST_AUTO_TEST_CASE(router_answers_each_publish_with_its_own_bytes) {
  PublishingProvider provider;
  TokenStore tokens;
  FakeClock clock;
  Router router(provider, tokens, clock);
  auto get = [&](std::string path) { return router.handle({"GET", std::move(path), "", ""}); };

  provider.publish(withTarget("main", TargetState::kHealthy));
  auto health1 = get("/health");
  auto status1 = get("/status");
  auto metrics1 = get("/metrics");
  BOOST_TEST(health1.status == 200);
  BOOST_TEST(get("/health").body == health1.body);
  BOOST_TEST(get("/status").body == status1.body);
  BOOST_TEST(get("/metrics").body == metrics1.body);
  BOOST_TEST(parseObject(status1.body)->getArray("targets")->size() == 1u);

  provider.publish(withTarget("main", TargetState::kUnhealthy));
  auto health2 = get("/health");
  BOOST_TEST(health2.status == 503);
  BOOST_TEST(health2.body != health1.body);
  BOOST_TEST(get("/status").body != status1.body);
  BOOST_TEST(get("/metrics").body != metrics1.body);
  BOOST_TEST(get("/health/main").status == 503);
}

BOOST_AUTO_TEST_SUITE_END()
