// A file descriptor that closes itself (RAII), for the few places pgvigil holds raw fds: the
// state file, sockets of the tcp probe, the command restarter's pipes.
#pragma once

#ifdef _WIN32
#include <io.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

namespace pgvigil {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  /// Gives the fd up without closing it.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  /// Closes the fd held (if any) and holds `fd` instead. False when close() itself failed: for
  /// a written file, data may be lost.
  bool reset(int fd = -1) {
    bool ok = true;
    if (fd_ >= 0) {
#ifdef _WIN32
      ok = ::_close(fd_) == 0;
#else
      ok = ::close(fd_) == 0;
#endif
    }
    fd_ = fd;
    return ok;
  }

 private:
  int fd_ = -1;
};

#ifndef _WIN32
/// Marks a descriptor close-on-exec, for one that a library opened without it (Poco's sockets).
/// Belt and braces: the process launcher closes every descriptor in the child anyway.
inline void setCloseOnExec(int fd) {
  if (fd < 0) return;
  int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0 && !(flags & FD_CLOEXEC)) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}
#endif

}  // namespace pgvigil
