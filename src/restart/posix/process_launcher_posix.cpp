// process_launcher.h on POSIX: posix_spawnp into its own process group (PosixProcessLauncher).
#include "restart/process_launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "core/unique_fd.h"

extern char** environ;

namespace pgvigil {

namespace {

static_assert(kSignalTerm == SIGTERM && kSignalKill == SIGKILL);

std::string_view signalName(int sig) {
  switch (sig) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "";
  }
}

ExitStatus fromWaitStatus(int status) {
  ExitStatus s;
  if (WIFSIGNALED(status)) {
    s.signaled = true;
    s.signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    s.code = WEXITSTATUS(status);
  }
  return s;
}

class PosixChildProcess final : public ChildProcess {
 public:
  PosixChildProcess(pid_t pid, UniqueFd output, std::size_t outputLimit)
      : pid_(pid), output_(std::move(output)), captured_(outputLimit) {
    // Linux >= 5.3 (glibc 2.36 declares pidfd_open without C linkage); else short ticks.
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  }

  ~PosixChildProcess() override {
    if (reaped_) return;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != 0) return;
    // Killed but not gone yet (uninterruptible sleep): reap it later, never block the caller.
    std::thread([pid = pid_] {
      int st = 0;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
    }).detach();
  }

  pid_t pid() const override { return pid_; }

  bool waitExit(const Deadline& until) override {
    for (;;) {
      if (exited()) {
        drainOutput();
        return true;
      }
      auto left = until.remaining();
      if (left.count() <= 0) return false;
      pollfd fds[2];
      nfds_t n = 0;
      if (output_.get() >= 0) fds[n++] = {output_.get(), POLLIN, 0};
      if (pidfd_.get() >= 0) fds[n++] = {pidfd_.get(), POLLIN, 0};
      // Without a pidfd the exit is noticed by polling waitid in 20 ms ticks.
      auto tick = pidfd_.get() >= 0 ? left.count() : std::min<long long>(left.count(), 20);
      int rc = ::poll(fds, n, static_cast<int>(std::min<long long>(tick, 1000)));
      if (rc < 0 && errno != EINTR) return exited();
      if (output_.get() >= 0 && n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
        readOutput();
    }
  }

  void signalGroup(int signal) override {
    if (!reaped_) ::kill(-pid_, signal);
  }

  ExitStatus reap() override {
    if (reaped_) return status_;
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    if (r == pid_) {
      status_ = fromWaitStatus(status);
    } else {
      status_.lost = true;  // ECHILD: something else reaped our child
    }
    drainOutput();
    output_.reset();
    return status_;
  }

  const BoundedOutput& output() const override { return captured_; }

 private:
  /// True once the child is a zombie (or already gone). Does not reap it.
  bool exited() {
    if (reaped_) return true;
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) < 0)
      return errno == ECHILD;
    return info.si_pid == pid_;
  }

  /// Reads what is available now, without blocking.
  void readOutput() {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(output_.get(), buf, sizeof buf);
      if (n > 0) {
        captured_.append(std::string_view(buf, static_cast<std::size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) output_.reset();  // every writer has closed it
      return;
    }
  }

  /// After the exit: what is still in the pipe. A daemon the command left behind may hold the
  /// pipe open and keep writing, so this reads what is there now and never waits for EOF.
  void drainOutput() {
    if (output_.get() < 0) return;
    for (int i = 0; i < 64 && output_.get() >= 0; ++i) {
      pollfd p{output_.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) return;
      std::size_t before = captured_.total();
      readOutput();
      if (captured_.total() == before) return;
    }
  }

  pid_t pid_;
  UniqueFd output_;
  UniqueFd pidfd_;
  BoundedOutput captured_;
  bool reaped_ = false;
  ExitStatus status_;
};

/// posix_spawn attributes and file actions, destroyed on every path.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

/// Whether the kernel has close_range(2) (Linux 5.9). close_range(1, 0, 0) has first > last:
/// EINVAL where the call exists, ENOSYS where it does not; it closes nothing either way.
bool kernelHasCloseRange() {
#ifdef SYS_close_range
  static const bool has = ::syscall(SYS_close_range, 1U, 0U, 0U) == 0 || errno != ENOSYS;
  return has;
#else
  return false;
#endif
}

/// One past the highest descriptor this process can hold: the RLIMIT_NOFILE soft limit, capped
/// at 2^20 (the kernel's default nr_open) so the fallback's list of close actions stays bounded.
int descriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    return static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1U << 20));
  long max = ::sysconf(_SC_OPEN_MAX);
  return max > 0 ? static_cast<int>(std::min<long>(max, 1L << 20)) : 1024;
}

/// Adds the file actions that close every descriptor from 3 up in the child, after stdin,
/// stdout and stderr are in place: the child (a restart command, and the postmaster it starts)
/// must hold nothing of the agent's — not the HTTP listener, not an open HTTP connection, not
/// the Docker event socket, not the log file. Poco opens its sockets and files without
/// close-on-exec, so closing in the child is the rule that covers them all.
///
/// glibc runs these actions in the spawned child before exec with raw system calls only, so
/// nothing that is not async-signal-safe runs between the clone and the exec of this
/// multi-threaded process.
int addCloseDescriptors(posix_spawn_file_actions_t* actions, DescriptorClosing how) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // close_range(3, ~0U, 0) in the child; on a kernel without it, glibc closes what
  // /proc/self/fd lists (and the spawn fails if it cannot, so /proc must be readable).
  if (how == DescriptorClosing::kAuto &&
      (kernelHasCloseRange() || ::access("/proc/self/fd", R_OK) == 0))
    return ::posix_spawn_file_actions_addclosefrom_np(actions, 3);
#endif
  // The fallback: close() each descriptor below the soft limit (glibc ignores EBADF for these).
  (void)how;
  const int limit = descriptorLimit();
  for (int fd = 3; fd < limit; ++fd)
    if (int rc = ::posix_spawn_file_actions_addclose(actions, fd); rc != 0) return rc;
  return 0;
}

}  // namespace

std::string describe(const ExitStatus& status) {
  if (status.lost) return "exit status lost";
  if (!status.signaled) return "exited " + std::to_string(status.code);
  std::string s = "killed by signal " + std::to_string(status.signal);
  auto name = signalName(status.signal);
  if (!name.empty()) s += " (" + std::string(name) + ")";
  return s;
}

std::string describeSpawnError(int error, std::string_view program) {
  switch (error) {
    case ENOENT:
      return "no such file: " + std::string(program);
    case EACCES:
      return "permission denied: " + std::string(program);
    case ENOEXEC:
      return "not an executable: " + std::string(program);
    default:
      return "cannot run " + std::string(program) + ": " + std::strerror(error);
  }
}

SpawnResult PosixProcessLauncher::spawn(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty()) return {nullptr, ENOENT};
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) return {nullptr, errno};
  UniqueFd readEnd(pipeFds[0]);
  UniqueFd writeEnd(pipeFds[1]);

  SpawnSetup setup;
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, writeEnd.get(), 1);
  posix_spawn_file_actions_adddup2(&setup.actions, writeEnd.get(), 2);
  // After the dup2s (actions run in order): the pipe's own descriptor goes too.
  if (int err = addCloseDescriptors(&setup.actions, closing_); err != 0) return {nullptr, err};

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = 0;
  // glibc reports exec failures (ENOENT, EACCES) as posix_spawnp's return value.
  int rc = ::posix_spawnp(&pid, args[0], &setup.actions, &setup.attr, args.data(), environ);
  if (rc != 0) return {nullptr, rc};
  writeEnd.reset();  // only the child writes; EOF once it and its descendants close it
  ::fcntl(readEnd.get(), F_SETFL, ::fcntl(readEnd.get(), F_GETFL) | O_NONBLOCK);
  return {std::make_unique<PosixChildProcess>(pid, std::move(readEnd), outputLimit_), 0};
}

ProcessLauncherPtr makeProcessLauncher(std::size_t outputLimit) {
  return std::make_unique<PosixProcessLauncher>(outputLimit);
}

}  // namespace pgvigil
