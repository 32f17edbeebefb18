// checkCommandPath on POSIX: stat() and access(X_OK), PATH searched as posix_spawnp does.
#include "restart/command_preflight.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pgvigil {
namespace {

std::string_view baseName(std::string_view path) {
  auto slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string uidText() {
  return "uid " + std::to_string(::geteuid());
}

/// Why `path` cannot be run, or "" when it can.
std::string whyNotRunnable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return errno == ENOENT || errno == ENOTDIR
               ? "does not exist"
               : std::string("cannot be read: ") + std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  if (::access(path.c_str(), X_OK) != 0)
    return "is not executable by this user (" + uidText() + ")";
  return "";
}

}  // namespace

RestartPathCheck checkCommandPath(const std::vector<std::string>& argv, std::string_view pathEnv) {
  if (argv.empty() || argv[0].empty()) return {false, "no command configured"};
  const std::string& program = argv[0];
  std::string resolved;
  if (program.find('/') != std::string::npos) {
    if (std::string why = whyNotRunnable(program); !why.empty())
      return {false, "command " + program + " " + why};
    resolved = program;
  } else {
    // As posix_spawnp: the first runnable match in PATH; a match that cannot be run is named
    // when no other one can.
    std::string firstProblem;
    std::string_view rest = pathEnv.empty() ? std::string_view("/bin:/usr/bin") : pathEnv;
    for (;;) {
      auto colon = rest.find(':');
      std::string dir(rest.substr(0, colon));
      if (dir.empty()) dir = ".";
      const std::string candidate = dir + "/" + program;
      std::string why = whyNotRunnable(candidate);
      if (why.empty()) {
        resolved = candidate;
        break;
      }
      if (firstProblem.empty() && why != "does not exist")
        firstProblem = "command " + candidate + " " + why;
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
    if (resolved.empty())
      return {false, !firstProblem.empty() ? firstProblem
                                           : "command '" + program + "' not found in PATH (" +
                                                 std::string(pathEnv) + ")"};
  }
  if (baseName(resolved) == "pg-restart") {
    const std::string pgdata = pgRestartDataDirectory(argv);
    if (pgdata.empty()) return {false, "pg-restart is given no data directory (PGDATA)"};
    struct stat st {};
    if (::stat(pgdata.c_str(), &st) != 0) {
      // EACCES: the directory may exist but be closed to this user (pg-restart may switch to
      // its owner); only a missing one is certain to fail.
      if (errno == ENOENT || errno == ENOTDIR)
        return {false, "data directory " + pgdata + " (pg-restart's PGDATA) does not exist"};
    } else if (!S_ISDIR(st.st_mode)) {
      return {false, "data directory " + pgdata + " (pg-restart's PGDATA) is not a directory"};
    }
  }
  return {};
}

}  // namespace pgvigil
