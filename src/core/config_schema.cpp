// The two schema tables (agent, target) and the single-value checks they use. See
// config_schema.h.
#include "core/config_schema.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/config_fields.h"

namespace pgvigil::config_detail {

Loc locOf(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

std::string toLower(std::string_view s) {
  std::string out;
  for (char c : s) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  if (s.size() > kMax) return "'" + std::string(s.substr(0, kMax)) + "...'";
  return "'" + std::string(s) + "'";
}

std::string joinNames(const std::vector<std::string>& names, std::string_view sep) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += sep;
    out += n;
  }
  return out;
}

std::string kindOf(const YAML::Node& n) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return "a plain value";
}

std::optional<bool> parseBool(std::string_view text) {
  std::string t = toLower(text);
  if (t == "true" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "no" || t == "off") return false;
  return std::nullopt;
}

ValueSource Loader::sourceAt(Loc loc, const std::vector<std::string>& env) const {
  ValueSource s;
  s.kind = env.empty() ? ValueSource::Kind::kFile : ValueSource::Kind::kEnv;
  s.file = file_;
  s.line = loc.line;
  s.column = loc.col;
  s.env = joinNames(env, ",");
  return s;
}

void Input::failAt(Loc loc, const std::string& message) {
  std::string m = where_ + ": " + message;
  if (!env_.empty()) m += " (the value comes from ${" + joinNames(env_, "}, ${") + "})";
  loader_.error(loc, m);
}

std::optional<Scalar> Input::scalarOf(const YAML::Node& n, Loc loc, std::string_view expected) {
  if (!n.IsScalar()) {
    failAt(loc, "expected " + std::string(expected) + ", got " + kindOf(n));
    return std::nullopt;
  }
  Expansion e = expandEnv(n.Scalar(), loader_.env());
  if (!e.ok()) {
    failAt(loc, e.error);
    return std::nullopt;
  }
  for (auto& v : e.substituted)
    if (std::find(env_.begin(), env_.end(), v) == env_.end()) env_.push_back(v);
  return Scalar{std::move(e.value), n.Tag() == "?"};
}

std::string checkTargetName(const std::string& s) {
  if (s.empty()) return "must not be empty; use lower-case letters, digits, '_' and '-'";
  if (s.size() > 63) return "target name is longer than 63 characters";
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return "invalid target name " + shown(s) + ": use only a-z, 0-9, '_' and '-'";
  return "";
}

namespace {

// Checks of single string values.

std::string checkListen(const std::string& s) {
  if (s.empty()) return "";  // the endpoint is off
  const std::string hint = "expected host:port such as 127.0.0.1:8787 or [::1]:8787";
  std::string host, port;
  if (s[0] == '[') {
    std::size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return "listen address " + shown(s) + " is not host:port; " + hint;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    for (char c : host)
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == '%'))
        return "listen address " + shown(s) + " has an invalid IPv6 address; " + hint;
  } else {
    std::size_t colon = s.rfind(':');
    if (colon == std::string::npos) return "listen address " + shown(s) + " has no port; " + hint;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      return "listen address " + shown(s) + ": an IPv6 address needs brackets, as in [::1]:8787";
    for (char c : host)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
        return "listen address " + shown(s) + " has an invalid host; " + hint;
  }
  if (host.empty())
    return "listen address " + shown(s) +
           " has no host; write 127.0.0.1:PORT (loopback only) or 0.0.0.0:PORT (every interface)";
  int p = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || p < 0 || p > 65535)
    return "listen address " + shown(s) + " has an invalid port (0 to 65535); " + hint;
  return "";
}

std::string checkApplicationName(const std::string& s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 63) return "must be at most 63 characters (PostgreSQL truncates longer names)";
  for (char c : s)
    if (c < 0x20 || c > 0x7e) return "must be printable ASCII (PostgreSQL replaces other bytes)";
  return "";
}

std::string checkDockerHost(const std::string& s) {
  for (std::string_view scheme : {"unix://", "npipe://", "tcp://", "http://"})
    if (s.size() > scheme.size() && s.compare(0, scheme.size(), scheme) == 0) return "";
  return "invalid docker_host " + shown(s) +
         "; expected unix:///var/run/docker.sock, npipe:////./pipe/docker_engine or "
         "tcp://HOST:PORT";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The two tables.

const Schema<AgentConfig>& agentSchema() {
  using A = AgentConfig;
  static const Schema<A> schema = [] {
    std::vector<Field<A>> f;
    f.push_back(stringField<A>(
        "listen", [](auto& a) -> auto& { return a.listen; }, checkListen));
    f.push_back(stringField<A>(
        "token_file", [](auto& a) -> auto& { return a.token_file; }));
    f.push_back(stringField<A>(
        "tls.cert", [](auto& a) -> auto& { return a.tls_cert; }));
    f.push_back(stringField<A>(
        "tls.key", [](auto& a) -> auto& { return a.tls_key; }));
    f.push_back(stringField<A>(
        "state_dir", [](auto& a) -> auto& { return a.state_dir; }));
    f.push_back(enumField<A, LogFormat>(
        "log.format", [](auto& a) -> auto& { return a.log.format; },
        {{"text", LogFormat::kText}, {"json", LogFormat::kJson}}, "log format"));
    f.push_back(enumField<A, LogOutput>(
        "log.output", [](auto& a) -> auto& { return a.log.output; },
        {{"stdout", LogOutput::kStdout},
         {"stderr", LogOutput::kStderr},
         {"file", LogOutput::kFile},
         {"syslog", LogOutput::kSyslog},
         {"journald", LogOutput::kJournald},
         {"eventlog", LogOutput::kEventlog}},
        "log output"));
    f.push_back(stringField<A>(
        "log.file", [](auto& a) -> auto& { return a.log.file; }));
    f.push_back(sizeField<A>(
        "log.rotate.size", [](auto& a) -> auto& { return a.log.rotate_size; }, 64 * 1024));
    f.push_back(intField<A>(
        "log.rotate.keep", [](auto& a) -> auto& { return a.log.rotate_keep; }, 1, 1000));
    f.push_back(enumField<A, LogLevel>(
        "log.level", [](auto& a) -> auto& { return a.log.level; },
        {{"debug", LogLevel::kDebug},
         {"info", LogLevel::kInfo},
         {"warning", LogLevel::kWarning},
         {"error", LogLevel::kError}},
        "log level"));
    // The endpoint, TLS and state directory are bound at start; the log settings are applied
    // when the log channels are built. None of them changes on reload.
    for (auto& field : f) field.reloadable = false;
    return Schema<A>(std::move(f));
  }();
  return schema;
}

namespace {

Field<TargetConfig> queryField() {
  using T = TargetConfig;
  Field<T> f;
  f.path = "checks.query";
  f.type = "string | false";
  f.read = [](Input& in, T& t) {
    auto s = in.scalar("an SQL query or false");
    if (!s) return false;
    if (s->plain) {
      auto b = parseBool(s->text);
      if (b && !*b) {
        t.query.clear();
        return true;
      }
      if (b && *b) {
        in.fail("expected an SQL query such as \"SELECT 1\" or false, got " + shown(s->text));
        return false;
      }
    }
    if (s->text.find_first_not_of(" \t\r\n") == std::string::npos) {
      in.fail("empty query; write `query: false` to turn the liveness query off");
      return false;
    }
    t.query = s->text;
    return true;
  };
  f.render = [](const T& t) { return t.query.empty() ? std::string("false") : yamlQuote(t.query); };
  return f;
}

Field<TargetConfig> connectionsSwitch() {
  using T = TargetConfig;
  Field<T> f = boolField<T>(
      "checks.connections", [](auto& t) -> auto& { return t.connections.enabled; });
  f.type = "mapping | false";
  f.onSection = [](T& t) { t.connections.enabled = true; };
  f.sectionOn = [](const T& t) { return t.connections.enabled; };
  return f;
}

Field<TargetConfig> commandField() {
  using T = TargetConfig;
  Field<T> f;
  f.path = "restart.command";
  f.type = "list of strings";
  f.read = [](Input& in, T& t) {
    if (!in.node().IsSequence()) {
      in.fail(
          "expected a list of strings (argv, never run through a shell), such as "
          "[\"/usr/bin/pg_ctlcluster\", \"15\", \"main\", \"restart\"], got " +
          kindOf(in.node()));
      return false;
    }
    std::vector<std::string> argv;
    bool ok = true;
    for (const auto& item : in.node()) {
      Loc loc = locOf(item.Mark());
      if (item.IsNull()) {
        in.failAt(loc.line ? loc : in.loc(), "expected a string in the argv list, got nothing");
        ok = false;
        continue;
      }
      auto s = in.scalarOf(item, loc.line ? loc : in.loc(), "a string");
      if (!s) {
        ok = false;
        continue;
      }
      argv.push_back(std::move(s->text));
    }
    if (ok && !argv.empty() && argv[0].empty()) {
      in.fail("the program (first element) must not be empty");
      ok = false;
    }
    if (!ok) return false;
    t.restart.command = std::move(argv);
    return true;
  };
  f.render = [](const T& t) {
    std::string out = "[";
    for (std::size_t i = 0; i < t.restart.command.size(); ++i) {
      if (i) out += ", ";
      out += yamlQuote(t.restart.command[i]);
    }
    return out + "]";
  };
  return f;
}

}  // namespace

const Schema<TargetConfig>& targetSchema() {
  using T = TargetConfig;
  static const Schema<T> schema = [] {
    std::vector<Field<T>> f;
    auto name = stringField<T>(
        "name", [](auto& t) -> auto& { return t.name; }, checkTargetName);
    name.allowedInDefaults = false;
    f.push_back(std::move(name));
    f.push_back(stringField<T>(
        "conninfo", [](auto& t) -> auto& { return t.conninfo; },
        [](const std::string& s) {
          return s.empty() ? std::string(
                                 "must not be empty; libpq keywords "
                                 "(host=... dbname=...) or a "
                                 "postgresql:// URI")
                           : std::string();
        }));
    f.back().secret = true;
    f.back().omit = usesConnectionFields;  // config show prints the conninfo it built as a comment
    for (auto& c : connectionFields()) f.push_back(std::move(c));
    f.push_back(durationField<T>(
        "interval", [](auto& t) -> auto& { return t.interval; }, Millis{100},
        std::chrono::hours{24}));
    f.push_back(durationField<T>(
        "timeout", [](auto& t) -> auto& { return t.timeout; }, Millis{10}, std::chrono::hours{1}));
    f.push_back(intField<T>(
        "unhealthy_after", [](auto& t) -> auto& { return t.unhealthy_after; }, 1, 1000));
    f.push_back(intField<T>(
        "healthy_after", [](auto& t) -> auto& { return t.healthy_after; }, 1, 1000));
    f.push_back(boolField<T>(
        "checks.tcp", [](auto& t) -> auto& { return t.tcp_check; }));
    f.push_back(queryField());
    f.push_back(connectionsSwitch());
    f.push_back(percentField<T>(
        "checks.connections.warn", [](auto& t) -> auto& { return t.connections.warn; }));
    f.push_back(percentField<T>(
        "checks.connections.critical", [](auto& t) -> auto& { return t.connections.critical; }));
    f.push_back(enumField<T, RestartMethod>(
        "restart.method", [](auto& t) -> auto& { return t.restart.method; },
        {{"none", RestartMethod::kNone},
         {"command", RestartMethod::kCommand},
         {"systemd", RestartMethod::kSystemd},
         {"windows-service", RestartMethod::kWindowsService},
         {"docker", RestartMethod::kDocker}},
        "restart method"));
    f.push_back(stringField<T>(
        "restart.unit", [](auto& t) -> auto& { return t.restart.unit; }));
    f.push_back(stringField<T>(
        "restart.service", [](auto& t) -> auto& { return t.restart.service; }));
    f.push_back(stringField<T>(
        "restart.container", [](auto& t) -> auto& { return t.restart.container; }));
    f.push_back(stringField<T>(
        "restart.docker_host", [](auto& t) -> auto& { return t.restart.docker_host; },
        checkDockerHost));
    f.push_back(commandField());
    f.push_back(durationField<T>(
        "restart.timeout", [](auto& t) -> auto& { return t.restart.timeout; }, Millis{1},
        std::chrono::hours{24}));
    f.push_back(durationField<T>(
        "restart.grace", [](auto& t) -> auto& { return t.restart.grace; }, Millis{0},
        std::chrono::hours{24}));
    f.push_back(durationField<T>(
        "restart.backoff.initial", [](auto& t) -> auto& { return t.restart.backoff.initial; },
        Millis{1}, std::chrono::hours{24}));
    f.push_back(durationField<T>(
        "restart.backoff.max", [](auto& t) -> auto& { return t.restart.backoff.max; }, Millis{1},
        std::chrono::hours{24 * 7}));
    f.push_back(numberField<T>(
        "restart.backoff.multiplier", [](auto& t) -> auto& { return t.restart.backoff.multiplier; },
        1.0, 100.0));
    f.push_back(percentField<T>(
        "restart.backoff.jitter", [](auto& t) -> auto& { return t.restart.backoff.jitter; }));
    f.push_back(intField<T>(
        "restart.budget.max", [](auto& t) -> auto& { return t.restart.budget.max; }, 1, 1000));
    f.push_back(durationField<T>(
        "restart.budget.window", [](auto& t) -> auto& { return t.restart.budget.window; },
        Millis{1}, std::chrono::hours{24 * 30}));
    f.push_back(durationField<T>(
        "restart.recovery_grace", [](auto& t) -> auto& { return t.restart.recovery_grace; },
        Millis{0}, std::chrono::hours{24 * 7}));
    f.push_back(durationField<T>(
        "restart.hang_after", [](auto& t) -> auto& { return t.restart.hang_after; }, Millis{0},
        std::chrono::hours{24}));
    // Where recovery progress is read (on the agent's host only): recovery_grace then bounds the
    // time without progress, not the total (docs/health-model.md, "Recovery progress").
    f.push_back(stringField<T>(
        "recovery.data_dir", [](auto& t) -> auto& { return t.recovery.data_dir; }));
    f.push_back(stringField<T>(
        "recovery.log_file", [](auto& t) -> auto& { return t.recovery.log_file; }));
    f.push_back(stringField<T>(
        "application_name", [](auto& t) -> auto& { return t.application_name; },
        checkApplicationName));
    f.push_back(boolField<T>(
        "monitoring_session", [](auto& t) -> auto& { return t.monitoring_session; }));
    f.push_back(durationField<T>(
        "tls_expiry_warning", [](auto& t) -> auto& { return t.tls_expiry_warning; }, Millis{0},
        std::chrono::hours{24 * 3650}));
    return Schema<T>(std::move(f));
  }();
  return schema;
}

}  // namespace pgvigil::config_detail

namespace pgvigil {

using config_detail::agentSchema;

bool isReloadable(std::string_view key) {
  constexpr std::string_view kAgent = "agent.";
  if (key.substr(0, kAgent.size()) != kAgent) return true;  // defaults and targets reload
  std::string_view rest = key.substr(kAgent.size());
  for (const auto& f : agentSchema().fields()) {
    if (f.path == rest || (f.path.size() > rest.size() &&
                           f.path.compare(0, rest.size(), rest) == 0 && f.path[rest.size()] == '.'))
      return f.reloadable;
  }
  return true;
}

std::vector<std::string> nonReloadableChanges(const Config& running, const Config& next) {
  std::vector<std::string> out;
  for (const auto& f : agentSchema().fields())
    if (!f.reloadable && f.render(running.agent) != f.render(next.agent))
      out.push_back("agent." + f.path);
  return out;
}

}  // namespace pgvigil
