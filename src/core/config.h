// The configuration model of docs/reference.md §2 as plain structs. Defaults sit next to the
// fields. The keys are declared in config_schema.{h,cpp}; loading and validation live in
// config_loader.{h,cpp}, `config show` in config_show.{h,cpp}.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/app_url.h"
#include "core/types.h"

namespace pgvigil {

using namespace std::chrono_literals;

struct ConnectionsCheckConfig {
  bool enabled = true;
  double warn = 0.80;      ///< fraction of usable slots, 0..1
  double critical = 0.95;  ///< fraction of usable slots, 0..1, > warn

  bool operator==(const ConnectionsCheckConfig&) const = default;
};

struct BackoffConfig {
  Millis initial = 5s;
  Millis max = 5min;
  double multiplier = 2.0;
  double jitter = 0.10;  ///< fraction, 0..1

  bool operator==(const BackoffConfig&) const = default;
};

struct BudgetConfig {
  int max = 5;
  Millis window = 1h;

  bool operator==(const BudgetConfig&) const = default;
};

enum class RestartMethod { kNone, kCommand, kSystemd, kWindowsService, kDocker };
std::string_view toString(RestartMethod m);  ///< "none", "command", "systemd", ...
/// The restart methods this build can perform (docs/reference.md §8): none, command and docker
/// everywhere, systemd on Linux, windows-service on Windows (src/restart/CMakeLists.txt picks the
/// same restarters). Any other method is a config error at the method's FILE:LINE:COL.
std::vector<RestartMethod> restartMethodsOfThisBuild();
/// "Linux", "Windows" or "this platform": for messages.
std::string_view buildPlatformName();

struct RestartConfig {
  RestartMethod method = RestartMethod::kNone;
  std::string unit;       ///< systemd
  std::string service;    ///< windows-service
  std::string container;  ///< docker
  std::string docker_host = "unix:///var/run/docker.sock";
  std::vector<std::string> command;  ///< argv, never a shell
  Millis timeout = 60s;
  Millis grace = 30s;
  BackoffConfig backoff;
  BudgetConfig budget;
  Millis recovery_grace = 10min;
  Millis hang_after = 2min;

  bool operator==(const RestartConfig&) const = default;
};

/// Where the agent reads a starting or recovering server's progress (docs/health-model.md,
/// "Recovery progress"). Empty data_dir: pg-restart's PGDATA with `restart.method: command`.
struct RecoveryConfig {
  std::string data_dir;  ///< postmaster.pid, and the startup process found through it
  std::string log_file;  ///< the server log: PG15+ "redo in progress" lines

  bool operator==(const RecoveryConfig&) const = default;
};

struct TargetConfig {
  std::string name;
  std::string conninfo;  ///< may hold a password: never print it unredacted
  /// `url:` as given, and the structured fields; the loader builds conninfo from whichever form
  /// the target uses (core/config_conn.cpp). password is a secret like conninfo.
  std::string url, host, port, dbname, user, password;
  std::vector<IgnoredParam> ignored_params;  ///< URL parameters dropped for the probe
  Millis interval = 5s;
  Millis timeout = 3s;
  int unhealthy_after = 3;
  int healthy_after = 2;
  bool tcp_check = true;
  std::string query = "SELECT 1";  ///< empty: the liveness query is off
  ConnectionsCheckConfig connections;
  RestartConfig restart;
  RecoveryConfig recovery;
  std::string application_name = "pgvigil";
  /// Keep a long-lived monitoring session: a crash is seen at once and the connections query
  /// runs on it. false: every round uses its fresh connection alone, and a crash is seen at the
  /// next round (serverless servers that must be allowed to sleep).
  bool monitoring_session = true;
  /// certificate_expiring this long before the server's TLS certificate expires; 0: never.
  Millis tls_expiry_warning = std::chrono::hours{24 * 14};

  bool operator==(const TargetConfig&) const = default;
};

enum class LogFormat { kText, kJson };
enum class LogOutput { kStdout, kStderr, kFile, kSyslog, kJournald, kEventlog };
enum class LogLevel { kDebug, kInfo, kWarning, kError };
std::string_view toString(LogFormat f);
std::string_view toString(LogOutput o);
std::string_view toString(LogLevel l);

struct LogConfig {
  LogFormat format = LogFormat::kText;
  LogOutput output = LogOutput::kStdout;
  std::string file = "/var/log/pgvigil/pgvigil.log";
  std::uint64_t rotate_size = 10ull * 1000 * 1000;  ///< bytes
  int rotate_keep = 5;
  LogLevel level = LogLevel::kInfo;
};

struct AgentConfig {
  std::string listen = "127.0.0.1:8787";  ///< empty: the endpoint is off
  std::string token_file;
  std::string tls_cert;
  std::string tls_key;
  std::string state_dir = "/var/lib/pgvigil";
  LogConfig log;
};

/// Where a value came from, for `config show`.
struct ValueSource {
  enum class Kind { kDefault, kFile, kEnv } kind = Kind::kDefault;
  std::string file;  ///< kFile
  int line = 0;      ///< kFile, 1-based
  int column = 0;    ///< kFile, 1-based
  std::string env;   ///< kEnv: the variable(s) substituted
};

struct Config {
  std::string path;  ///< the file it was read from ("" when built in code)
  AgentConfig agent;
  std::vector<TargetConfig> targets;
  /// Source of each value by dotted path: "agent.listen", "targets[0].restart.backoff.initial".
  std::map<std::string, ValueSource> sources;

  const TargetConfig* findTarget(std::string_view name) const {
    for (const auto& t : targets)
      if (t.name == name) return &t;
    return nullptr;
  }
};

}  // namespace pgvigil
