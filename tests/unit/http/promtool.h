// Runs `promtool check metrics` on a text and returns its exit code and everything it printed.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace pgvigil::testing {

struct PromtoolResult {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr: the complaints
};

/// Exit code 127 (and a note in output) when promtool is not installed: scripts/setup.sh test.
inline PromtoolResult promtoolCheck(const std::string& exposition) {
  char path[] = "/tmp/pgvigil-metrics-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return {-1, "mkstemp failed"};
  close(fd);
  {
    std::ofstream out(path, std::ios::binary);
    out << exposition;
  }
  std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
  PromtoolResult r;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::remove(path);
  if (r.exit_code == 127) r.output += "\n(promtool is missing: run scripts/setup.sh test)";
  return r;
}

}  // namespace pgvigil::testing
