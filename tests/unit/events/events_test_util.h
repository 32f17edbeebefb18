// Helpers shared by the events layer's tests.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/alert_event.h"

namespace pgvigil::test {

/// A fresh directory under the temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  // A random name created exclusively (create_directory is false when it exists): mkdtemp is
  // POSIX only, and these tests also run as Windows .exes (tests/windows/unit).
  TempDir() {
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto p = std::filesystem::temp_directory_path() /
               ("pgvigil-events-" + std::to_string(rd()) + std::to_string(rd()));
      if (std::filesystem::create_directory(p)) {
        path_ = p;
        return;
      }
    }
    throw std::runtime_error("cannot create a temp directory");
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// How pgvigil's log file ends a line: the platform's own. On Windows Poco's FileChannel writes
/// CRLF, which Windows' own tools expect (docs/windows.md "The log file").
#if defined(_WIN32)
inline const std::string kFileEol = "\r\n";
#else
inline const std::string kFileEol = "\n";
#endif

/// A log file's lines, each cut at kFileEol. A line that is not ended that way (a bare "\n" on
/// Windows, a torn last line) keeps what is left of it, so that the caller's match fails on it.
inline std::vector<std::string> fileLines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find(kFileEol, pos);
    if (end == std::string::npos) {
      lines.push_back(text.substr(pos) + "<no end of line>");
      break;
    }
    lines.push_back(text.substr(pos, end - pos));
    pos = end + kFileEol.size();
  }
  return lines;
}

inline AlertEvent sampleEvent(EventLevel level = EventLevel::kError) {
  using namespace std::chrono;
  AlertEvent e;
  e.ts = WallTime{duration_cast<WallTime::duration>(sys_days{2026y / 11 / 22}.time_since_epoch() +
                                                    13h + 123ms)};
  e.level = level;
  e.event = "target_unhealthy";
  e.target = "main";
  e.state = TargetState::kUnhealthy;
  e.previous_state = TargetState::kHealthy;
  e.cause = Cause::kRefused;
  e.msg = "connection refused on 127.0.0.1:5432";
  e.fields = {{"attempt", "3"}};
  return e;
}

}  // namespace pgvigil::test
