// net.h on Windows: Winsock 2. Differences from POSIX that this file absorbs:
// - Waiting uses select(), not WSAPoll(): WSAPoll does not report a failed connect (refused,
//   unreachable) on Windows before 10 version 2004 / Server 2022, so the tcp check would see a
//   refused port as a timeout; select() reports it in the exception set on every version.
// - Errors come from WSAGetLastError() and are mapped to the errno values the probes classify.
// - A socket is created not inheritable (WSA_FLAG_NO_HANDLE_INHERIT), the counterpart of
//   SOCK_CLOEXEC; the process launcher also passes an explicit handle list.
// - Only sockets can be waited on, so the watcher's Waker is a loopback UDP socket.
#define FD_SETSIZE 1024  // Windows' fd_set is a counted array: this is its capacity
#include <winsock2.h>
#include <ws2tcpip.h>

#include <windows.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "probes/net.h"

namespace pgvigil::net {
namespace {

/// WSAStartup once per process, before the first socket; never cleaned up (libpq and c-ares
/// make their own WSAStartup calls, which count up Winsock's reference).
bool started() {
  static const bool ok = [] {
    WSADATA data;
    return ::WSAStartup(MAKEWORD(2, 2), &data) == 0;
  }();
  return ok;
}

int mapError(int wsa) {
  switch (wsa) {
    case WSAECONNREFUSED:
      return ECONNREFUSED;
    case WSAECONNRESET:
      return ECONNRESET;
    case WSAECONNABORTED:
      return ECONNABORTED;
    case WSAETIMEDOUT:
      return ETIMEDOUT;
    case WSAEHOSTUNREACH:
      return EHOSTUNREACH;
    case WSAENETUNREACH:
      return ENETUNREACH;
    case WSAENETDOWN:
      return ENETDOWN;
    case WSAEADDRNOTAVAIL:
      return EADDRNOTAVAIL;
    case WSAEADDRINUSE:
      return EADDRINUSE;
    case WSAEAFNOSUPPORT:
      return EAFNOSUPPORT;
    case WSAEINPROGRESS:
      return EINPROGRESS;
    case WSAEWOULDBLOCK:
      return EWOULDBLOCK;
    case WSAEACCES:
      return EACCES;
    case WSAEINTR:
      return EINTR;
    case WSAEINVAL:
      return EINVAL;
    case WSAEMFILE:
      return EMFILE;
    case WSAENOBUFS:
      return ENOBUFS;
    case WSAENOTSOCK:
      return ENOTSOCK;
    case WSAENOTCONN:
      return ENOTCONN;
    default:
      return wsa;  // unmapped: the WSA code itself (10000 and up), errorText() knows it
  }
}

thread_local int tLastError = 0;

int fail(int wsa) {
  tLastError = mapError(wsa);
  return tLastError;
}

}  // namespace

Socket fromLibpq(int socket) {
  return socket < 0 ? kNoSocket : Socket(static_cast<unsigned int>(socket));
}

int poll(PollFd* fds, std::size_t count, int timeoutMs) {
  fd_set readSet, writeSet, exceptSet;
  FD_ZERO(&readSet);
  FD_ZERO(&writeSet);
  FD_ZERO(&exceptSet);
  std::size_t used = 0;
  for (std::size_t i = 0; i < count; ++i) {
    fds[i].revents = 0;
    if (fds[i].fd == kNoSocket || fds[i].events == 0) continue;
    if (++used > FD_SETSIZE) {
      tLastError = EINVAL;
      return -1;
    }
    const SOCKET s = fds[i].fd;
    if (fds[i].events & kReadable) FD_SET(s, &readSet);
    if (fds[i].events & kWritable) FD_SET(s, &writeSet);
    FD_SET(s, &exceptSet);  // a failed non-blocking connect (or urgent data, never sent here)
  }
  if (used == 0) {  // select() with no socket is an error on Windows, not a sleep
    if (timeoutMs > 0) ::Sleep(DWORD(timeoutMs));
    return 0;
  }
  timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  const int n = ::select(0, &readSet, &writeSet, &exceptSet, timeoutMs < 0 ? nullptr : &tv);
  if (n == SOCKET_ERROR) {
    fail(::WSAGetLastError());
    return -1;
  }
  int ready = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (fds[i].fd == kNoSocket || fds[i].events == 0) continue;
    const SOCKET s = fds[i].fd;
    short r = 0;
    if (FD_ISSET(s, &readSet)) r |= kReadable;
    if (FD_ISSET(s, &writeSet)) r |= kWritable;
    if (FD_ISSET(s, &exceptSet)) r |= kError;
    fds[i].revents = r;
    if (r) ++ready;
  }
  return ready;
}

int lastError() {
  return tLastError;
}

std::string errorText(int error) {
  switch (error) {  // as glibc says it, so that messages read the same on every platform
    case ECONNREFUSED:
      return "Connection refused";
    case ECONNRESET:
      return "Connection reset by peer";
    case ECONNABORTED:
      return "Software caused connection abort";
    case ETIMEDOUT:
      return "Connection timed out";
    case EHOSTUNREACH:
      return "No route to host";
    case ENETUNREACH:
      return "Network is unreachable";
    case ENETDOWN:
      return "Network is down";
    case EADDRNOTAVAIL:
      return "Cannot assign requested address";
    case EADDRINUSE:
      return "Address already in use";
    case EAFNOSUPPORT:
      return "Address family not supported by protocol";
    case EINPROGRESS:
      return "Operation now in progress";
    case EWOULDBLOCK:
    case EAGAIN:
      return "Resource temporarily unavailable";
    case ENAMETOOLONG:
      return "File name too long";
    case ENOBUFS:
      return "No buffer space available";
    case ENOTSOCK:
      return "Socket operation on non-socket";
    case ENOTCONN:
      return "Transport endpoint is not connected";
    default:
      break;
  }
  if (error >= WSABASEERR) {
    wchar_t* text = nullptr;
    const DWORD n = ::FormatMessageW(
        FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
        nullptr, DWORD(error), 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
    std::string out;
    if (n > 0 && text) {
      const int len = ::WideCharToMultiByte(CP_UTF8, 0, text, int(n), nullptr, 0, nullptr, nullptr);
      out.resize(std::size_t(std::max(len, 0)));
      ::WideCharToMultiByte(CP_UTF8, 0, text, int(n), out.data(), len, nullptr, nullptr);
      ::LocalFree(text);
      while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == '.'))
        out.pop_back();
    }
    if (out.empty()) out = "Winsock error";
    return out + " (" + std::to_string(error) + ")";
  }
  return std::strerror(error);
}

Socket open(int family, int type, int protocol) {
  if (!started()) {
    tLastError = ENETDOWN;
    return kNoSocket;
  }
  SOCKET s = ::WSASocketW(family, type, protocol, nullptr, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET) {
    fail(::WSAGetLastError());
    return kNoSocket;
  }
  // Belt and braces where the flag is not honoured (older Windows, Wine).
  ::SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0);
  u_long nonBlocking = 1;
  if (::ioctlsocket(s, FIONBIO, &nonBlocking) != 0) {
    fail(::WSAGetLastError());
    ::closesocket(s);
    return kNoSocket;
  }
  return s;
}

int close(Socket socket) {
  return ::closesocket(socket) == 0 ? 0 : -1;
}

int connect(Socket socket, const sockaddr* address, std::size_t length) {
  if (::connect(socket, address, int(length)) == 0) return 0;
  const int wsa = ::WSAGetLastError();
  // A non-blocking connect under way is WSAEWOULDBLOCK on Windows, EINPROGRESS on POSIX.
  if (wsa == WSAEWOULDBLOCK) return tLastError = EINPROGRESS;
  return fail(wsa);
}

int pendingError(Socket socket) {
  int err = 0;
  int len = sizeof err;
  if (::getsockopt(socket, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err), &len) != 0)
    return fail(::WSAGetLastError());
  return err == 0 ? 0 : mapError(err);
}

void setNoDelay(Socket socket) {
  BOOL one = TRUE;
  (void)::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one),
                     sizeof one);
}

std::ptrdiff_t receiveFrom(Socket socket, void* buffer, std::size_t length, int flags,
                           sockaddr* from, int* fromLength) {
  const int n = ::recvfrom(socket, static_cast<char*>(buffer),
                           int(std::min<std::size_t>(length, INT_MAX)), flags, from, fromLength);
  if (n == SOCKET_ERROR) {
    fail(::WSAGetLastError());
    // c-ares reads errno (SOCKERRNO is WSAGetLastError() in its Windows build): keep it.
    return -1;
  }
  return n;
}

std::ptrdiff_t sendVector(Socket socket, const iovec* vector, int count) {
  std::vector<WSABUF> buffers(std::size_t(std::max(count, 0)));
  for (int i = 0; i < count; ++i) {
    buffers[std::size_t(i)].buf = static_cast<char*>(vector[i].iov_base);
    buffers[std::size_t(i)].len = ULONG(vector[i].iov_len);
  }
  DWORD sent = 0;
  if (::WSASend(socket, buffers.data(), DWORD(buffers.size()), &sent, 0, nullptr, nullptr) != 0) {
    fail(::WSAGetLastError());
    return -1;
  }
  return std::ptrdiff_t(sent);
}

bool parseAddress(int family, const std::string& text, void* address) {
  started();
  return ::inet_pton(family, text.c_str(), address) == 1;
}

std::string formatAddress(const sockaddr* address) {
  started();
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
  return "localhost";  // libpq's default on Windows (no default socket directory)
}

Waker::Waker() {
  UniqueSocket s(open(AF_INET, SOCK_DGRAM, IPPROTO_UDP));
  if (!s.valid()) return;
  sockaddr_in self{};
  self.sin_family = AF_INET;
  self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int len = sizeof self;
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&self), len) != 0 ||
      ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&self), &len) != 0 ||
      ::connect(s.get(), reinterpret_cast<sockaddr*>(&self), len) != 0)
    return;
  socket_ = s.release();
}

Waker::~Waker() {
  if (socket_ != kNoSocket) ::closesocket(socket_);
}

void Waker::wake() {
  if (socket_ == kNoSocket) return;
  const char one = 1;
  (void)::send(socket_, &one, 1, 0);  // non-blocking: a full buffer means it is awake already
}

void Waker::drain() {
  if (socket_ == kNoSocket) return;
  char buf[64];
  for (int i = 0; i < 1024 && ::recv(socket_, buf, sizeof buf, 0) > 0; ++i) {
  }
}

}  // namespace pgvigil::net
