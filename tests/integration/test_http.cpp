// The status endpoint as a real server on 127.0.0.1 (port 0) with a fake StatusProvider: every
// route, HEAD, 404, 405, the token, JSON headers, request limits and timeouts, 200 slow clients
// against /health, eviction at the connection cap, keep-alive and pipelining, TLS, promtool on the
// live /metrics. No PostgreSQL needed: the endpoint only ever reads the provider.
#define BOOST_TEST_MODULE test_http
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "http/fake_status_provider.h"
#include "http/http_server.h"
#include "support/http_client.h"
#include "unit/http/json_helpers.h"
#include "unit/http/promtool.h"
#include "unit/http/sample_status.h"

using namespace pgvigil;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

long long msSince(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
}

constexpr const char* kToken = "itest-token-7f3a";

/// A temp dir removed at the end, with a token file in it.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/pgvigil-http-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    auto p = (fs::path(path) / name).string();
    std::ofstream(p) << content;
    return p;
  }
  std::string path;
};

/// A server on 127.0.0.1:0 over a fake provider; stopped by the destructor, also on failure.
struct Server {
  explicit Server(HttpServerOptions options = {}, bool withToken = true) {
    provider.setStatus(testing::richStatus());
    AlertEvent e;
    e.event = "target_unhealthy";
    e.target = "replica";
    e.msg = "connection refused";
    provider.setEvents({e, e, e});
    options.listen = "127.0.0.1:0";
    if (withToken) options.token_file = dir.write("token", std::string(kToken) + "\n");
    server = std::make_unique<HttpServer>(provider, options);
    auto err = server->start();
    BOOST_TEST_REQUIRE(!err, (err ? *err : ""));
    BOOST_TEST_REQUIRE(server->port() > 0);
  }
  test::HttpClient client(bool https = false) const {
    return test::HttpClient("127.0.0.1", server->port(), https);
  }
  test::HttpResponse get(const std::string& path, bool auth = true, bool https = false) const {
    std::vector<std::pair<std::string, std::string>> headers;
    if (auth) headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
    return client(https).request("GET", path, headers, 2000ms);
  }
  Poco::Net::SocketAddress address() const {
    return Poco::Net::SocketAddress("127.0.0.1", server->port());
  }

  TempDir dir;
  FakeStatusProvider provider;
  std::unique_ptr<HttpServer> server;
};

/// Sends raw bytes on a fresh connection and reads until the server closes (or 3 s pass).
std::string rawExchange(const Poco::Net::SocketAddress& addr, const std::string& bytes) {
  Poco::Net::StreamSocket s;
  s.connect(addr, Poco::Timespan(2, 0));
  s.setReceiveTimeout(Poco::Timespan(3, 0));
  s.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
  std::string out;
  char buf[8192];
  try {
    for (int n; (n = s.receiveBytes(buf, sizeof buf)) > 0;) out.append(buf, n);
  } catch (const Poco::Exception&) {
    // a reset after the answer, or the receive timeout: return what came
  }
  return out;
}

int statusOf(const std::string& raw) {
  return raw.size() > 12 && raw.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(raw.substr(9, 3)) : 0;
}

std::size_t countOf(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_route_answers_over_the_wire) {
  Server srv;
  struct {
    const char* path;
    int code;
    const char* type;
  } cases[] = {{"/livez", 200, "application/json"},
               {"/health", 503, "application/json"},
               {"/health/main", 200, "application/json"},
               {"/health/replica", 503, "application/json"},
               {"/status", 200, "application/json"},
               {"/events?limit=2", 200, "application/json"},
               {"/metrics", 200, "text/plain; version=0.0.4; charset=utf-8"},
               {"/", 200, "text/html; charset=utf-8"}};
  for (const auto& c : cases) {
    auto r = srv.get(c.path);
    BOOST_TEST(r.status == c.code, c.path << ": " << r.error);
    BOOST_TEST(r.header("Content-Type") == c.type, c.path);
    BOOST_TEST(r.header("Cache-Control") == "no-store", c.path);
    BOOST_TEST(std::stoul(r.header("Content-Length")) == r.body.size(), c.path);
    if (std::string(c.type) == "application/json") {
      auto o = testing::parseObject(r.body);
      BOOST_TEST(o->has("checked_at"), c.path);
      BOOST_TEST(o->has("stale"), c.path);
    }
  }
  auto events = testing::parseObject(srv.get("/events?limit=2").body);
  BOOST_TEST(events->getArray("events")->size() == 2u);
  BOOST_TEST(srv.server->stats().requests >= std::size(cases));
}

BOOST_AUTO_TEST_CASE(head_has_the_headers_of_get_and_no_body) {
  Server srv;
  for (const char* path : {"/health", "/livez", "/health/main", "/"}) {
    auto get = srv.get(path);
    auto raw = rawExchange(srv.address(), std::string("HEAD ") + path +
                                              " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    BOOST_TEST(statusOf(raw) == get.status, path);
    auto headEnd = raw.find("\r\n\r\n");
    BOOST_REQUIRE(headEnd != std::string::npos);
    BOOST_TEST(raw.size() == headEnd + 4, path << ": HEAD carried a body");
    BOOST_TEST(raw.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n") !=
                   std::string::npos,
               path);
  }
}

BOOST_AUTO_TEST_CASE(unknown_paths_404_and_wrong_methods_405) {
  Server srv;
  auto auth = std::vector<std::pair<std::string, std::string>>{
      {"Authorization", std::string("Bearer ") + kToken}};
  BOOST_TEST(srv.get("/nope").status == 404);
  BOOST_TEST(srv.get("/health/ghost").status == 404);
  BOOST_TEST(srv.get("/targets/main/explode").status == 404);
  auto r = srv.client().request("POST", "/health", auth);
  BOOST_TEST(r.status == 405);
  BOOST_TEST(r.header("Allow") == "GET, HEAD");
  r = srv.client().request("GET", "/reload", auth);
  BOOST_TEST(r.status == 405);
  BOOST_TEST(r.header("Allow") == "POST");
  r = srv.client().request("DELETE", "/status", auth);
  BOOST_TEST(r.status == 405);
  BOOST_TEST(r.header("Content-Type") == "application/json");
}

BOOST_AUTO_TEST_CASE(the_token_guards_data_and_control) {
  Server srv;
  auto c = srv.client();
  for (const char* path : {"/status", "/metrics", "/events"}) {
    auto none = c.request("GET", path, {}, 2000ms);
    BOOST_TEST(none.status == 401, path);
    BOOST_TEST(none.header("WWW-Authenticate").find("Bearer") == 0u);
    BOOST_TEST(c.request("GET", path, {{"Authorization", "Bearer nope"}}, 2000ms).status == 401);
    BOOST_TEST(srv.get(path).status == 200, path);
  }
  for (const char* path : {"/livez", "/health/main", "/"})
    BOOST_TEST(c.request("GET", path, {}, 2000ms).status == 200, path);
  BOOST_TEST(c.request("GET", "/health", {}, 2000ms).status == 503);  // public, and replica is down

  BOOST_TEST(c.request("POST", "/targets/main/pause?for=30m", {}, 2000ms).status == 401);
  BOOST_TEST(srv.provider.calls().empty());
  auto auth = std::vector<std::pair<std::string, std::string>>{
      {"Authorization", std::string("Bearer ") + kToken}};
  auto r = c.request("POST", "/targets/main/pause?for=30m", auth, 2000ms);
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(c.request("POST", "/targets/main/resume", auth, 2000ms).status == 200);
  BOOST_TEST(c.request("POST", "/targets/main/restart", auth, 2000ms).status == 200);
  BOOST_TEST(c.request("POST", "/targets/ghost/restart", auth, 2000ms).status == 404);
  BOOST_TEST(c.request("POST", "/reload", auth, 2000ms).status == 200);
  auto calls = srv.provider.calls();
  BOOST_REQUIRE(calls.size() == 5u);
  BOOST_TEST((calls[0].duration == Millis{1'800'000}));
  BOOST_TEST(calls[4].op == "reload");

  // A new token on reload; the old one stops working at once.
  auto path = srv.dir.write("token2", "rotated-token\n");
  BOOST_TEST(!srv.server->reloadToken(path));
  BOOST_TEST(srv.get("/status").status == 401);
  BOOST_TEST(
      c.request("GET", "/status", {{"Authorization", "Bearer rotated-token"}}, 2000ms).status ==
      200);
  // A broken token file is refused and the current token stays.
  BOOST_TEST(srv.server->reloadToken(srv.dir.write("empty", "")).has_value());
  BOOST_TEST(
      c.request("GET", "/status", {{"Authorization", "Bearer rotated-token"}}, 2000ms).status ==
      200);
}

BOOST_AUTO_TEST_CASE(control_is_off_without_a_token) {
  Server srv({}, false);
  BOOST_TEST(srv.get("/status", false).status == 200);
  auto r = srv.client().request("POST", "/targets/main/restart", {}, 2000ms);
  BOOST_TEST(r.status == 403);
  BOOST_TEST(srv.provider.calls().empty());
}

BOOST_AUTO_TEST_CASE(oversized_and_malformed_requests_are_rejected) {
  Server srv;
  std::string bigHeader =
      "GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  BOOST_TEST(statusOf(rawExchange(srv.address(), bigHeader)) == 431);
  std::string endless = "GET /health HTTP/1.1\r\nX-Big: " + std::string(20000, 'a');  // no end
  BOOST_TEST(statusOf(rawExchange(srv.address(), endless)) == 431);
  std::string many = "GET /health HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 100; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  BOOST_TEST(statusOf(rawExchange(srv.address(), many + "\r\n")) == 431);
  BOOST_TEST(statusOf(rawExchange(srv.address(),
                                  "POST /reload HTTP/1.1\r\nHost: t\r\n"
                                  "Content-Length: 1000000\r\n\r\n")) == 413);
  BOOST_TEST(statusOf(rawExchange(srv.address(),
                                  "POST /reload HTTP/1.1\r\nHost: t\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n")) == 411);
  BOOST_TEST(statusOf(rawExchange(srv.address(), "GARBAGE\r\n\r\n")) == 400);
  BOOST_TEST(statusOf(rawExchange(srv.address(), "GET /health HTTP/2.0\r\n\r\n")) == 505);
  BOOST_TEST(srv.server->stats().rejected >= 7u);
  BOOST_TEST(srv.get("/health/main").status == 200);  // and the server is fine
}

BOOST_AUTO_TEST_CASE(keep_alive_and_pipelining) {
  Server srv;
  Poco::Net::StreamSocket s(srv.address());
  s.setReceiveTimeout(Poco::Timespan(3, 0));
  std::string two =
      "GET /health/main HTTP/1.1\r\nHost: t\r\n\r\nGET /livez HTTP/1.1\r\nHost: t\r\n\r\n";
  s.sendBytes(two.data(), static_cast<int>(two.size()));
  std::string got;
  char buf[8192];
  auto until = SteadyClock::now() + 3s;
  while (countOf(got, "HTTP/1.1 200") < 2 && SteadyClock::now() < until) {
    int n = s.receiveBytes(buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, n);
  }
  BOOST_TEST(countOf(got, "HTTP/1.1 200 OK") == 2u, got);
  BOOST_TEST(countOf(got, "Connection: keep-alive") == 2u);
  // The same connection serves a third request later.
  std::string third = "GET /health/main HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  s.sendBytes(third.data(), static_cast<int>(third.size()));
  got.clear();
  for (int n; (n = s.receiveBytes(buf, sizeof buf)) > 0;) got.append(buf, n);
  BOOST_TEST(statusOf(got) == 200);
  BOOST_TEST(got.find("Connection: close") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_slow_request_is_cut_off_after_request_timeout) {
  HttpServerOptions o;
  o.request_timeout = 400ms;
  Server srv(o);
  auto start = SteadyClock::now();
  auto raw = rawExchange(srv.address(), "GET /health HTTP/1.1\r\nHost: t\r\n");  // never ends
  auto took = msSince(start);
  BOOST_TEST(statusOf(raw) == 408);
  BOOST_TEST(took >= 350);
  BOOST_TEST(took < 2000);
  // A connection that sends nothing at all is closed too, silently.
  Poco::Net::StreamSocket silent(srv.address());
  silent.setReceiveTimeout(Poco::Timespan(3, 0));
  char buf[64];
  int n = -1;
  try {
    n = silent.receiveBytes(buf, sizeof buf);
  } catch (const Poco::Exception&) {
  }
  BOOST_TEST(n == 0);  // orderly close by the server, well before our 3 s
  BOOST_TEST(srv.server->stats().timed_out >= 2u);
}

BOOST_AUTO_TEST_CASE(two_hundred_slow_clients_do_not_starve_health) {
  HttpServerOptions o;
  o.request_timeout = 20s;  // they stay connected for the whole test, even on a loaded machine
  Server srv(o);
  std::vector<Poco::Net::StreamSocket> slow;
  slow.reserve(200);
  for (int i = 0; i < 200; ++i) {
    Poco::Net::StreamSocket s(srv.address());
    if (i % 2 == 0) {  // half a request; the other half sends nothing
      std::string half = "GET /status HTTP/1.1\r\nHost: t\r\nAuthoriz";
      s.sendBytes(half.data(), static_cast<int>(half.size()));
    }
    slow.push_back(s);
  }
  // Every slow client is connected and holding on; /health must still answer, fast, repeatedly.
  for (int round = 0; round < 5; ++round) {
    auto start = SteadyClock::now();
    auto r = srv.client().request("GET", "/health/main", {}, 1000ms);
    auto took = msSince(start);
    BOOST_TEST(r.status == 200, r.error);
    BOOST_TEST(took < 1000);
    BOOST_TEST(srv.get("/metrics").status == 200);
  }
  BOOST_TEST(srv.server->stats().open >= 200u);
  BOOST_TEST(srv.server->stats().evicted == 0u);
}

BOOST_AUTO_TEST_CASE(at_the_connection_cap_the_oldest_slow_client_makes_room) {
  HttpServerOptions o;
  o.max_connections = 50;
  Server srv(o);
  std::vector<Poco::Net::StreamSocket> silent;
  for (int i = 0; i < 80; ++i) silent.emplace_back(srv.address());
  auto start = SteadyClock::now();
  auto r = srv.client().request("GET", "/health/main", {}, 1000ms);
  BOOST_TEST(r.status == 200, r.error);
  BOOST_TEST(msSince(start) < 1000);
  BOOST_TEST(srv.server->stats().open <= 50u);
  BOOST_TEST(srv.server->stats().evicted >= 30u);
}

/// A provider whose reload takes a while, as reading and applying a config file can.
struct SlowReloadProvider final : StatusProvider {
  std::shared_ptr<const AgentStatus> snapshot() const override { return inner.snapshot(); }
  std::vector<AlertEvent> recentEvents(std::size_t n) const override {
    return inner.recentEvents(n);
  }
  ControlResult pause(std::string_view t, std::optional<Millis> d) override {
    return inner.pause(t, d);
  }
  ControlResult resume(std::string_view t) override { return inner.resume(t); }
  ControlResult restart(std::string_view t) override { return inner.restart(t); }
  ControlResult reload() override {
    std::this_thread::sleep_for(1500ms);
    return ControlResult::ok("reloaded slowly");
  }
  FakeStatusProvider inner;
};

BOOST_AUTO_TEST_CASE(a_slow_control_call_does_not_stall_health) {
  TempDir dir;
  SlowReloadProvider provider;
  provider.inner.setStatus(testing::richStatus());
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.token_file = dir.write("token", kToken);
  HttpServer server(provider, o);
  BOOST_REQUIRE(!server.start());
  test::HttpResponse reload;
  auto start = SteadyClock::now();
  std::thread poster([&] {
    reload = test::HttpClient("127.0.0.1", server.port())
                 .request("POST", "/reload", {{"Authorization", std::string("Bearer ") + kToken}},
                          5000ms);
  });
  std::this_thread::sleep_for(200ms);  // the reload is now running
  for (int i = 0; i < 5; ++i) {
    auto t0 = SteadyClock::now();
    auto r =
        test::HttpClient("127.0.0.1", server.port()).request("GET", "/health/main", {}, 1000ms);
    BOOST_TEST(r.status == 200, r.error);
    BOOST_TEST(msSince(t0) < 500);
  }
  BOOST_TEST(msSince(start) < 1400);  // all of that happened while the reload ran
  poster.join();
  BOOST_TEST(reload.status == 200, reload.error);
  BOOST_TEST(testing::parseObject(reload.body)->getValue<std::string>("message") ==
             "reloaded slowly");
  BOOST_TEST(msSince(start) >= 1500);
}

BOOST_AUTO_TEST_CASE(a_control_request_after_a_pipelined_get_answers_in_order) {
  Server srv;
  std::string two =
      "GET /health/main HTTP/1.1\r\nHost: t\r\n\r\n"
      "POST /targets/main/pause?for=5m HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
      std::string(kToken) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  auto raw = rawExchange(srv.address(), two);
  auto first = raw.find("HTTP/1.1 200");
  auto second = raw.find("\"action\":\"pause\"");
  BOOST_TEST(first == 0u, raw);
  BOOST_TEST(second != std::string::npos, raw);
  BOOST_TEST(countOf(raw, "HTTP/1.1 200") == 2u);
  BOOST_TEST(srv.provider.calls().size() == 1u);
}

BOOST_AUTO_TEST_CASE(promtool_accepts_the_live_metrics) {
  Server srv;
  auto r = srv.get("/metrics");
  BOOST_REQUIRE(r.status == 200);
  auto check = testing::promtoolCheck(r.body);
  BOOST_TEST(check.exit_code == 0, check.output);
  BOOST_TEST(check.output.empty(), "promtool complained: " << check.output);
}

BOOST_AUTO_TEST_CASE(tls_serves_the_same_routes) {
  TempDir dir;
  auto key = dir.path + "/key.pem", cert = dir.path + "/cert.pem";
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + key +
      " -out " + cert + " >/dev/null 2>&1";
  BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
  HttpServerOptions o;
  o.tls_cert = cert;
  o.tls_key = key;
  Server srv(o);
  BOOST_TEST(srv.server->tls());
  auto r = srv.get("/health/main", false, true);
  BOOST_TEST(r.status == 200, r.error);
  BOOST_TEST(r.header("Content-Type") == "application/json");
  BOOST_TEST(srv.get("/status", false, true).status == 401);
  BOOST_TEST(srv.get("/status", true, true).status == 200);
  // Silent TLS clients (no ClientHello) cost no thread either.
  std::vector<Poco::Net::StreamSocket> silent;
  for (int i = 0; i < 50; ++i) silent.emplace_back(srv.address());
  auto start = SteadyClock::now();
  BOOST_TEST(srv.client(true).request("GET", "/health/main", {}, 1000ms).status == 200);
  BOOST_TEST(msSince(start) < 1000);
  // Plain HTTP to the TLS port gets no answer (the handshake fails and the server closes).
  BOOST_TEST(statusOf(rawExchange(srv.address(), "GET /health HTTP/1.1\r\n\r\n")) == 0);
}

BOOST_AUTO_TEST_CASE(bad_tls_material_and_busy_ports_fail_start) {
  FakeStatusProvider provider;
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.tls_cert = "/nonexistent/cert.pem";
  o.tls_key = "/nonexistent/key.pem";
  HttpServer tls(provider, o);
  BOOST_TEST(tls.start().has_value());

  HttpServerOptions any;
  any.listen = "127.0.0.1:0";
  HttpServer first(provider, any);
  BOOST_REQUIRE(!first.start());
  HttpServerOptions same;
  same.listen = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second(provider, same);
  auto err = second.start();
  BOOST_TEST(err.has_value());

  HttpServerOptions badToken;
  badToken.listen = "127.0.0.1:0";
  badToken.token_file = "/nonexistent/token";
  HttpServer third(provider, badToken);
  BOOST_TEST(third.start().has_value());
}

BOOST_AUTO_TEST_CASE(stop_closes_the_port) {
  auto srv = std::make_unique<Server>();
  auto addr = srv->address();
  BOOST_TEST(srv->get("/livez").status == 200);
  auto start = SteadyClock::now();
  srv->server->stop();
  BOOST_TEST(msSince(start) < 1000);
  BOOST_TEST(!srv->server->running());
  BOOST_CHECK_THROW(Poco::Net::StreamSocket(addr).sendBytes("x", 1), Poco::Exception);
}

BOOST_AUTO_TEST_CASE(the_dashboard_renders_targets_and_events_in_a_real_browser) {
  // Headless Chromium (scripts/setup.sh test installs it) loads the page, runs its script
  // against the live /status and /events, and dumps the resulting DOM.
  Server srv({}, false);
  std::string dom = srv.dir.path + "/dom.html";
  std::string cmd =
      "timeout 90 chromium --headless --no-sandbox --disable-gpu --no-first-run "
      "--user-data-dir=" +
      srv.dir.path +
      "/profile --virtual-time-budget=4000 "
      "--dump-dom http://127.0.0.1:" +
      std::to_string(srv.server->port()) + "/ > " + dom + " 2>/dev/null";
  BOOST_REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "chromium failed (is it installed?)");
  std::ifstream in(dom);
  std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_TEST(html.find("<div class=\"card s-healthy\"><h2><span>main</span>") != std::string::npos,
             html);
  BOOST_TEST(html.find("<span>replica</span><span class=\"state s-unhealthy\">") !=
             std::string::npos);
  BOOST_TEST(html.find("42 / 97 usable (43%)") != std::string::npos);
  BOOST_TEST(html.find("<td>target_unhealthy</td>") != std::string::npos);
  BOOST_TEST(html.find("<div id=\"err\"></div>") != std::string::npos);  // no update error
}

BOOST_AUTO_TEST_CASE(listens_on_ipv6_loopback) {
  FakeStatusProvider provider;
  provider.setStatus(testing::richStatus());
  HttpServerOptions o;
  o.listen = "[::1]:0";
  HttpServer server(provider, o);
  auto err = server.start();
  BOOST_TEST_REQUIRE(!err, (err ? *err : ""));
  auto r = test::HttpClient("::1", server.port()).request("GET", "/health/main", {}, 2000ms);
  BOOST_TEST(r.status == 200, r.error);
}
