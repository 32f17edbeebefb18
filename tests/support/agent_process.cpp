#include "support/agent_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "support/pg_cluster.h"
#include "support/spawn.h"

namespace pgvigil::test {
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

struct AgentProcess::Impl {
  pid_t pid = -1;
  int outFd = -1;
  int errFd = -1;
  std::optional<int> exitCode;  ///< set once reaped

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::vector<OutputLine> lines;
  bool drained = false;  ///< both pipes reached EOF (or the reader was stopped)
  std::atomic<bool> stop{false};
  std::thread reader;

  void readLoop() {
    std::string partial[2];
    bool open[2] = {outFd >= 0, errFd >= 0};
    int fds[2] = {outFd, errFd};
    while ((open[0] || open[1]) && !stop.load()) {
      pollfd pfds[2];
      int n = 0;
      int which[2];
      for (int i = 0; i < 2; ++i)
        if (open[i]) {
          pfds[n] = {fds[i], POLLIN, 0};
          which[n++] = i;
        }
      int rc = poll(pfds, n, 100);
      if (rc < 0 && errno != EINTR) break;
      for (int k = 0; k < n && rc > 0; ++k) {
        if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        int i = which[k];
        char buf[4096];
        ssize_t got = read(fds[i], buf, sizeof buf);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) {
          open[i] = false;
          if (!partial[i].empty()) push(i, std::move(partial[i]));
          continue;
        }
        partial[i].append(buf, size_t(got));
        for (size_t nl; (nl = partial[i].find('\n')) != std::string::npos;) {
          std::string line = partial[i].substr(0, nl);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          partial[i].erase(0, nl + 1);
          push(i, std::move(line));
        }
      }
    }
    std::lock_guard lock(mutex);
    drained = true;
    changed.notify_all();
  }

  void push(int stream, std::string text) {
    std::lock_guard lock(mutex);
    lines.push_back(
        {stream == 0 ? OutputLine::Stream::kStdout : OutputLine::Stream::kStderr, std::move(text)});
    changed.notify_all();
  }

  bool reap(int flags) {
    if (exitCode) return true;
    int status = 0;
    pid_t r = waitpid(pid, &status, flags);
    if (r == pid) {
      exitCode = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
      Subreaper::instance().disown(pid);
      return true;
    }
    if (r < 0 && errno == ECHILD) {
      exitCode = -1;  // reaped by someone else: gone, status unknown
      Subreaper::instance().disown(pid);
      return true;
    }
    return false;
  }
};

AgentProcess::AgentProcess(AgentProcessOptions options) : impl_(new Impl) {
  std::unique_ptr<Impl> guard(impl_);
  Subreaper::instance();  // orphans of the agent's restart commands are reaped
  const bool ownStdout = options.stdout_fd < 0;
  int out[2] = {-1, -1}, err[2];
  if (ownStdout && pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error("AgentProcess: pipe failed");
  if (pipe2(err, O_CLOEXEC) != 0) {
    if (ownStdout) {
      close(out[0]);
      close(out[1]);
    }
    throw std::runtime_error("AgentProcess: pipe failed");
  }
  SpawnOptions so;
  so.argv.push_back(options.binary);
  so.argv.insert(so.argv.end(), options.args.begin(), options.args.end());
  so.env = options.env;
  so.cwd = options.cwd;
  so.stdout_fd = ownStdout ? out[1] : options.stdout_fd;
  so.stderr_fd = err[1];
  so.new_process_group = true;
  std::string error;
  pid_t pid = spawnProcess(so, &error);
  if (ownStdout) close(out[1]);
  close(err[1]);
  if (pid < 0) {
    if (ownStdout) close(out[0]);
    close(err[0]);
    throw std::runtime_error("AgentProcess: " + error);
  }
  Subreaper::instance().own(pid);
  impl_->pid = pid;
  impl_->outFd = out[0];
  impl_->errFd = err[0];
  impl_->reader = std::thread([this] { impl_->readLoop(); });
  guard.release();
}

AgentProcess::~AgentProcess() {
  if (!impl_->reap(WNOHANG)) {
    ::kill(-impl_->pid, SIGKILL);  // its own process group: the agent and its children
    ::kill(impl_->pid, SIGKILL);
    impl_->reap(0);
  }
  // A grandchild may still hold the pipes open: stop the reader after a short drain.
  {
    std::unique_lock lock(impl_->mutex);
    impl_->changed.wait_for(lock, 500ms, [&] { return impl_->drained; });
  }
  impl_->stop = true;
  if (impl_->reader.joinable()) impl_->reader.join();
  if (impl_->outFd >= 0) close(impl_->outFd);
  close(impl_->errFd);
  delete impl_;
}

pid_t AgentProcess::pid() const {
  return impl_->pid;
}

std::vector<OutputLine> AgentProcess::lines() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->lines;
}

size_t AgentProcess::lineCount() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->lines.size();
}

std::string AgentProcess::output() const {
  std::lock_guard lock(impl_->mutex);
  std::string out;
  for (const auto& l : impl_->lines) {
    out += l.text;
    out += '\n';
  }
  return out;
}

std::optional<std::string> AgentProcess::waitForLine(
    const std::function<bool(const std::string&)>& match, std::chrono::milliseconds timeout,
    size_t from) {
  auto until = SteadyClock::now() + timeout;
  std::unique_lock lock(impl_->mutex);
  size_t next = from;
  for (;;) {
    for (; next < impl_->lines.size(); ++next)
      if (match(impl_->lines[next].text)) return impl_->lines[next].text;
    if (impl_->drained) return std::nullopt;
    if (impl_->changed.wait_until(lock, until) == std::cv_status::timeout) {
      for (; next < impl_->lines.size(); ++next)
        if (match(impl_->lines[next].text)) return impl_->lines[next].text;
      return std::nullopt;
    }
  }
}

std::optional<std::string> AgentProcess::waitForLine(const std::string& text,
                                                     std::chrono::milliseconds timeout,
                                                     size_t from) {
  return waitForLine([&](const std::string& line) { return line.find(text) != std::string::npos; },
                     timeout, from);
}

void AgentProcess::signal(int sig) {
  if (!impl_->reap(WNOHANG)) ::kill(impl_->pid, sig);
}

std::optional<int> AgentProcess::wait(std::chrono::milliseconds timeout) {
  auto until = SteadyClock::now() + timeout;
  while (!impl_->reap(WNOHANG)) {
    if (SteadyClock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
  return impl_->exitCode;
}

bool AgentProcess::running() {
  return !impl_->reap(WNOHANG);
}

}  // namespace pgvigil::test
