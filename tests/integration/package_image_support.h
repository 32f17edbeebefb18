// Shared by docker_image.cpp, docker_compose.cpp and systemd_package.cpp: the .deb
// (scripts/package.sh) and the Debian 12 base the images are built on (scripts/debian-root.sh,
// cached; systemd_package's root is that base plus systemd and PostgreSQL). Both image tests must
// ask for the same base packages: the cached root is keyed by that list.
#pragma once

#include <chrono>
#include <cstdlib>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "support/systemd_container.h"

namespace pgvigil::test {

inline const std::vector<std::string> kBasePackages = {"adduser",
                                                       "init-system-helpers",
                                                       "libpocofoundation80",
                                                       "libpoconet80",
                                                       "libpocojson80",
                                                       "libyaml-cpp0.7",
                                                       "libc-ares2",
                                                       "libssl3",
                                                       "libsystemd0",
                                                       "libpq5",
                                                       "procps"};

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  auto start = s.find_first_not_of(" \n\r");
  return start == std::string::npos ? std::string() : s.substr(start);
}

inline bool waitFor(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{250});
  }
  return true;
}

inline std::string cacheDir() {
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/pgvigil-test";
}

/// The .deb: PGVIGIL_TEST_DEB when given, else scripts/package.sh into outDir; with lintian, its
/// findings fail the build too (systemd_package runs it).
inline std::string buildDeb(const std::string& outDir, bool lintian = false) {
  if (const char* given = std::getenv("PGVIGIL_TEST_DEB"); given && *given) return given;
  std::vector<std::string> env = {"PGVIGIL_DEB_BUILD_DIR=" + std::string(PGVIGIL_DEB_BUILD_DIR),
                                  "PGVIGIL_DEB_OUT=" + outDir, "PGVIGIL_JOBS=2"};
  if (lintian) env.push_back("PGVIGIL_LINTIAN=1");
  CommandResult r = runCommand({"bash", std::string(PGVIGIL_SOURCE_DIR) + "/scripts/package.sh"},
                               std::chrono::seconds{1500}, env);
  BOOST_REQUIRE_MESSAGE(r.ok(), "scripts/package.sh failed"
                                    << (lintian ? " (lintian findings fail it too)" : "") << ":\n"
                                    << r.output);
  std::smatch m;
  static const std::regex kDeb(R"((\S*pgvigil_[0-9.]+_[a-z0-9]+\.deb)\s*$)");
  BOOST_REQUIRE_MESSAGE(std::regex_search(r.output, m, kDeb), "no .deb path in: " << r.output);
  return m[1].str();
}

/// The Debian 12 base root tarball (cached under cacheDir()), for `docker import`.
inline std::string baseRootTar() {
  const std::string tar = cacheDir() + "/bookworm-base.tar";
  std::vector<std::string> args = {
      "bash", std::string(PGVIGIL_SOURCE_DIR) + "/scripts/debian-root.sh", tar};
  args.insert(args.end(), kBasePackages.begin(), kBasePackages.end());
  CommandResult root = runCommand(args, std::chrono::seconds{900});
  BOOST_REQUIRE_MESSAGE(root.ok(), "debian-root.sh: " << root.output);
  return tar;
}

}  // namespace pgvigil::test
