#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "http/dashboard.h"
#include "http/fake_status_provider.h"
#include "http/router.h"
#include "json_helpers.h"
#include "sample_status.h"

using namespace pgvigil;
using namespace pgvigil::testing;

namespace {

struct Fixture {
  Fixture() : router(provider, tokens, clock) {
    provider.setStatus(richStatus());
    AlertEvent e;
    e.event = "target_healthy";
    e.target = "main";
    std::vector<AlertEvent> events(80, e);
    provider.setEvents(events);
  }
  HttpResponse call(std::string method, std::string path, std::string query = "",
                    std::string auth = "") {
    return router.handle({std::move(method), std::move(path), std::move(query), std::move(auth)});
  }
  static std::string header(const HttpResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return "";
  }
  FakeStatusProvider provider;
  TokenStore tokens;
  FakeClock clock;
  Router router;
};

/// A provider whose every call throws, as a bug would.
struct ThrowingProvider final : StatusProvider {
  std::shared_ptr<const AgentStatus> snapshot() const override {
    throw std::runtime_error("secret internals");
  }
  std::vector<AlertEvent> recentEvents(std::size_t) const override { throw 42; }
  ControlResult pause(std::string_view, std::optional<Millis>) override { throw 1; }
  ControlResult resume(std::string_view) override { throw 1; }
  ControlResult restart(std::string_view) override { throw 1; }
  ControlResult reload() override { throw 1; }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(router, Fixture)

// The renderer's headers reach the wire, on GET and HEAD alike (issue 10).
BOOST_AUTO_TEST_CASE(health_503_headers_pass_through) {
  AgentStatus s = richStatus();
  s.targets[1].next_change_at = s.now + 4500ms;
  provider.setStatus(s);
  for (const char* method : {"GET", "HEAD"}) {
    auto r = call(method, "/health/replica");
    BOOST_TEST(r.status == 503);
    BOOST_TEST(header(r, "X-Pgvigil-Reason") == "down", method);
    BOOST_TEST(header(r, "Retry-After") == "5", method);
    BOOST_TEST(header(r, "Cache-Control") == "no-store", method);
    auto ok = call(method, "/health/main");
    BOOST_TEST(header(ok, "X-Pgvigil-Reason") == "", method);
    BOOST_TEST(header(ok, "Retry-After") == "", method);
  }
}

BOOST_AUTO_TEST_CASE(every_get_route_answers_with_its_type) {
  struct {
    const char* path;
    int code;
    std::string_view type;
  } cases[] = {
      {"/livez", 200, kJsonContentType},
      {"/health", 503, kJsonContentType},  // replica is unhealthy
      {"/health/main", 200, kJsonContentType},
      {"/health/replica", 503, kJsonContentType},
      {"/status", 200, kJsonContentType},
      {"/events", 200, kJsonContentType},
      {"/metrics", 200, "text/plain; version=0.0.4; charset=utf-8"},
      {"/", 200, "text/html; charset=utf-8"},
  };
  for (const auto& c : cases) {
    for (const char* method : {"GET", "HEAD"}) {
      auto r = call(method, c.path);
      BOOST_TEST(r.status == c.code, method << " " << c.path);
      BOOST_TEST(r.content_type == c.type, c.path);
      BOOST_TEST(header(r, "Cache-Control") == "no-store", c.path);
      BOOST_TEST(!r.body.empty());
    }
  }
  BOOST_TEST(call("GET", "/").body == dashboardHtml());
  BOOST_TEST(header(call("GET", "/"), "Content-Security-Policy").find("default-src 'none'") == 0u);
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404) {
  for (const char* path : {"/nope", "/health/", "/health/nope", "/status/", "/metrics/x",
                           "/targets/main/explode", "/targets/main", "/targets//pause",
                           "/targets/main/pause/x", "//health", "/HEALTH", "/health/a/b"}) {
    auto r = call("GET", path);
    BOOST_TEST(r.status == 404, path);
    BOOST_TEST(r.content_type == kJsonContentType);
    BOOST_TEST(parseObject(r.body)->has("error"));
  }
}

BOOST_AUTO_TEST_CASE(wrong_methods_are_405_with_allow) {
  struct {
    const char* method;
    const char* path;
    const char* allow;
  } cases[] = {{"POST", "/health", "GET, HEAD"},
               {"DELETE", "/status", "GET, HEAD"},
               {"PUT", "/metrics", "GET, HEAD"},
               {"POST", "/", "GET, HEAD"},
               {"GET", "/reload", "POST"},
               {"HEAD", "/targets/main/pause", "POST"},
               {"GET", "/targets/main/restart", "POST"},
               {"OPTIONS", "/livez", "GET, HEAD"}};
  for (const auto& c : cases) {
    auto r = call(c.method, c.path);
    BOOST_TEST(r.status == 405, c.method << " " << c.path);
    BOOST_TEST(header(r, "Allow") == c.allow);
  }
  BOOST_TEST(provider.calls().empty());
}

BOOST_AUTO_TEST_CASE(without_a_token_data_is_open_and_control_is_off) {
  BOOST_TEST(call("GET", "/status").status == 200);
  for (const char* path :
       {"/reload", "/targets/main/pause", "/targets/main/resume", "/targets/main/restart"}) {
    auto r = call("POST", path);
    BOOST_TEST(r.status == 403, path);
    BOOST_TEST(parseObject(r.body)->getValue<std::string>("error").find("token") !=
               std::string::npos);
  }
  BOOST_TEST(provider.calls().empty());
}

BOOST_AUTO_TEST_CASE(with_a_token_everything_but_health_and_livez_needs_it) {
  tokens.set("s3cret-token");
  for (const char* path : {"/livez", "/health", "/health/main", "/"})
    BOOST_TEST(call("GET", path).status != 401, path);
  for (const char* path : {"/status", "/metrics", "/events"}) {
    auto none = call("GET", path);
    BOOST_TEST(none.status == 401, path);
    BOOST_TEST(header(none, "WWW-Authenticate").find("Bearer") == 0u);
    BOOST_TEST(none.body.find("s3cret") == std::string::npos);
    BOOST_TEST(call("GET", path, "", "Bearer wrong").status == 401);
    BOOST_TEST(call("GET", path, "", "Bearer s3cret-toke").status == 401);
    BOOST_TEST(call("GET", path, "", "Bearer s3cret-token2").status == 401);
    BOOST_TEST(call("GET", path, "", "Basic s3cret-token").status == 401);
    BOOST_TEST(call("GET", path, "", "s3cret-token").status == 401);
    BOOST_TEST(call("GET", path, "", "Bearer s3cret-token").status == 200);
    BOOST_TEST(call("HEAD", path, "", "bearer  s3cret-token ").status == 200);
  }
  BOOST_TEST(call("POST", "/reload").status == 401);
  BOOST_TEST(call("POST", "/reload", "", "Bearer wrong").status == 401);
  BOOST_TEST(provider.calls().empty());
  BOOST_TEST(call("POST", "/reload", "", "Bearer s3cret-token").status == 200);
  BOOST_TEST(provider.calls().size() == 1u);
  tokens.set(std::nullopt);
  BOOST_TEST(call("GET", "/status").status == 200);
}

BOOST_AUTO_TEST_CASE(control_calls_reach_the_provider) {
  tokens.set("t");
  const std::string auth = "Bearer t";
  auto r = call("POST", "/targets/main/pause", "for=30m", auth);
  BOOST_TEST(r.status == 200);
  auto o = parseObject(r.body);
  BOOST_TEST(o->getValue<std::string>("action") == "pause");
  BOOST_TEST(o->getValue<std::string>("target") == "main");
  BOOST_TEST(o->getValue<std::string>("result") == "ok");
  BOOST_TEST(o->has("checked_at"));
  BOOST_TEST(call("POST", "/targets/main/pause", "", auth).status == 200);
  BOOST_TEST(call("POST", "/targets/main/resume", "", auth).status == 200);
  BOOST_TEST(call("POST", "/targets/replica/restart", "", auth).status == 200);
  auto calls = provider.calls();
  BOOST_REQUIRE(calls.size() == 4u);
  BOOST_TEST(calls[0].op == "pause");
  BOOST_TEST(calls[0].target == "main");
  BOOST_TEST((calls[0].duration == Millis{30 * 60 * 1000}));
  BOOST_TEST(!calls[1].duration);
  BOOST_TEST(calls[2].op == "resume");
  BOOST_TEST(calls[3].op == "restart");
  BOOST_TEST(calls[3].target == "replica");
}

// Issue 9: "for=200000d" used to pass, overflow steady_clock nanoseconds and end the pause after
// a second. Now a pause lasts at most kMaxPause (365d); longer is a 400 that names the limit and
// never reaches the agent.
BOOST_AUTO_TEST_CASE(pause_for_is_bounded) {
  tokens.set("t");
  const std::string auth = "Bearer t";
  struct Case {
    const char* query;
    int status;
    long long ms;           ///< what reaches the agent on a 200
    const char* errorPart;  ///< in the 400's message
  } cases[] = {
      {"for=365d", 200, 365LL * 86'400'000, ""},
      {"for=364d23h59m59s999ms", 200, 365LL * 86'400'000 - 1, ""},
      {"for=1ms", 200, 1, ""},
      {"for=200000d", 400, 0, "for: duration '200000d' is too large; the most allowed is 365d"},
      {"for=365d1ms", 400, 0, "the most allowed is 365d"},
      {"for=366d", 400, 0, "the most allowed is 365d"},
      {"for=8761h", 400, 0, "the most allowed is 365d"},
      {"for=106752d", 400, 0, "the most allowed is 365d"},
      {"for=9223372036854775807ms", 400, 0, "the most allowed is 365d"},
      {"for=99999999999999999999999d", 400, 0, "the most allowed is 365d"},
      {"for=soon", 400, 0, "invalid duration 'soon'"},
      {"for=0s", 400, 0, "for must be a duration"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.query) {
      const auto before = provider.calls().size();
      auto r = call("POST", "/targets/main/pause", c.query, auth);
      BOOST_TEST(r.status == c.status);
      if (c.status == 200) {
        BOOST_TEST_REQUIRE(provider.calls().size() == before + 1);
        BOOST_TEST((provider.calls().back().duration == Millis{c.ms}));
      } else {
        BOOST_TEST(provider.calls().size() == before);
        auto o = parseObject(r.body);
        const auto message = o->getValue<std::string>("error");
        BOOST_TEST(message.find(c.errorPart) != std::string::npos, message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(control_results_map_to_status_codes) {
  tokens.set("t");
  const std::string auth = "Bearer t";
  BOOST_TEST(call("POST", "/targets/ghost/restart", "", auth).status == 404);
  BOOST_TEST(call("POST", "/targets/BAD!/restart", "", auth).status == 404);
  const auto before = provider.calls().size();  // the ghost's call reached the provider
  BOOST_TEST(call("POST", "/targets/main/pause", "for=soon", auth).status == 400);
  BOOST_TEST(call("POST", "/targets/main/pause", "for=0s", auth).status == 400);
  BOOST_TEST(call("POST", "/targets/main/pause", "for=-5m", auth).status == 400);
  BOOST_TEST(call("POST", "/targets/main/pause", "for=30", auth).status == 400);
  BOOST_TEST(provider.calls().size() == before);  // a bad duration never reaches the agent
  BOOST_TEST(call("POST", "/targets/main/pause", "for=1h30m", auth).status == 200);
  BOOST_TEST((provider.calls().back().duration == Millis{5'400'000}));
  provider.setControlResult(ControlResult::accepted("restart queued"));
  auto r = call("POST", "/targets/main/restart", "", auth);
  BOOST_TEST(r.status == 202);
  BOOST_TEST(parseObject(r.body)->getValue<std::string>("message") == "restart queued");
  provider.setControlResult({ControlResult::Code::kConflict, "already restarting"});
  BOOST_TEST(call("POST", "/targets/main/restart", "", auth).status == 409);
  provider.setControlResult({ControlResult::Code::kRejected, "targets[0].interval: must be > 0"});
  BOOST_TEST(call("POST", "/reload", "", auth).status == 422);
  provider.setControlResult({ControlResult::Code::kFailed, "x"});
  BOOST_TEST(call("POST", "/reload", "", auth).status == 500);
}

BOOST_AUTO_TEST_CASE(events_limit_is_bounded_and_validated) {
  auto count = [&](std::string query) {
    auto r = call("GET", "/events", std::move(query));
    BOOST_REQUIRE(r.status == 200);
    return parseObject(r.body)->getArray("events")->size();
  };
  BOOST_TEST(count("") == Router::kDefaultEventLimit);
  BOOST_TEST(count("limit=3") == 3u);
  BOOST_TEST(count("limit=0") == 0u);
  BOOST_TEST(count("x=1&limit=7") == 7u);
  BOOST_TEST(count("limit=99999999999999999999999") == 80u);  // clamped, then all there are
  BOOST_TEST(call("GET", "/events", "limit=abc").status == 400);
  BOOST_TEST(call("GET", "/events", "limit=-1").status == 400);
  BOOST_TEST(call("GET", "/events", "limit=5x").status == 400);
}

BOOST_AUTO_TEST_CASE(a_throwing_handler_is_a_500_that_leaks_nothing) {
  ThrowingProvider bad;
  tokens.set("t");
  Router r(bad, tokens, clock);
  for (auto [method, path] : {std::pair{"GET", "/health"},
                              {"GET", "/status"},
                              {"GET", "/metrics"},
                              {"GET", "/events"},
                              {"POST", "/reload"},
                              {"POST", "/targets/main/restart"}}) {
    auto resp = r.handle({method, path, "", "Bearer t"});
    BOOST_TEST(resp.status == 500, path);
    BOOST_TEST(resp.body == "{\"error\":\"internal error\"}");
    BOOST_TEST(header(resp, "Cache-Control") == "no-store");
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(router_helpers)

BOOST_AUTO_TEST_CASE(constant_time_equals_compares_exactly) {
  BOOST_TEST(constantTimeEquals("abc", "abc"));
  BOOST_TEST(!constantTimeEquals("abc", "abd"));
  BOOST_TEST(!constantTimeEquals("abc", "abcd"));
  BOOST_TEST(!constantTimeEquals("abcd", "abc"));
  BOOST_TEST(!constantTimeEquals("", "a"));
  BOOST_TEST(constantTimeEquals("", ""));
  BOOST_TEST(!constantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

BOOST_AUTO_TEST_CASE(query_params_are_decoded) {
  BOOST_TEST(queryParam("a=1&for=30m", "for").value() == "30m");
  BOOST_TEST(queryParam("for=1%68", "for").value() == "1h");
  BOOST_TEST(queryParam("a=b+c", "a").value() == "b c");
  BOOST_TEST(queryParam("flag", "flag").value() == "");
  BOOST_TEST(!queryParam("a=1", "for"));
  BOOST_TEST(!queryParam("", "for"));
}

BOOST_AUTO_TEST_CASE(token_files_are_read_trimmed_and_never_echoed) {
  char path[] = "/tmp/pgvigil-token-XXXXXX";
  int fd = mkstemp(path);
  BOOST_REQUIRE(fd >= 0);
  close(fd);
  { std::ofstream(path) << "  tok-123 \n second line ignored\n"; }
  auto r = loadTokenFile(path);
  BOOST_TEST(r.token.value() == "tok-123");
  { std::ofstream(path) << " \n"; }
  r = loadTokenFile(path);
  BOOST_TEST(!r.token);
  BOOST_TEST(r.error.find("empty") != std::string::npos);
  { std::ofstream(path) << "half secret\n"; }
  r = loadTokenFile(path);
  BOOST_TEST(!r.token);
  BOOST_TEST(r.error.find("secret") == std::string::npos);
  std::remove(path);
  r = loadTokenFile(path);
  BOOST_TEST(!r.token);
  BOOST_TEST(r.error.find("cannot read") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
