#include "support/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

extern char** environ;

namespace pgvigil::test {
namespace {

std::vector<std::string> mergedEnvironment(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> vars;
  std::vector<std::string> order;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    vars[entry.substr(0, eq)] = entry;
  }
  for (const auto& entry : extra) {
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(0, eq);
    if (eq + 1 == entry.size())
      vars.erase(name);
    else
      vars[name] = entry;
  }
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (auto& [name, entry] : vars) out.push_back(std::move(entry));
  return out;
}

std::vector<char*> cStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void childFail(int fd, int err) {
  // Async-signal-safe: report errno to the parent and leave without running atexit handlers.
  ssize_t ignored = write(fd, &err, sizeof err);
  (void)ignored;
  _exit(127);
}

}  // namespace

std::optional<UserIds> postgresUserIfRoot() {
  if (geteuid() != 0) return std::nullopt;
  struct passwd* pw = getpwnam("postgres");
  if (!pw) return std::nullopt;
  return UserIds{pw->pw_uid, pw->pw_gid};
}

pid_t spawnProcess(const SpawnOptions& options, std::string* error) {
  if (options.argv.empty()) {
    if (error) *error = "spawnProcess: empty argv";
    return -1;
  }
  std::vector<std::string> args = options.argv;
  std::vector<std::string> envs = mergedEnvironment(options.env);
  std::vector<char*> argv = cStrings(args);
  std::vector<char*> envp = cStrings(envs);
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();

  int errPipe[2];
  if (pipe2(errPipe, O_CLOEXEC) != 0) {
    if (error) *error = std::string("pipe2: ") + std::strerror(errno);
    return -1;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(errPipe[0]);
    close(errPipe[1]);
    if (error) *error = std::string("fork: ") + std::strerror(err);
    return -1;
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    if (options.new_process_group) setpgid(0, 0);
    int devnull = open("/dev/null", O_RDWR);
    int in = options.stdin_fd >= 0 ? options.stdin_fd : devnull;
    int out = options.stdout_fd >= 0 ? options.stdout_fd : devnull;
    int err = options.stderr_fd >= 0 ? options.stderr_fd : devnull;
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) childFail(errPipe[1], errno);
    if (options.gid) {
      if (setgroups(0, nullptr) != 0 || setgid(*options.gid) != 0) childFail(errPipe[1], errno);
    }
    if (options.uid && setuid(*options.uid) != 0) childFail(errPipe[1], errno);
    // After the credential change, which clears it.
    if (options.kill_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(126);
    }
    if (cwd && chdir(cwd) != 0) childFail(errPipe[1], errno);
    // Close every inherited descriptor except stdio and the error pipe (close-on-exec).
    for (int fd = 3; fd < 1024; ++fd)
      if (fd != errPipe[1]) close(fd);
    execve(argv[0], argv.data(), envp.data());
    childFail(errPipe[1], errno);
  }
  close(errPipe[1]);
  int childErr = 0;
  ssize_t n;
  do {
    n = read(errPipe[0], &childErr, sizeof childErr);
  } while (n < 0 && errno == EINTR);
  close(errPipe[0]);
  if (n > 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (error) *error = "cannot start " + options.argv[0] + ": " + std::strerror(childErr);
    return -1;
  }
  return pid;
}

}  // namespace pgvigil::test
