// Helpers for black-box tests of the real agent: a temp dir with a config file, the agent
// process on a free port, and waits on its event lines and its endpoint. Every wait is bounded.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/agent_process.h"
#include "support/http_client.h"

namespace pgvigil::test {

class PgCluster;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text) const;  ///< returns path

 private:
  std::string path_;
};

/// Counts the agent's event lines (text format) with `event=<name>` (and `target=<target>` when
/// given).
std::size_t countEvents(const AgentProcess& agent, const std::string& name,
                        const std::string& target = "");
/// The `event=` names in order of arrival (agent_log lines excluded).
std::vector<std::string> eventNames(const AgentProcess& agent, const std::string& target = "");
/// Waits for an event line; returns the line or nullopt at the timeout.
std::optional<std::string> waitEvent(AgentProcess& agent, const std::string& name,
                                     std::chrono::milliseconds timeout, std::size_t from = 0);
/// Polls `path` until its status is `status`; returns the time it took, or nullopt.
std::optional<std::chrono::milliseconds> waitStatus(const HttpClient& http, const std::string& path,
                                                    int status, std::chrono::milliseconds timeout);

/// Waits until the agent's long-lived monitoring connection (application_name pgvigil, idle) is
/// in the cluster's pg_stat_activity: from then on a crash is seen through it.
bool waitMonitorConnection(PgCluster& pg, std::chrono::milliseconds timeout);

/// A running agent on a config: the text of `targetsYaml` goes under `targets:`; the agent
/// section gets a free listen port, a state dir in `dir`, and text logs on stdout.
struct AgentUnderTest {
  int port = 0;
  std::string configPath;
  std::unique_ptr<AgentProcess> process;
  std::unique_ptr<HttpClient> http;
  /// Waits until /livez answers (the agent is up); throws with the agent's output if not.
  void waitUp(std::chrono::milliseconds timeout = std::chrono::seconds(10));
};
AgentUnderTest startAgent(const TempDir& dir, const std::string& targetsYaml,
                          const std::string& agentExtraYaml = "",
                          const std::vector<std::string>& env = {});

}  // namespace pgvigil::test
