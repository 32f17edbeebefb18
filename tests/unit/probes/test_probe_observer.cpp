// The tcp probe reports its phases to an observer (the lookup, each endpoint's connect) and
// behaves the same with or without one. A loopback listener stands in for a server; no sleeps.
// Its socket goes through probes/net.h, so the Windows runner runs these too.
#include <boost/test/unit_test.hpp>
#include <cerrno>

#include "probes/net.h"
#include "probes/socket_headers.h"
#include "probes/tcp_probe.h"

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

struct Recorded : ProbeObserver {
  int lookups = 0;
  std::vector<Endpoint> endpoints;
  std::vector<int> errors;
  std::vector<bool> timeouts;
  int other = 0;
  void resolved(const ResolveResult& r, Micros) override {
    ++lookups;
    endpoints = r.endpoints;
  }
  void tcpAttempt(const Endpoint&, int err, bool timedOut, Micros) override {
    errors.push_back(err);
    timeouts.push_back(timedOut);
  }
  void sessionPhase(Phase, Micros) override { ++other; }
  void authenticated(Micros) override { ++other; }
};

/// A listening socket on 127.0.0.1 and its port.
net::UniqueSocket listener(int* port) {
  net::UniqueSocket fd(net::open(AF_INET, SOCK_STREAM));
  BOOST_REQUIRE(fd.valid());
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  BOOST_REQUIRE(::listen(fd.get(), 8) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

ConnInfo loopback(int port) {
  std::string error;
  auto info = parseConnInfo("host=127.0.0.1 port=" + std::to_string(port), &error);
  BOOST_REQUIRE(info.has_value());
  return *info;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(probe_observer)

BOOST_AUTO_TEST_CASE(the_tcp_probe_reports_its_lookup_and_connect) {
  int port = 0;
  net::UniqueSocket server = listener(&port);
  Recorded seen;
  const Deadline deadline(SystemClock::instance(), 2s);
  CheckOutcome out = tcpProbe(loopback(port), deadline, seen);
  BOOST_TEST(out.ok);
  BOOST_TEST(seen.lookups == 1);
  BOOST_REQUIRE(seen.endpoints.size() == 1u);
  BOOST_TEST(seen.endpoints[0].display() == "127.0.0.1:" + std::to_string(port));
  BOOST_TEST(seen.errors == std::vector<int>{0});
  BOOST_TEST(seen.timeouts == std::vector<bool>{false});
  BOOST_TEST(seen.other == 0);  // no session phases from a bare connect
}

BOOST_AUTO_TEST_CASE(a_refused_connect_is_reported_with_its_errno_and_the_same_outcome) {
  int port = 0;
  { net::UniqueSocket closed = listener(&port); }  // nothing listens there any more
  Recorded seen;
  // Windows answers a refused loopback connect only after its SYN retries (about 2 s per
  // attempt, two attempts here); Linux at once.
  const Deadline deadline(SystemClock::instance(), 10s);
  CheckOutcome watched = tcpProbe(loopback(port), deadline, seen);
  CheckOutcome plain = tcpProbe(loopback(port), deadline);
  BOOST_TEST(!watched.ok);
  BOOST_TEST(toString(watched.cause) == "refused");
  BOOST_TEST(seen.errors == std::vector<int>{ECONNREFUSED});
  // The observer changes nothing in what the probe answers.
  BOOST_TEST(watched.ok == plain.ok);
  BOOST_TEST(toString(watched.cause) == toString(plain.cause));
  BOOST_TEST(toString(watched.phase) == toString(plain.phase));
  BOOST_TEST(watched.message == plain.message);
}

BOOST_AUTO_TEST_CASE(the_default_observer_is_one_shared_do_nothing_object) {
  BOOST_TEST(&ProbeObserver::none() == &ProbeObserver::none());
  ProbeObserver::none().queryDone(CheckOutcome{});  // callable, does nothing
}

BOOST_AUTO_TEST_SUITE_END()
