// The resolver without a name server: address literals and /etc/hosts. Both are answered inside
// ares_getaddrinfo(), so nothing waits (the deadline's FakeClock never moves). Name servers that
// answer, fail or hang are in tests/integration/test_resolver.cpp. Runs on Windows too (under
// Wine, test windows_unit), where c-ares reads %SystemRoot%\System32\drivers\etc\hosts and the
// comparison with glibc's getaddrinfo() has no counterpart.
#if !defined(_WIN32)
#include <netdb.h>
#include <sys/socket.h>
#endif

#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <vector>

#include "probes/resolver.h"
#include "probes/tcp_probe.h"
#include "unit/core/scoped_env.h"
#include "unit/core/temp_dir.h"

// LeakSanitizer's scoped switch, for the one lookup below that goes through a leak in Debian's
// libcares (gcc says __SANITIZE_ADDRESS__, clang __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#define PGVIGIL_TEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PGVIGIL_TEST_LSAN 1
#endif
#endif
#ifdef PGVIGIL_TEST_LSAN
#include <sanitizer/lsan_interface.h>
#endif

using namespace pgvigil;
using namespace std::chrono_literals;

namespace {

#if !defined(_WIN32)
/// What glibc's getaddrinfo() answers for `host`, numeric, in its order.
std::vector<std::string> glibcAddresses(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::vector<std::string> out;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (auto* a = res; a; a = a->ai_next) {
    char text[NI_MAXHOST] = {0};
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) ==
        0)
      out.push_back(text);
  }
  ::freeaddrinfo(res);
  return out;
}

std::vector<std::string> addresses(const ResolveResult& r) {
  std::vector<std::string> out;
  for (const auto& ep : r.endpoints) out.push_back(ep.address);
  return out;
}
#endif

}  // namespace

BOOST_AUTO_TEST_SUITE(resolver)

BOOST_AUTO_TEST_CASE(address_literals_come_back_as_they_are) {
  FakeClock clock;
  Deadline deadline(clock, 1s);
  auto r = Resolver().resolve("127.0.0.1", 6000, deadline);
  BOOST_TEST((r.cause == Cause::kNone));
  BOOST_TEST_REQUIRE(r.endpoints.size() == 1u);
  BOOST_TEST(r.endpoints[0].display() == "127.0.0.1:6000");
  BOOST_TEST(!r.endpoints[0].unix_socket);
  r = Resolver().resolve("::1", 6001, deadline);
  BOOST_TEST_REQUIRE(r.endpoints.size() == 1u);
  BOOST_TEST(r.endpoints[0].display() == "[::1]:6001");
}

BOOST_AUTO_TEST_CASE(localhost_comes_from_etc_hosts_as_glibc_answers_it) {
  FakeClock clock;
  Deadline deadline(clock, 1s);
  // A name server that would hang: the answer must come from /etc/hosts, not from it (and a
  // FakeClock deadline that never moves proves nothing waited).
  auto r = Resolver::withServers("127.0.0.1:9").resolve("localhost", 5432, deadline);
  BOOST_TEST_REQUIRE((r.cause == Cause::kNone), r.error);
  BOOST_TEST_REQUIRE(!r.endpoints.empty());
  for (const auto& ep : r.endpoints) {
    BOOST_TEST((ep.address.rfind("127.", 0) == 0 || ep.address == "::1"), ep.address);
    BOOST_TEST(ep.port == 5432);
  }
#if !defined(_WIN32)
  // The same addresses as getaddrinfo(), the preferred one first (libpq's hostaddr is the first).
  const auto glibc = glibcAddresses("localhost");
  const auto ours = addresses(r);
  BOOST_TEST_REQUIRE(!glibc.empty());
  BOOST_TEST((std::set<std::string>(ours.begin(), ours.end()) ==
              std::set<std::string>(glibc.begin(), glibc.end())));
  BOOST_TEST(ours.front() == glibc.front());
#endif
}

// RFC 6761: a hosts file without a localhost line (Windows' own, whose localhost lines are
// commented out) still gives the loopback addresses, and no name server is asked (it would hang
// here, and the FakeClock deadline never moves).
BOOST_AUTO_TEST_CASE(localhost_without_a_hosts_entry_is_loopback_and_asks_no_name_server) {
  testing::TempDir dir;
  const std::string hosts = dir.write("hosts", "# no localhost here\n10.1.2.3 other\n");
  testing::ScopedEnv env("CARES_HOSTS", hosts);
  FakeClock clock;
  Deadline deadline(clock, 1s);
  ResolveResult r;
  {
#ifdef PGVIGIL_TEST_LSAN
    // c-ares 1.18.1 leaks the name on exactly this path (10 bytes a lookup: the hosts file
    // lookup's copy is overwritten by the localhost rule's). The Windows build's c-ares carries
    // the fix (packaging/windows/patches/c-ares-1.18.1-localhost-leak.patch); Debian 12's
    // libcares, which the Linux build links, does not, and a Linux /etc/hosts has localhost.
    __lsan::ScopedDisabler debiansCaresLeaksHere;
#endif
    r = Resolver::withServers("127.0.0.1:9").resolve("localhost", 5432, deadline);
  }
  BOOST_TEST_REQUIRE((r.cause == Cause::kNone), r.error);
  BOOST_TEST_REQUIRE(!r.endpoints.empty());
  for (const auto& ep : r.endpoints) {
    BOOST_TEST((ep.address.rfind("127.", 0) == 0 || ep.address == "::1"), ep.address);
    BOOST_TEST(ep.port == 5432);
  }
}

BOOST_AUTO_TEST_CASE(resolve_endpoints_looks_names_up_through_the_resolver) {
  FakeClock clock;
  Deadline deadline(clock, 1s);
  std::string err;
  auto info = parseConnInfo("host=localhost port=6010", &err);
  BOOST_TEST_REQUIRE(info.has_value(), err);
  auto r = resolveEndpoints(*info, deadline, Resolver::withServers("127.0.0.1:9"));
  BOOST_TEST_REQUIRE(!r.endpoints.empty(), r.error);
  BOOST_TEST(r.endpoints[0].port == 6010);
  BOOST_TEST(!r.endpoints[0].unix_socket);
}

BOOST_AUTO_TEST_CASE(an_expired_deadline_is_a_dns_failure_for_a_name_not_in_hosts) {
  FakeClock clock;
  Deadline deadline(clock, 0s);  // nothing left: no query is even waited for
  auto r = Resolver::withServers("127.0.0.1:9").resolve("db.pgvigil.test", 5432, deadline);
  BOOST_TEST(r.endpoints.empty());
  BOOST_TEST(toString(r.cause) == "dns");
  BOOST_TEST(r.error == "timeout resolving host \"db.pgvigil.test\"");
}

// Every resolved address goes to libpq, in order, with the name repeated for each (TLS host
// checks and messages keep the name): libpq then tries them in turn as it does with a name.
BOOST_AUTO_TEST_CASE(pinned_addresses_are_all_of_them_in_order) {
  ResolveResult r;
  r.endpoints = {{false, "::1", 5433}, {false, "127.0.0.1", 5433}};
  auto info = parseConnInfo("host=localhost port=5433 dbname=postgres", nullptr);
  BOOST_REQUIRE(info.has_value());
  BOOST_TEST(pinResolvedAddresses(*info, r) == 2u);
  BOOST_TEST(info->params.at("host") == "localhost,localhost");
  BOOST_TEST(info->params.at("hostaddr") == "::1,127.0.0.1");
  BOOST_TEST(displayEndpoints(r.endpoints) == "[::1]:5433, 127.0.0.1:5433");
  // Nothing to pin: an address literal, a socket directory, hostaddr given, several hosts.
  for (const char* ci : {"host=127.0.0.1", "host=::1", "host=/var/run/postgresql",
                         "host=db hostaddr=10.0.0.1", "host=a,b"}) {
    auto other = parseConnInfo(ci, nullptr);
    BOOST_REQUIRE(other.has_value());
    const auto before = other->params;
    BOOST_TEST(pinResolvedAddresses(*other, r) == 0u, ci);
    BOOST_TEST((other->params == before), ci);
  }
}

BOOST_AUTO_TEST_SUITE_END()
