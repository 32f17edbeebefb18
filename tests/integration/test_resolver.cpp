// The resolver against name servers of its own on loopback (issue 13, DNS): one that answers,
// one that says NXDOMAIN, one that says SERVFAIL, and one that never answers. A hung name
// server costs a lookup its deadline and nothing more: cause dns, no thread and no descriptor
// left behind, and 200 lookups in a row grow neither.
#define BOOST_TEST_MODULE test_resolver
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/unique_fd.h"
#include "probes/resolver.h"
#include "probes/tcp_probe.h"

using namespace pgvigil;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

/// Entries in a /proc/self directory (fd or task), the directory's own descriptor excluded.
int countEntries(const char* dir) {
  int n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n - (std::string(dir) == "/proc/self/fd" ? 1 : 0);
}
int openDescriptors() {
  return countEntries("/proc/self/fd");
}
/// The descriptors open now, the listing's own excluded.
std::set<int> descriptorSet() {
  std::set<int> out;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.' && std::atoi(e->d_name) != ::dirfd(d))
        out.insert(std::atoi(e->d_name));
    ::closedir(d);
  }
  return out;
}
int threads() {
  return countEntries("/proc/self/task");
}

/// A UDP name server on 127.0.0.x. kSilent never reads its socket (a hung resolver); the others
/// answer every query at once from a thread of their own: kAnswer with A 127.0.0.77 (and no
/// AAAA), kNxdomain and kServfail with that rcode.
class FakeNameServer {
 public:
  enum class Mode { kSilent, kAnswer, kNxdomain, kServfail };

  explicit FakeNameServer(Mode mode, const char* ip = "127.0.0.87") : mode_(mode) {
    fd_ = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    BOOST_TEST_REQUIRE(fd_.valid());
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, ip, &addr.sin_addr);
    BOOST_TEST_REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    csv_ = std::string(ip) + ":" + std::to_string(ntohs(addr.sin_port));
    if (mode_ != Mode::kSilent) thread_ = std::thread([this] { serve(); });
  }
  ~FakeNameServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  const std::string& servers() const { return csv_; }
  int queries() const { return queries_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      unsigned char q[512];
      sockaddr_storage from{};
      socklen_t fromLen = sizeof from;
      ssize_t n =
          ::recvfrom(fd_.get(), q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
      if (n < 12) continue;
      ++queries_;
      std::vector<unsigned char> reply = answer(q, size_t(n));
      if (!reply.empty())
        ::sendto(fd_.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                 fromLen);
    }
  }

  std::vector<unsigned char> answer(const unsigned char* q, size_t n) const {
    size_t end = 12;  // the question: its name, then type and class
    while (end < n && q[end] != 0) end += q[end] + 1;
    end += 5;
    if (end > n) return {};
    const unsigned qtype = unsigned(q[end - 4]) << 8 | q[end - 3];
    const bool withA = mode_ == Mode::kAnswer && qtype == 1;
    const unsigned rcode = mode_ == Mode::kNxdomain ? 3 : mode_ == Mode::kServfail ? 2 : 0;
    std::vector<unsigned char> r(q, q + end);
    r[2] = 0x80 | (q[2] & 0x79);  // QR, the query's opcode and RD
    r[3] = 0x80 | rcode;          // RA
    r[4] = 0, r[5] = 1;           // one question
    r[6] = 0, r[7] = withA ? 1 : 0;
    for (int i = 8; i < 12; ++i) r[i] = 0;  // no authority, no additional (drops EDNS)
    if (withA) {
      const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 77};
      r.insert(r.end(), rr, rr + sizeof rr);
    }
    return r;
  }

  Mode mode_;
  UniqueFd fd_;
  std::string csv_;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

long millisSince(Steady::time_point start) {
  return long(std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start).count());
}

Deadline realDeadline(std::chrono::milliseconds budget) {
  return Deadline(SystemClock::instance(), budget);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_name_server_answer_becomes_endpoints) {
  FakeNameServer ns(FakeNameServer::Mode::kAnswer);
  auto r = Resolver::withServers(ns.servers()).resolve("db.pgvigil.test", 6432, realDeadline(5s));
  BOOST_TEST_REQUIRE(r.error.empty(), r.error);
  BOOST_TEST_REQUIRE(r.endpoints.size() == 1u);
  BOOST_TEST(r.endpoints[0].display() == "127.0.0.77:6432");
  BOOST_TEST(ns.queries() >= 1);
}

BOOST_AUTO_TEST_CASE(a_name_that_does_not_exist_is_cause_dns) {
  FakeNameServer ns(FakeNameServer::Mode::kNxdomain);
  const auto start = Steady::now();
  auto r =
      Resolver::withServers(ns.servers()).resolve("nosuch.pgvigil.test", 5432, realDeadline(5s));
  BOOST_TEST(r.endpoints.empty());
  BOOST_TEST(toString(r.cause) == "dns");
  BOOST_TEST(r.error.rfind("cannot resolve host \"nosuch.pgvigil.test\": ", 0) == 0, r.error);
  BOOST_TEST(millisSince(start) < 2000);  // an answer, not the deadline
  // Through resolveEndpoints too: what tcpProbe and the libpq probe see.
  std::string err;
  auto info = parseConnInfo("host=nosuch.pgvigil.test port=6000", &err);
  r = resolveEndpoints(*info, realDeadline(5s), Resolver::withServers(ns.servers()));
  BOOST_TEST(toString(r.cause) == "dns");
  BOOST_TEST(r.endpoints.empty());
}

BOOST_AUTO_TEST_CASE(a_failing_name_server_is_cause_dns) {
  FakeNameServer ns(FakeNameServer::Mode::kServfail);
  const auto start = Steady::now();
  auto r = Resolver::withServers(ns.servers()).resolve("db.pgvigil.test", 5432, realDeadline(5s));
  BOOST_TEST(r.endpoints.empty());
  BOOST_TEST(toString(r.cause) == "dns");
  BOOST_TEST(r.error.rfind("cannot resolve host \"db.pgvigil.test\": ", 0) == 0, r.error);
  BOOST_TEST(millisSince(start) < 2000);
}

BOOST_AUTO_TEST_CASE(a_hung_name_server_costs_the_deadline_and_leaves_nothing_behind) {
  FakeNameServer ns(FakeNameServer::Mode::kSilent, "127.0.0.88");
  const int fdsBefore = openDescriptors(), threadsBefore = threads();
  const auto start = Steady::now();
  auto r =
      Resolver::withServers(ns.servers()).resolve("db.pgvigil.test", 5432, realDeadline(300ms));
  const long took = millisSince(start);
  BOOST_TEST(r.endpoints.empty());
  BOOST_TEST(toString(r.cause) == "dns");
  BOOST_TEST(r.error == "timeout resolving host \"db.pgvigil.test\"");
  BOOST_TEST(took >= 295);
  BOOST_TEST(took < 1000);  // the deadline, not c-ares's own retries (5 s and more)
  BOOST_TEST(openDescriptors() == fdsBefore);
  BOOST_TEST(threads() == threadsBefore);
}

BOOST_AUTO_TEST_CASE(two_hundred_lookups_grow_neither_threads_nor_descriptors) {
  FakeNameServer nx(FakeNameServer::Mode::kNxdomain);
  FakeNameServer hung(FakeNameServer::Mode::kSilent, "127.0.0.89");
  const Resolver viaNx = Resolver::withServers(nx.servers());
  const Resolver viaHung = Resolver::withServers(hung.servers());
  const int fdsBefore = openDescriptors(), threadsBefore = threads();
  int maxThreads = threadsBefore;
  for (int i = 0; i < 200; ++i) {
    auto hosts = viaNx.resolve("localhost", 5432, realDeadline(2s));  // /etc/hosts
    BOOST_TEST_REQUIRE(!hosts.endpoints.empty(), hosts.error);
    auto missing =
        viaNx.resolve("nosuch" + std::to_string(i) + ".pgvigil.test", 5432, realDeadline(2s));
    BOOST_TEST_REQUIRE(toString(missing.cause) == "dns");
    if (i % 10 == 0) {  // 20 lookups that run into their deadline
      auto late = viaHung.resolve("db.pgvigil.test", 5432, realDeadline(20ms));
      BOOST_TEST_REQUIRE(late.error == "timeout resolving host \"db.pgvigil.test\"");
    }
    maxThreads = std::max(maxThreads, threads());
  }
  BOOST_TEST(openDescriptors() == fdsBefore);
  BOOST_TEST(threads() == threadsBefore);
  BOOST_TEST(maxThreads == threadsBefore);  // not one thread per lookup, even for a moment
  BOOST_TEST(nx.queries() >= 200);
}

BOOST_AUTO_TEST_CASE(the_resolver_sockets_are_close_on_exec) {
  // While a query is out, the descriptors it opened are close-on-exec: c-ares's socket is opened
  // with SOCK_CLOEXEC, so a restart command forked meanwhile gets nothing (not even in a window
  // between socket() and fcntl()).
  FakeNameServer hung(FakeNameServer::Mode::kSilent, "127.0.0.90");
  const std::set<int> before = descriptorSet();
  std::atomic<bool> timedOut{false};
  std::thread probe([&] {
    auto r =
        Resolver::withServers(hung.servers()).resolve("db.pgvigil.test", 5432, realDeadline(500ms));
    timedOut = toString(r.cause) == "dns";
  });
  std::this_thread::sleep_for(200ms);  // the query is out, its socket open
  std::vector<int> opened, inherited;
  for (int fd : descriptorSet()) {
    if (before.count(fd)) continue;
    opened.push_back(fd);
    if (!(::fcntl(fd, F_GETFD) & FD_CLOEXEC)) inherited.push_back(fd);
  }
  probe.join();
  BOOST_TEST(timedOut.load());
  BOOST_TEST(!opened.empty());  // the resolver's UDP socket
  BOOST_TEST(inherited.empty());
  BOOST_TEST(descriptorSet() == before);
}
