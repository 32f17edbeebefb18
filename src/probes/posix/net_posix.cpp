// net.h on POSIX: the system calls as they are (errno is already the vocabulary).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "probes/net.h"

namespace pgvigil::net {

static_assert(kReadable == POLLIN && kWritable == POLLOUT && kError == POLLERR &&
              kHangup == POLLHUP);

Socket fromLibpq(int socket) {
  return socket;
}

int poll(PollFd* fds, std::size_t count, int timeoutMs) {
  std::vector<pollfd> p(count);
  for (std::size_t i = 0; i < count; ++i) p[i] = {fds[i].fd, fds[i].events, 0};
  const int n = ::poll(p.data(), p.size(), timeoutMs);
  for (std::size_t i = 0; i < count; ++i) fds[i].revents = n > 0 ? p[i].revents : short(0);
  return n;
}

int lastError() {
  return errno;
}

std::string errorText(int error) {
  return std::strerror(error);
}

Socket open(int family, int type, int protocol) {
  return ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

int close(Socket socket) {
  return ::close(socket);
}

int connect(Socket socket, const sockaddr* address, std::size_t length) {
  return ::connect(socket, address, socklen_t(length)) == 0 ? 0 : errno;
}

int pendingError(Socket socket) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(socket, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

void setNoDelay(Socket socket) {
  int one = 1;
  (void)::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::ptrdiff_t receiveFrom(Socket socket, void* buffer, std::size_t length, int flags,
                           sockaddr* from, int* fromLength) {
  socklen_t len = fromLength ? socklen_t(*fromLength) : 0;
  const auto n = ::recvfrom(socket, buffer, length, flags, from, fromLength ? &len : nullptr);
  if (fromLength) *fromLength = int(len);
  return n;
}

std::ptrdiff_t sendVector(Socket socket, const iovec* vector, int count) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(vector);
  msg.msg_iovlen = std::size_t(count);
  return ::sendmsg(socket, &msg, MSG_NOSIGNAL);  // a server that closed a TCP query: no SIGPIPE
}

bool parseAddress(int family, const std::string& text, void* address) {
  return ::inet_pton(family, text.c_str(), address) == 1;
}

std::string formatAddress(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (address->sa_family == AF_INET) {
    auto* in4 = reinterpret_cast<const sockaddr_in*>(address);
    if (::inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text)) return text;
  } else if (address->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text)) return text;
  }
  return "";
}

std::string_view defaultHost() {
  return "/var/run/postgresql";
}

Waker::Waker() {
  socket_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Waker::~Waker() {
  if (socket_ >= 0) ::close(socket_);
}

void Waker::wake() {
  if (socket_ < 0) return;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(socket_, &one, sizeof one);
}

void Waker::drain() {
  if (socket_ < 0) return;
  std::uint64_t value;
  [[maybe_unused]] auto n = ::read(socket_, &value, sizeof value);
}

}  // namespace pgvigil::net
