// The few socket system calls the probes and the agent make themselves (the tcp check, the
// resolver's sockets, waiting on libpq's socket, the watcher's wakeup), behind one interface with
// a POSIX and a Windows implementation picked by CMake (probes/posix/net_posix.cpp,
// probes/windows/net_windows.cpp). The network logic stays in the shared files: only the calls
// differ (poll vs select, close vs closesocket, errno vs WSAGetLastError, SOCK_CLOEXEC vs
// handles that are never inherited). No system socket header is included here, so that
// <windows.h>'s macros stay out of the files that use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

struct sockaddr;
#ifdef _WIN32
/// c-ares declares `struct iovec` and hands its socket functions an array of them; Windows has
/// none, so this is c-ares's own definition (ares_writev.h), which its Windows build uses.
struct iovec {
  void* iov_base;
  std::size_t iov_len;
};
#else
#include <sys/uio.h>
#endif

namespace pgvigil::net {

#ifdef _WIN32
using Socket = std::uintptr_t;  ///< SOCKET
inline constexpr Socket kNoSocket = ~Socket{0};
#else
using Socket = int;
inline constexpr Socket kNoSocket = -1;
#endif

/// The socket of a libpq connection (PQsocket() is an int on every platform; -1: none).
Socket fromLibpq(int socket);

/// poll(2)'s event bits (the same values as Linux's POLLIN, POLLOUT, POLLERR, POLLHUP).
inline constexpr short kReadable = 0x001;
inline constexpr short kWritable = 0x004;
inline constexpr short kError = 0x008;
inline constexpr short kHangup = 0x010;

struct PollFd {
  Socket fd = kNoSocket;
  short events = 0;
  short revents = 0;  ///< set by poll(); kError/kHangup are reported even when not asked for
};

/// Waits until one of `fds` is ready or `timeoutMs` passes (negative: no limit). As poll(2):
/// the number of ready entries, 0 on timeout, -1 on error (lastError(); EINTR: call again).
/// Entries with fd == kNoSocket or no events are ignored.
int poll(PollFd* fds, std::size_t count, int timeoutMs);

/// The error of the last failed call of this interface (on this thread), as an errno value
/// (ECONNREFUSED, ETIMEDOUT, EINPROGRESS, ...): Windows' WSA codes are mapped to them, so that
/// the probes classify failures in one vocabulary.
int lastError();
/// strerror() for the values lastError() returns, the same text on every platform
/// ("Connection refused").
std::string errorText(int error);

/// A non-blocking socket that no child process inherits (SOCK_CLOEXEC; on Windows not
/// inheritable). kNoSocket on failure (lastError()). Starts Winsock once per process.
Socket open(int family, int type, int protocol = 0);
int close(Socket socket);
/// connect(): 0 when connected at once, else the errno value (EINPROGRESS: wait for kWritable,
/// then pendingError()).
int connect(Socket socket, const sockaddr* address, std::size_t length);
/// SO_ERROR: the outcome of a non-blocking connect (0: connected).
int pendingError(Socket socket);
/// TCP_NODELAY on.
void setNoDelay(Socket socket);
/// recvfrom()/sendmsg() for c-ares: -1 with lastError() on failure. Never raises SIGPIPE.
/// Every call leaves the system's own error (errno, WSAGetLastError()) as the system set it,
/// which is what c-ares reads after a socket function of its own fails.
std::ptrdiff_t receiveFrom(Socket socket, void* buffer, std::size_t length, int flags,
                           sockaddr* from, int* fromLength);
std::ptrdiff_t sendVector(Socket socket, const iovec* vector, int count);

/// inet_pton() for AF_INET / AF_INET6: true when `text` is an address of `family`.
bool parseAddress(int family, const std::string& text, void* address);
/// The numeric text of an AF_INET / AF_INET6 address, "" for anything else.
std::string formatAddress(const sockaddr* address);

/// Where the probes look for a server when the conninfo and $PGHOST name none, as libpq does:
/// the socket directory /var/run/postgresql on POSIX, "localhost" on Windows.
std::string_view defaultHost();

/// A socket that closes itself.
class UniqueSocket {
 public:
  UniqueSocket() = default;
  explicit UniqueSocket(Socket s) : socket_(s) {}
  UniqueSocket(UniqueSocket&& other) noexcept : socket_(other.release()) {}
  UniqueSocket& operator=(UniqueSocket&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueSocket(const UniqueSocket&) = delete;
  UniqueSocket& operator=(const UniqueSocket&) = delete;
  ~UniqueSocket() { reset(); }

  Socket get() const { return socket_; }
  bool valid() const { return socket_ != kNoSocket; }
  Socket release() {
    Socket s = socket_;
    socket_ = kNoSocket;
    return s;
  }
  void reset(Socket s = kNoSocket) {
    if (socket_ != kNoSocket) net::close(socket_);
    socket_ = s;
  }

 private:
  Socket socket_ = kNoSocket;
};

/// Wakes a thread that waits in poll(): its pollable() socket turns readable after wake(), until
/// drain(). An eventfd on Linux; on Windows, where only sockets can be polled, a UDP socket on
/// the loopback interface connected to itself. wake() is safe from any thread and never blocks.
class Waker {
 public:
  Waker();
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  /// kNoSocket when it could not be made (then poll() simply times out as usual).
  Socket pollable() const { return socket_; }
  void wake();
  void drain();

 private:
  Socket socket_ = kNoSocket;
};

}  // namespace pgvigil::net
