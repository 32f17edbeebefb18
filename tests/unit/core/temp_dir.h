// A scratch directory for the core's file tests (config files, .env files, token files),
// removed with everything in it at the end of the test.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <system_error>

namespace pgvigil::testing {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "pgvigil-test-") {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           (prefix + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// Writes `content` (bytes as given: CRLF stays CRLF) to `name` and returns the file's path.
  std::string write(const std::string& name, const std::string& content) {
    auto p = path / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    return p.string();
  }
};

}  // namespace pgvigil::testing
