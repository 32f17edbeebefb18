// `pgvigil run`: the agent in the foreground until SIGTERM/SIGINT (or a service stop), with
// SIGHUP / POST /reload rereading the config, systemd readiness and watchdog. `pgvigil demo`
// runs the same thing on an embedded config.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "core/config.h"

namespace pgvigil {

class Agent;
class HttpServer;

struct RunHooks {
  /// Called once the agent's first rounds are done and the endpoint is up (demo banner).
  std::function<void(Agent&, const HttpServer*)> on_ready;
  /// Rereads the config for a reload; empty: reload from config.path.
  std::function<std::optional<Config>(std::string* errors)> reload;
};

/// Runs the agent on `config` until a stop signal. Returns the process exit code.
int runAgent(Config config, const RunHooks& hooks, std::ostream& err);

/// `pgvigil run [-c FILE]`: 0 after a stop signal, 78 when the config is invalid at start.
int runRun(const std::string& configPath, std::ostream& err);

}  // namespace pgvigil
