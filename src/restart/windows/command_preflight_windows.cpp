// checkCommandPath on Windows: the program exists and is a file. Windows has no execute bit
// (and no uid): whether it may be run is only known when CreateProcessW tries. A bare name is
// searched as CreateProcessW searches it, less the agent's own and current directories: the
// system directory, the Windows directory, then PATH (';'-separated), with ".exe" appended
// when the name has no extension.
#include <windows.h>

#include <filesystem>
#include <system_error>

#include "restart/command_preflight.h"
#include "restart/windows/scm_win32.h"  // toWide, toUtf8

namespace pgvigil {
namespace {

namespace fs = std::filesystem;

/// Why `path` cannot be run, or "" when it can.
std::string whyNotRunnable(const std::string& path) {
  std::error_code ec;
  const auto st = fs::status(fs::path(toWide(path)), ec);
  if (ec || !fs::exists(st)) {
    if (ec && ec != std::errc::no_such_file_or_directory) return "cannot be read: " + ec.message();
    return "does not exist";
  }
  if (fs::is_directory(st)) return "is a directory";
  if (!fs::is_regular_file(st)) return "is not a regular file";
  return "";
}

bool hasDirectory(const std::string& program) {
  return program.find_first_of("/\\:") != std::string::npos;
}

std::string windowsDirectory(UINT (*get)(LPWSTR, UINT)) {
  wchar_t buf[MAX_PATH];
  const UINT n = get(buf, MAX_PATH);
  return n > 0 && n < MAX_PATH ? toUtf8(std::wstring_view(buf, n)) : std::string();
}

}  // namespace

RestartPathCheck checkCommandPath(const std::vector<std::string>& argv, std::string_view pathEnv) {
  if (argv.empty() || argv[0].empty()) return {false, "no command configured"};
  std::string program = argv[0];
  // CreateProcessW appends ".exe" to a name without an extension (and only then).
  if (fs::path(toWide(program)).extension().empty()) program += ".exe";
  if (hasDirectory(program)) {
    if (std::string why = whyNotRunnable(program); !why.empty())
      return {false, "command " + program + " " + why};
    return {};
  }
  std::vector<std::string> dirs;
  for (auto get : {&::GetSystemDirectoryW, &::GetWindowsDirectoryW})
    if (std::string d = windowsDirectory(get); !d.empty()) dirs.push_back(d);
  std::string_view rest = pathEnv;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    std::string dir(rest.substr(0, semi));
    if (!dir.empty()) dirs.push_back(dir);
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  std::string firstProblem;
  for (const auto& dir : dirs) {
    const std::string candidate =
        dir + (dir.back() == '\\' || dir.back() == '/' ? "" : "\\") + program;
    std::string why = whyNotRunnable(candidate);
    if (why.empty()) return {};
    if (firstProblem.empty() && why != "does not exist")
      firstProblem = "command " + candidate + " " + why;
  }
  return {false, !firstProblem.empty() ? firstProblem
                                       : "command '" + argv[0] + "' not found in PATH (" +
                                             std::string(pathEnv) + ")"};
}

}  // namespace pgvigil
