#include "support/agent_harness.h"

#include <cstdlib>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/pg_cluster.h"

namespace fs = std::filesystem;

namespace pgvigil::test {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "pgvigil-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  const std::string file = path_ + "/" + name;
  std::ofstream out(file, std::ios::trunc);
  out << text;
  return file;
}

namespace {
/// Whether a logfmt line has ` key=value` followed by a space or the end of the line.
bool hasField(const std::string& line, const std::string& key, const std::string& value) {
  const std::string needle = " " + key + "=" + value;
  for (auto pos = line.find(needle); pos != std::string::npos; pos = line.find(needle, pos + 1)) {
    const auto after = pos + needle.size();
    if (after == line.size() || line[after] == ' ') return true;
  }
  return false;
}
bool isEvent(const std::string& line, const std::string& name, const std::string& target) {
  return hasField(line, "event", name) && (target.empty() || hasField(line, "target", target));
}
}  // namespace

std::size_t countEvents(const AgentProcess& agent, const std::string& name,
                        const std::string& target) {
  std::size_t n = 0;
  for (const auto& l : agent.lines())
    if (isEvent(l.text, name, target)) ++n;
  return n;
}

std::vector<std::string> eventNames(const AgentProcess& agent, const std::string& target) {
  std::vector<std::string> names;
  for (const auto& l : agent.lines()) {
    auto pos = l.text.find(" event=");
    if (pos == std::string::npos) continue;
    auto end = l.text.find(' ', pos + 7);
    std::string name =
        l.text.substr(pos + 7, end == std::string::npos ? std::string::npos : end - pos - 7);
    if (name == "agent_log") continue;
    if (!target.empty() && !hasField(l.text, "target", target)) continue;
    names.push_back(name);
  }
  return names;
}

std::optional<std::string> waitEvent(AgentProcess& agent, const std::string& name,
                                     std::chrono::milliseconds timeout, std::size_t from) {
  return agent.waitForLine([&](const std::string& line) { return isEvent(line, name, ""); },
                           timeout, from);
}

std::optional<std::chrono::milliseconds> waitStatus(const HttpClient& http, const std::string& path,
                                                    int status, std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < timeout) {
    if (http.request("GET", path, {}, std::chrono::milliseconds(1000)).status == status)
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

bool waitMonitorConnection(PgCluster& pg, std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < timeout) {
    try {
      if (pg.query("select count(*) from pg_stat_activity where application_name = 'pgvigil'"
                   " and state = 'idle' and backend_type = 'client backend'"
                   // a round's own session lives milliseconds; the monitoring one stays
                   " and now() - backend_start > interval '300 milliseconds'") != "0")
        return true;
    } catch (const std::exception&) {
      // not up yet: try again
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void AgentUnderTest::waitUp(std::chrono::milliseconds timeout) {
  if (!waitStatus(*http, "/livez", 200, timeout))
    throw std::runtime_error("the agent did not come up; its output:\n" + process->output());
}

AgentUnderTest startAgent(const TempDir& dir, const std::string& targetsYaml,
                          const std::string& agentExtraYaml, const std::vector<std::string>& env) {
  AgentUnderTest a;
  a.port = freeLoopbackPort();
  std::string yaml = "agent:\n  listen: \"127.0.0.1:" + std::to_string(a.port) +
                     "\"\n  state_dir: " + dir.path() +
                     "/state\n  log: { output: stdout, format: text, level: info }\n" +
                     agentExtraYaml + "targets:\n" + targetsYaml;
  a.configPath = dir.write("pgvigil.yaml", yaml);
  AgentProcessOptions options;
  options.binary = pgvigilBinary();
  // A before/after measurement runs the same test against another build's binary.
  if (const char* other = std::getenv("PGVIGIL_TEST_AGENT_BINARY"); other && *other)
    options.binary = other;
  options.args = {"run", "-c", a.configPath};
  options.env = env;
  a.process = std::make_unique<AgentProcess>(options);
  a.http = std::make_unique<HttpClient>("127.0.0.1", a.port);
  return a;
}

}  // namespace pgvigil::test
