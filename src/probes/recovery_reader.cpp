#include "probes/recovery_reader.h"

#include <cctype>
#include <fstream>
#include <optional>
#include <system_error>
#include <vector>

namespace pgvigil {
namespace {

namespace fs = std::filesystem;

/// At most `limit` bytes from the start (or, with `tail`, the last `limit` bytes); nullopt when
/// the file cannot be opened.
std::optional<std::string> readBounded(const fs::path& path, std::size_t limit, bool tail = false) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  if (tail) {
    in.seekg(0, std::ios::end);
    const auto size = static_cast<long long>(in.tellg());
    if (size > static_cast<long long>(limit))
      in.seekg(size - static_cast<long long>(limit));
    else
      in.seekg(0);
  }
  std::string out(limit, '\0');
  in.read(out.data(), static_cast<std::streamsize>(limit));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

/// The parent pid in /proc/PID/stat (the field after the state, which follows the last ')').
std::optional<long> parentOf(const fs::path& procDir) {
  auto stat = readBounded(procDir / "stat", 1024);
  if (!stat) return std::nullopt;
  const auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::size_t i = close + 1;
  auto skipSpaces = [&] {
    while (i < stat->size() && (*stat)[i] == ' ') ++i;
  };
  skipSpaces();
  while (i < stat->size() && (*stat)[i] != ' ') ++i;  // state
  skipSpaces();
  long ppid = 0;
  bool digits = false;
  while (i < stat->size() && std::isdigit(static_cast<unsigned char>((*stat)[i]))) {
    ppid = ppid * 10 + ((*stat)[i++] - '0');
    digits = true;
  }
  if (!digits) return std::nullopt;
  return ppid;
}

/// The activity of the postmaster's startup process, when it has one.
std::optional<std::string> startupOf(long postmaster, const fs::path& procRoot) {
  std::error_code ec;
  for (fs::directory_iterator it(procRoot, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (parentOf(it->path()) != postmaster) continue;
    auto cmdline = readBounded(it->path() / "cmdline", 4096);
    if (!cmdline) continue;
    if (auto activity = startupActivity(*cmdline)) return activity;
  }
  return std::nullopt;
}

/// The pid file's postmaster is a postgres process of this data directory: a pid read through a
/// container's bind mount is the container's own (often 1), another process on this host.
bool isPostmasterOf(long pid, const std::string& dataDir, const fs::path& procRoot,
                    std::string* problem) {
  const fs::path dir = procRoot / std::to_string(pid);
  auto cmdline = readBounded(dir / "cmdline", 4096);
  if (!cmdline) {
    *problem = "postmaster.pid names pid " + std::to_string(pid) + ", which is not running here";
    return false;
  }
  const std::string argv0 = cmdline->substr(0, cmdline->find('\0'));
  if (argv0.find("postgres") == std::string::npos &&
      argv0.find("postmaster") == std::string::npos) {
    *problem = "postmaster.pid names pid " + std::to_string(pid) +
               ", which is not a postgres process on this host (a container's pid?)";
    return false;
  }
  // Its working directory is the data directory; unreadable without the server's user: then
  // the name above has to do.
  std::error_code ec;
  const fs::path cwd = fs::read_symlink(dir / "cwd", ec);
  if (!ec) {
    const fs::path want = fs::weakly_canonical(dataDir, ec);
    if (!ec && cwd != want) {
      *problem = "postmaster.pid names pid " + std::to_string(pid) + ", whose directory is " +
                 cwd.string() + ", not " + want.string();
      return false;
    }
  }
  return true;
}

std::string withoutTrailingSlash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

/// The postmaster of `dataDir` found by its command line (`postgres -D DATADIR`, also
/// `-DDATADIR` and `--pgdata=DATADIR`), which /proc shows to every user: for when postmaster.pid
/// cannot be read (a data directory of mode 0700 whose owner the agent is not, as Debian's).
std::optional<long> postmasterByCommandLine(const std::string& dataDir, const fs::path& procRoot) {
  const std::string want = withoutTrailingSlash(dataDir);
  std::error_code ec;
  for (fs::directory_iterator it(procRoot, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto cmdline = readBounded(it->path() / "cmdline", 4096);
    if (!cmdline || cmdline->empty()) continue;
    std::vector<std::string> args;
    for (std::size_t at = 0; at < cmdline->size();) {
      const auto nul = cmdline->find('\0', at);
      args.push_back(cmdline->substr(at, nul == std::string::npos ? std::string::npos : nul - at));
      if (nul == std::string::npos) break;
      at = nul + 1;
    }
    if (args[0].find("postgres") == std::string::npos &&
        args[0].find("postmaster") == std::string::npos)
      continue;
    for (std::size_t i = 1; i < args.size(); ++i) {
      std::string dir;
      if (args[i] == "-D" && i + 1 < args.size())
        dir = args[i + 1];
      else if (args[i].rfind("--pgdata=", 0) == 0)
        dir = args[i].substr(9);
      else if (args[i].rfind("-D", 0) == 0 && args[i].size() > 2)
        dir = args[i].substr(2);
      if (!dir.empty() && withoutTrailingSlash(dir) == want) return std::stol(name);
    }
  }
  return std::nullopt;
}

}  // namespace

RecoveryReading readRecoveryProgress(const RecoverySources& sources, const fs::path& procRoot) {
  RecoveryReading r;
  std::string sourceList, valueList, problem;
  auto add = [&](std::string_view source, const std::string& value) {
    if (!sourceList.empty()) {
      sourceList += ',';
      valueList += "; ";
    }
    sourceList += source;
    valueList += value;
  };
  if (!sources.data_dir.empty()) {
    const fs::path pidFile = fs::path(sources.data_dir) / "postmaster.pid";
    auto text = readBounded(pidFile, 4096);
    std::optional<PostmasterPid> pm;
    if (!text) {
      problem = "cannot read " + pidFile.string();
      if (auto pid = postmasterByCommandLine(sources.data_dir, procRoot)) {
        pm = PostmasterPid{*pid, ""};
        problem.clear();
      }
    } else if (!(pm = parsePostmasterPid(*text))) {
      problem = pidFile.string() + " is not a postmaster.pid";
    }
    if (pm) {
      r.server_status = pm->status;
      std::optional<std::string> activity;
      if (isPostmasterOf(pm->pid, sources.data_dir, procRoot, &problem))
        activity = startupOf(pm->pid, procRoot);
      if (activity)
        add(kProgressStartupProcess, *activity);
      else if (!pm->status.empty() && problem.empty())
        add(kProgressPostmasterPid, pm->status);
    }
  }
  if (!sources.log_file.empty()) {
    auto tail = readBounded(sources.log_file, 64 * 1024, /*tail=*/true);
    if (!tail) {
      if (problem.empty()) problem = "cannot read " + sources.log_file;
    } else if (auto lsn = lastRedoProgress(*tail)) {
      add(kProgressServerLog, *lsn);
    } else if (problem.empty() && sourceList.empty()) {
      problem = "no \"redo in progress\" line in " + sources.log_file +
                " (log_startup_progress_interval, PG15+, crash recovery only)";
    }
  }
  if (sources.data_dir.empty() && sources.log_file.empty())
    problem = "no data directory or server log known (recovery.data_dir, recovery.log_file)";
  r.source = sourceList;
  r.value = valueList;
  if (r.source.empty()) r.problem = problem;
  return r;
}

}  // namespace pgvigil
