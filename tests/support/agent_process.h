// The built pgvigil binary as a child process of the test: spawned with arguments and extra
// environment, its stdout and stderr captured line by line into a thread-safe buffer, with
// waitForLine(), signals, and a bounded wait for its exit. The destructor SIGKILLs its process
// group (the agent and any restart command it is running) and reaps it, also when a test fails.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pgvigil::test {

#ifdef PGVIGIL_BINARY
/// The pgvigil binary of this build (PGVIGIL_BINARY is a compile definition of every test).
inline std::string pgvigilBinary() {
  return PGVIGIL_BINARY;
}
#endif

struct AgentProcessOptions {
  std::string binary = {};             ///< path of the program, e.g. pgvigilBinary()
  std::vector<std::string> args = {};  ///< arguments after argv[0], e.g. {"run", "-c", path}
  std::vector<std::string> env = {};   ///< "NAME=value" added to (or, "NAME=", removed from) ours
  std::string cwd = {};                ///< "" keeps ours
  /// >= 0: the agent's stdout is this descriptor (e.g. the write end of a pipe the test reads,
  /// or does not read, itself); it is not captured, and lines() holds stderr only. The caller
  /// keeps ownership (the child gets a duplicate), and may close its copy after construction.
  int stdout_fd = -1;
};

struct OutputLine {
  enum class Stream { kStdout, kStderr } stream;
  std::string text;  ///< without the newline
};

class AgentProcess {
 public:
  explicit AgentProcess(AgentProcessOptions options);  ///< spawns at once; throws if it cannot
  ~AgentProcess();                                     ///< SIGKILL to its group + reap
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  pid_t pid() const;

  /// Every line so far, stdout and stderr interleaved in arrival order.
  std::vector<OutputLine> lines() const;
  std::string output() const;  ///< all lines joined with '\n' (for failure messages)
  size_t lineCount() const;

  /// Waits until a line at index >= from (see lineCount()) matches; returns it, or nullopt on
  /// timeout or when the process has exited and its output is drained without a match.
  std::optional<std::string> waitForLine(const std::function<bool(const std::string&)>& match,
                                         std::chrono::milliseconds timeout, size_t from = 0);
  /// The same for a line that contains text.
  std::optional<std::string> waitForLine(const std::string& text, std::chrono::milliseconds timeout,
                                         size_t from = 0);

  void signal(int sig);  ///< to the agent's pid only

  /// Waits for exit. Returns the exit code, or 128 + signal number when it died of a signal;
  /// nullopt when still running at the timeout. Once it has exited, returns the same again.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace pgvigil::test
