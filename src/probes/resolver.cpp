#include "probes/resolver.h"

#include <ares.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <new>
#include <utility>

#include "probes/net.h"
#include "probes/socket_headers.h"

namespace pgvigil {
namespace {

using SteadyClock = std::chrono::steady_clock;

// c-ares's own sockets get FD_CLOEXEC from an fcntl() after socket(): a fork in that window
// would hand the descriptor to a restart command. These functions open them close-on-exec (on
// Windows: not inheritable) and non-blocking in one call. (With them set, c-ares sets no option
// itself: TCP_NODELAY is ours.)
ares_socket_t openSocket(int family, int type, int protocol, void*) {
  const net::Socket s = net::open(family, type, protocol);
  if (s == net::kNoSocket) return ARES_SOCKET_BAD;
  if (type == SOCK_STREAM) net::setNoDelay(s);
  return s;
}

int closeSocket(ares_socket_t fd, void*) {
  return net::close(fd);
}

int connectSocket(ares_socket_t fd, const sockaddr* addr, ares_socklen_t len, void*) {
  // On failure the system's own error (errno, WSAGetLastError()) is left as it was set:
  // c-ares reads it (EINPROGRESS and EWOULDBLOCK are not failures).
  return net::connect(fd, addr, std::size_t(len)) == 0 ? 0 : -1;
}

ares_ssize_t receiveFrom(ares_socket_t fd, void* buf, size_t len, int flags, sockaddr* from,
                         ares_socklen_t* fromLen, void*) {
  int length = fromLen ? int(*fromLen) : 0;
  const auto n = net::receiveFrom(fd, buf, len, flags, from, fromLen ? &length : nullptr);
  if (fromLen) *fromLen = ares_socklen_t(length);
  return n;
}

ares_ssize_t sendVector(ares_socket_t fd, const iovec* iov, int count, void*) {
  return net::sendVector(fd, iov, count);
}

const ares_socket_functions kSocketFunctions{&openSocket, &closeSocket, &connectSocket,
                                             &receiveFrom, &sendVector};

/// ares_library_init once per process (it does real work only on Windows); never cleaned up.
int libraryStatus() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  return status;
}

struct ChannelDeleter {
  void operator()(ares_channeldata* channel) const { ares_destroy(channel); }
};
using ChannelPtr = std::unique_ptr<ares_channeldata, ChannelDeleter>;

/// What the lookup's callback leaves behind; lives on resolve()'s stack, which outlives the
/// channel (destroying the channel runs the callback of a query still pending).
struct Answer {
  int port = 0;
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<Endpoint> endpoints;
};

std::string numericAddress(const sockaddr* addr) {
  return net::formatAddress(addr);
}

void onAnswer(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  auto* answer = static_cast<Answer*>(arg);
  std::unique_ptr<ares_addrinfo, decltype(&ares_freeaddrinfo)> owned(result, &ares_freeaddrinfo);
  answer->done = true;
  answer->status = status;
  if (status != ARES_SUCCESS || !result) return;
  try {  // no exception may cross c-ares's C frames
    for (auto* node = result->nodes; node; node = node->ai_next) {
      Endpoint ep{false, numericAddress(node->ai_addr), answer->port};
      if (!ep.address.empty()) answer->endpoints.push_back(std::move(ep));
    }
  } catch (const std::bad_alloc&) {
    answer->status = ARES_ENOMEM;
    answer->endpoints.clear();
  }
}

ResolveResult failure(std::string error) {
  ResolveResult out;
  out.cause = Cause::kDns;
  out.error = std::move(error);
  return out;
}

/// Waits on the channel's sockets until the answer or `end`; false when `end` came first.
bool drive(ares_channel channel, const Answer& answer, SteadyClock::time_point end) {
  while (!answer.done) {
    const auto left = end - SteadyClock::now();
    if (left <= left.zero()) return false;
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
    net::PollFd fds[ARES_GETSOCK_MAXNUM];
    std::size_t count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= net::kReadable;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= net::kWritable;
      if (events) fds[count++] = net::PollFd{sockets[i], events, 0};
    }
    // Wake for c-ares's own retry timer or our deadline, whichever is first (rounded up, so a
    // timer a fraction of a millisecond away does not spin).
    const auto leftUs = std::chrono::ceil<std::chrono::microseconds>(left).count();
    timeval maxWait{};
    maxWait.tv_sec = decltype(maxWait.tv_sec)(leftUs / 1'000'000);
    maxWait.tv_usec = decltype(maxWait.tv_usec)(leftUs % 1'000'000);
    timeval wait{};
    const timeval* next = ares_timeout(channel, &maxWait, &wait);
    const int ms = int((next->tv_sec * 1'000'000 + next->tv_usec + 999) / 1000);
    const int ready = net::poll(fds, count, ms);
    if (ready < 0 && net::lastError() == EINTR) continue;
    if (ready <= 0) {
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timers only
      continue;
    }
    for (std::size_t i = 0; i < count && !answer.done; ++i) {
      const short got = fds[i].revents;
      if (!got) continue;
      const bool readable = got & (net::kReadable | net::kError | net::kHangup);
      ares_process_fd(channel, readable ? fds[i].fd : ARES_SOCKET_BAD,
                      (got & net::kWritable) ? fds[i].fd : ARES_SOCKET_BAD);
    }
  }
  return true;
}

}  // namespace

std::string Endpoint::display() const {
  if (unix_socket) return address;
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

Resolver Resolver::withServers(std::string serversCsv) {
  Resolver r;
  r.servers_ = std::move(serversCsv);
  return r;
}

ResolveResult Resolver::resolve(const std::string& host, int port, const Deadline& deadline) const {
  // The deadline's clock may be a fake one in tests; wait in real time for what remains.
  const auto end = SteadyClock::now() + deadline.remaining();
  const std::string what = "cannot resolve host \"" + host + "\": ";
  if (int rc = libraryStatus(); rc != ARES_SUCCESS) return failure(what + ares_strerror(rc));

  // A channel per lookup: it reads resolv.conf and nsswitch.conf afresh (as glibc notices an
  // edited resolv.conf), shares nothing between probe threads, and destroying it is the
  // cancellation: its queries end and its sockets close before resolve() returns.
  ares_options options{};
  int mask = 0;
  if (!servers_.empty()) {
    options.ndomains = 0;  // no search domains: a test name is asked exactly as given
    mask |= ARES_OPT_DOMAINS;
  }
  ares_channel raw = nullptr;
  if (int rc = ares_init_options(&raw, &options, mask); rc != ARES_SUCCESS)
    return failure(what + ares_strerror(rc));
  ChannelPtr channel(raw);
  ares_set_socket_functions(channel.get(), &kSocketFunctions, nullptr);
  if (!servers_.empty()) {
    if (int rc = ares_set_servers_ports_csv(channel.get(), servers_.c_str()); rc != ARES_SUCCESS)
      return failure(what + ares_strerror(rc));
  }

  Answer answer;
  answer.port = port;
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // CARES_HOSTS, when set, names the hosts file instead of /etc/hosts (c-ares's own variable):
  // how a test gives `localhost` both ::1 and 127.0.0.1 without editing the machine's
  // /etc/hosts. Unset in the field; docs/troubleshooting.md says so.
  hints.ai_flags = ARES_AI_ENVHOSTS;
  ares_getaddrinfo(channel.get(), host.c_str(), nullptr, &hints, &onAnswer, &answer);
  const bool answered = drive(channel.get(), answer, end);
  channel.reset();  // cancels a query still out and closes every socket of the lookup
  if (!answered) {
    // A lookup that hangs is a DNS problem, not a hung server: cause dns, never timeout.
    return failure("timeout resolving host \"" + host + "\"");
  }
  if (answer.status != ARES_SUCCESS) return failure(what + ares_strerror(answer.status));
  if (answer.endpoints.empty()) return failure(what + "no address");
  ResolveResult out;
  out.endpoints = std::move(answer.endpoints);
  return out;
}

}  // namespace pgvigil
