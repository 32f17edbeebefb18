// Shared by test_check.cpp and fault_check.cpp: run the real pgvigil binary with a config written
// to a temp dir, and collect its exit code and output.
#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/agent_process.h"

namespace pgvigil::test {

inline bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

/// A temp dir removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pgvigil-check-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::string path_;
};

struct Run {
  int code = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
  std::chrono::milliseconds took{0};
  std::string all() const { return out + err; }
  std::string firstLine() const { return out.substr(0, out.find('\n')); }
};

/// Runs `pgvigil ARGS` to completion (bounded) with extra environment ("NAME=value").
inline Run runPgvigil(const std::vector<std::string>& args,
                      const std::vector<std::string>& env = {},
                      std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto start = std::chrono::steady_clock::now();
  // PGVIGIL_CONFIG and libpq's variables of the test's environment must not leak in.
  std::vector<std::string> e = {"PGVIGIL_CONFIG=", "PGPASSWORD=", "PGHOST=",    "PGPORT=",
                                "PGUSER=",         "PGDATABASE=", "PGSSLMODE=", "PGPASSFILE="};
  e.insert(e.end(), env.begin(), env.end());
  AgentProcess p({.binary = pgvigilBinary(), .args = args, .env = e});
  Run r;
  auto code = p.wait(limit);
  r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  if (!code)
    throw std::runtime_error("pgvigil did not finish in time; output so far:\n" + p.output());
  r.code = *code;
  // Let the reader drain both pipes.
  p.waitForLine([](const std::string&) { return false; }, std::chrono::seconds(2));
  for (const auto& l : p.lines())
    (l.stream == OutputLine::Stream::kStdout ? r.out : r.err) += l.text + "\n";
  return r;
}

/// A one-target config. `extra` is appended inside the target (indented by 4).
inline std::string targetYaml(const std::string& name, const std::string& conninfo,
                              const std::string& extra = "") {
  return "  - name: " + name + "\n    conninfo: \"" + conninfo + "\"\n" + extra;
}

inline std::string configYaml(const std::string& targets) {
  return "agent:\n  listen: \"\"\ntargets:\n" + targets;
}

inline Poco::JSON::Object::Ptr parseJson(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace pgvigil::test
