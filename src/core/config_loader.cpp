// Configuration loading: YAML -> Config through one schema table per section. See
// config_loader.h and docs/configuration.md.
#include "core/config_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "core/redact.h"
#include "core/units.h"

namespace pgvigil {
namespace {

using YAML::Node;

constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;

/// A 1-based position in the file; line 0 means "no position".
struct Loc {
  int line = 0;
  int col = 0;
};

Loc locOf(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string toLower(std::string_view s) {
  std::string out;
  for (char c : s) out += lower(c);
  return out;
}

/// A value quoted for an error message, shortened.
std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  if (s.size() > kMax) return "'" + std::string(s.substr(0, kMax)) + "...'";
  return "'" + std::string(s) + "'";
}

std::string joinNames(const std::vector<std::string>& names, std::string_view sep = ", ") {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += sep;
    out += n;
  }
  return out;
}

std::string kindOf(const Node& n) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return "a plain value";
}

using Sources = std::map<std::string, ValueSource>;

// ---------------------------------------------------------------------------------------------
// The loader: collects errors and expands ${ENV}.

class Loader {
 public:
  Loader(std::string file, const Env& env) : file_(std::move(file)), env_(env) {}

  void error(Loc loc, std::string message) {
    errors_.push_back(ConfigError{file_, loc.line, loc.col, std::move(message)});
  }
  const std::string& file() const { return file_; }
  const Env& env() const { return env_; }
  std::vector<ConfigError>& errors() { return errors_; }
  /// Raw conninfo strings seen, valid or not: their passwords are masked in every error.
  std::vector<std::string>& conninfos() { return conninfos_; }

  ValueSource sourceAt(Loc loc, const std::vector<std::string>& env) const {
    ValueSource s;
    s.kind = env.empty() ? ValueSource::Kind::kFile : ValueSource::Kind::kEnv;
    s.file = file_;
    s.line = loc.line;
    s.column = loc.col;
    s.env = joinNames(env, ",");
    return s;
  }

 private:
  std::string file_;
  const Env& env_;
  std::vector<ConfigError> errors_;
  std::vector<std::string> conninfos_;
};

/// One scalar as read: its text after ${ENV} expansion.
struct Scalar {
  std::string text;
  bool plain = true;  ///< unquoted in the file, so true/false are keywords
};

/// The value of one key while its field reads it.
class Input {
 public:
  Input(Loader& loader, const Node& node, Loc loc, std::string where)
      : loader_(loader), node_(node), loc_(loc), where_(std::move(where)) {}

  const Node& node() const { return node_; }
  Loc loc() const { return loc_; }
  const std::string& where() const { return where_; }
  const std::vector<std::string>& env() const { return env_; }
  Loader& loader() { return loader_; }

  void fail(const std::string& message) { failAt(loc_, message); }
  void failAt(Loc loc, const std::string& message) {
    std::string m = where_ + ": " + message;
    if (!env_.empty()) m += " (the value comes from ${" + joinNames(env_, "}, ${") + "})";
    loader_.error(loc, m);
  }

  /// The node as one scalar, ${ENV} expanded; reports and returns nullopt otherwise.
  std::optional<Scalar> scalar(std::string_view expected) {
    return scalarOf(node_, loc_, expected);
  }

  std::optional<Scalar> scalarOf(const Node& n, Loc loc, std::string_view expected) {
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

 private:
  Loader& loader_;
  const Node& node_;
  Loc loc_;
  std::string where_;
  std::vector<std::string> env_;
};

// ---------------------------------------------------------------------------------------------
// The schema: one Field per key.

template <class Obj>
struct Field {
  std::string path;  ///< dotted, relative to the section: "restart.backoff.initial"
  std::string type;  ///< for messages and docs: "duration", "string", ...
  /// Reads the value into obj; reports its own errors. True when the value was set.
  std::function<bool(Input&, Obj&)> read;
  /// The value as YAML text for `config show` (already quoted where needed).
  std::function<std::string(const Obj&)> render;
  bool reloadable = true;
  bool allowedInDefaults = true;
  /// For a key that is either a switch or a section (checks.connections): called when it is
  /// given as a mapping; render shows the children only while this returns true.
  std::function<void(Obj&)> onSection;
  std::function<bool(const Obj&)> sectionOn;
};

template <class Obj>
class Schema {
 public:
  explicit Schema(std::vector<Field<Obj>> fields) : fields_(std::move(fields)) {}
  const std::vector<Field<Obj>>& fields() const { return fields_; }

  const Field<Obj>* find(std::string_view path) const {
    for (const auto& f : fields_)
      if (f.path == path) return &f;
    return nullptr;
  }
  bool isSection(std::string_view path) const {
    std::string prefix = std::string(path) + ".";
    for (const auto& f : fields_)
      if (f.path.compare(0, prefix.size(), prefix) == 0) return true;
    return false;
  }
  /// The keys allowed directly under `prefix` ("" or "restart."), in table order.
  std::vector<std::string> childNames(std::string_view prefix) const {
    std::vector<std::string> out;
    for (const auto& f : fields_) {
      if (f.path.compare(0, prefix.size(), prefix) != 0) continue;
      std::string rest = f.path.substr(prefix.size());
      std::string name = rest.substr(0, rest.find('.'));
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    return out;
  }

 private:
  std::vector<Field<Obj>> fields_;
};

std::string yamlQuote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else if (c == '$' && i + 1 < s.size() && s[i + 1] == '{') {
          out += "$$";  // so that loading the output does not expand it again
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::optional<bool> parseBool(std::string_view text) {
  std::string t = toLower(text);
  if (t == "true" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "no" || t == "off") return false;
  return std::nullopt;
}

// Field factories. `get` is a generic lambda returning a reference to the member.

template <class Obj, class Get>
Field<Obj> durationField(std::string path, Get get, Millis min, Millis max) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "duration";
  f.read = [get, min, max](Input& in, Obj& obj) {
    auto s = in.scalar("a duration such as 5s");
    if (!s) return false;
    auto p = parseDuration(s->text);
    if (!p.ok()) {
      in.fail(p.error);
      return false;
    }
    if (p.value < min) {
      in.fail(min == Millis{1}
                  ? "must be greater than 0"
                  : "must be at least " + formatDuration(min) + ", got " + formatDuration(p.value));
      return false;
    }
    if (p.value > max) {
      in.fail("must be at most " + formatDuration(max) + ", got " + formatDuration(p.value));
      return false;
    }
    get(obj) = p.value;
    return true;
  };
  f.render = [get](const Obj& obj) { return formatDuration(get(obj)); };
  return f;
}

template <class Obj, class Get>
Field<Obj> intField(std::string path, Get get, long long min, long long max) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "integer";
  f.read = [get, min, max](Input& in, Obj& obj) {
    auto s = in.scalar("a whole number");
    if (!s) return false;
    long long v = 0;
    const char* b = s->text.data();
    const char* e = b + s->text.size();
    auto [ptr, ec] = std::from_chars(b, e, v);
    if (ec == std::errc::result_out_of_range) {
      in.fail("number " + shown(s->text) + " is out of range");
      return false;
    }
    if (ec != std::errc{} || ptr != e || s->text.empty()) {
      in.fail("expected a whole number, got " + shown(s->text));
      return false;
    }
    if (v < min || v > max) {
      in.fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
              std::to_string(v));
      return false;
    }
    get(obj) = static_cast<std::remove_reference_t<decltype(get(obj))>>(v);
    return true;
  };
  f.render = [get](const Obj& obj) { return std::to_string(get(obj)); };
  return f;
}

template <class Obj, class Get>
Field<Obj> numberField(std::string path, Get get, double min, double max) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "number";
  f.read = [get, min, max](Input& in, Obj& obj) {
    auto s = in.scalar("a number");
    if (!s) return false;
    double v = 0;
    const char* b = s->text.data();
    const char* e = b + s->text.size();
    auto [ptr, ec] = std::from_chars(b, e, v, std::chars_format::fixed);
    if (ec != std::errc{} || ptr != e || s->text.empty() || !std::isfinite(v)) {
      in.fail("expected a number such as 2 or 1.5, got " + shown(s->text));
      return false;
    }
    if (v < min || v > max) {
      std::ostringstream m;
      m << "must be between " << min << " and " << max << ", got " << s->text;
      in.fail(m.str());
      return false;
    }
    get(obj) = v;
    return true;
  };
  f.render = [get](const Obj& obj) {
    std::array<char, 64> buf{};
    auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), get(obj));
    return ec == std::errc{} ? std::string(buf.data(), ptr) : std::string("0");
  };
  return f;
}

template <class Obj, class Get>
Field<Obj> percentField(std::string path, Get get) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "percentage";
  f.read = [get](Input& in, Obj& obj) {
    auto s = in.scalar("a percentage such as 80%");
    if (!s) return false;
    auto p = parsePercent(s->text);
    if (!p.ok()) {
      in.fail(p.error);
      return false;
    }
    get(obj) = p.value;
    return true;
  };
  f.render = [get](const Obj& obj) { return formatPercent(get(obj)); };
  return f;
}

template <class Obj, class Get>
Field<Obj> sizeField(std::string path, Get get, std::uint64_t min) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "size";
  f.read = [get, min](Input& in, Obj& obj) {
    auto s = in.scalar("a size such as 10MB");
    if (!s) return false;
    auto p = parseSize(s->text);
    if (!p.ok()) {
      in.fail(p.error);
      return false;
    }
    if (p.value < min) {
      in.fail("must be at least " + formatSize(min) + ", got " + formatSize(p.value));
      return false;
    }
    get(obj) = p.value;
    return true;
  };
  f.render = [get](const Obj& obj) { return formatSize(get(obj)); };
  return f;
}

template <class Obj, class Get>
Field<Obj> boolField(std::string path, Get get) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "boolean";
  f.read = [get](Input& in, Obj& obj) {
    auto s = in.scalar("true or false");
    if (!s) return false;
    auto b = parseBool(s->text);
    if (!b) {
      in.fail("expected true or false, got " + shown(s->text));
      return false;
    }
    get(obj) = *b;
    return true;
  };
  f.render = [get](const Obj& obj) { return std::string(get(obj) ? "true" : "false"); };
  return f;
}

/// A string; `check` returns "" when the value is acceptable, else the problem.
template <class Obj, class Get>
Field<Obj> stringField(std::string path, Get get,
                       std::function<std::string(const std::string&)> check = {}) {
  Field<Obj> f;
  f.path = std::move(path);
  f.type = "string";
  f.read = [get, check](Input& in, Obj& obj) {
    std::string value;
    if (!in.node().IsNull()) {  // `key:` with nothing after it is the empty string
      auto s = in.scalar("a string");
      if (!s) return false;
      value = std::move(s->text);
    }
    if (check) {
      std::string problem = check(value);
      if (!problem.empty()) {
        in.fail(problem);
        return false;
      }
    }
    get(obj) = std::move(value);
    return true;
  };
  f.render = [get](const Obj& obj) { return yamlQuote(get(obj)); };
  return f;
}

template <class Obj, class E, class Get>
Field<Obj> enumField(std::string path, Get get, std::vector<std::pair<std::string, E>> names,
                     std::string what) {
  Field<Obj> f;
  f.path = std::move(path);
  std::vector<std::string> list;
  for (const auto& n : names) list.push_back(n.first);
  f.type = joinNames(list, " | ");
  f.read = [get, names, list, what](Input& in, Obj& obj) {
    auto s = in.scalar("one of " + joinNames(list, ", "));
    if (!s) return false;
    for (const auto& [name, value] : names) {
      if (name == s->text) {
        get(obj) = value;
        return true;
      }
    }
    std::string m =
        "unknown " + what + " " + shown(s->text) + " (expected " + joinNames(list, ", ") + ")";
    std::string hint = suggestKey(s->text, list);
    if (!hint.empty()) m += "; did you mean '" + hint + "'?";
    in.fail(m);
    return false;
  };
  f.render = [get, names](const Obj& obj) {
    for (const auto& [name, value] : names)
      if (value == get(obj)) return name;
    return std::string("?");
  };
  return f;
}

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

std::string checkTargetName(const std::string& s) {
  if (s.empty()) return "must not be empty; use lower-case letters, digits, '_' and '-'";
  if (s.size() > 63) return "target name is longer than 63 characters";
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return "invalid target name " + shown(s) + ": use only a-z, 0-9, '_' and '-'";
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
    f.push_back(stringField<T>(
        "application_name", [](auto& t) -> auto& { return t.application_name; },
        checkApplicationName));
    return Schema<T>(std::move(f));
  }();
  return schema;
}

// ---------------------------------------------------------------------------------------------
// Walking a mapping with a schema.

std::vector<std::string> allTargetKeys() {
  return targetSchema().childNames("");
}
std::vector<std::string> allAgentKeys() {
  return agentSchema().childNames("");
}

/// Reads every key of `map` (a section at `prefix` of the schema) into obj. `where` names the
/// section in messages ("agent", "defaults", "targets[0]").
template <class Obj>
void applyMap(Loader& loader, const Schema<Obj>& schema, const Node& map, const std::string& prefix,
              Obj& obj, Sources& sources, std::set<std::string>& given, const std::string& where,
              bool inDefaults) {
  std::map<std::string, Loc> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const Node keyNode = it->first;
    const Node value = it->second;
    Loc keyLoc = locOf(keyNode.Mark());
    if (!keyNode.IsScalar()) {
      loader.error(keyLoc, where + ": keys must be plain words, got " + kindOf(keyNode));
      continue;
    }
    const std::string key = keyNode.Scalar();
    const std::string path = prefix + key;
    const std::string full = where + "." + path;
    if (auto [pos, fresh] = seen.emplace(key, keyLoc); !fresh) {
      loader.error(keyLoc, full + ": duplicate key (first given at line " +
                               std::to_string(pos->second.line) + ")");
      continue;
    }
    Loc valueLoc = value.IsNull() ? keyLoc : locOf(value.Mark());
    if (valueLoc.line == 0) valueLoc = keyLoc;
    const Field<Obj>* field = schema.find(path);
    const bool section = schema.isSection(path);
    if (field && !field->allowedInDefaults && inDefaults) {
      loader.error(keyLoc,
                   full + ": '" + key + "' cannot stand in defaults: every target needs its own");
      continue;
    }
    if (section && value.IsMap()) {
      if (field && field->onSection) {
        field->onSection(obj);
        sources[path] = loader.sourceAt(valueLoc, {});
      }
      applyMap(loader, schema, value, path + ".", obj, sources, given, where, inDefaults);
      continue;
    }
    if (field) {
      given.insert(path);
      Input in(loader, value, valueLoc, full);
      if (field->read(in, obj)) sources[path] = loader.sourceAt(valueLoc, in.env());
      continue;
    }
    if (section) {
      if (value.IsNull()) continue;  // an empty section changes nothing
      loader.error(valueLoc, full + ": expected a mapping with " +
                                 joinNames(schema.childNames(path + ".")) + ", got " +
                                 kindOf(value));
      continue;
    }
    // Unknown key: suggest the closest sibling, else list them.
    std::vector<std::string> siblings = schema.childNames(prefix);
    std::string message =
        (prefix.empty() ? where : where + "." + prefix.substr(0, prefix.size() - 1)) +
        ": unknown key '" + key + "'";
    std::string hint = suggestKey(key, siblings);
    if (key == "<<")
      message += ": YAML merge keys are not supported; put shared keys under defaults:";
    else if (!hint.empty())
      message += "; did you mean '" + hint + "'?";
    else
      message += " (expected one of: " + joinNames(siblings) + ")";
    loader.error(keyLoc, message);
  }
}

template <class Obj>
Sources defaultSources(const Schema<Obj>& schema) {
  Sources s;
  for (const auto& f : schema.fields()) s[f.path] = ValueSource{};
  return s;
}

/// Where to point an error about `path`: its value if the file set it, else `fallback`.
Loc locFor(const Sources& s, const std::string& path, Loc fallback) {
  auto it = s.find(path);
  if (it == s.end() || it->second.kind == ValueSource::Kind::kDefault || it->second.line == 0)
    return fallback;
  return {it->second.line, it->second.column};
}
bool isSet(const Sources& s, const std::string& path) {
  auto it = s.find(path);
  return it != s.end() && it->second.kind != ValueSource::Kind::kDefault;
}

/// Cross-key rules of one target, after defaults and the target's own keys are merged.
void validateTarget(Loader& loader, const TargetConfig& t, const Sources& s,
                    const std::set<std::string>& given, Loc item, const std::string& where) {
  // A key that was given but could not be read has its own error; rules that involve it would
  // only add noise about a value the user did not write.
  auto bad = [&](std::initializer_list<const char*> keys) {
    for (const char* k : keys)
      if (given.count(k) && !isSet(s, k)) return true;
    return false;
  };
  if (!given.count("name")) loader.error(item, where + ": name is required");
  if (!given.count("conninfo"))
    loader.error(item, where + ": conninfo is required (libpq keywords or a postgresql:// URI)");
  if (!bad({"timeout", "interval"}) && t.timeout >= t.interval) {
    std::string key = isSet(s, "timeout") ? "timeout" : "interval";
    loader.error(locFor(s, key, item),
                 where + "." + key + ": timeout (" + formatDuration(t.timeout) +
                     ") must be shorter than interval (" + formatDuration(t.interval) + ")");
  }
  if (!bad({"checks.connections", "checks.connections.warn", "checks.connections.critical"}) &&
      t.connections.enabled && t.connections.warn >= t.connections.critical) {
    std::string key = isSet(s, "checks.connections.warn") ? "checks.connections.warn"
                                                          : "checks.connections.critical";
    loader.error(locFor(s, key, item), where + "." + key + ": warn (" +
                                           formatPercent(t.connections.warn) +
                                           ") must be lower than critical (" +
                                           formatPercent(t.connections.critical) + ")");
  }
  const RestartConfig& r = t.restart;
  Loc methodLoc = locFor(s, "restart.method", item);
  bool available = true;  // a method this build lacks: its own needs do not matter
  auto need = [&](bool missing, const std::string& key, const std::string& example) {
    if (!missing || !available) return;
    loader.error(methodLoc, where + ".restart.method: method " + std::string(toString(r.method)) +
                                " needs restart." + key + " (" + example + ")");
  };
  if (bad({"restart.unit", "restart.service", "restart.container", "restart.command"})) return;
  const auto supported = restartMethodsOfThisBuild();
  available = std::find(supported.begin(), supported.end(), r.method) != supported.end();
  if (!available) {
    std::vector<std::string> names;
    for (RestartMethod m : supported) names.emplace_back(toString(m));
    loader.error(methodLoc, where + ".restart.method: method " + std::string(toString(r.method)) +
                                " is not available in this build (" +
                                std::string(buildPlatformName()) + "); this build supports " +
                                joinNames(names, ", "));
  }
  switch (r.method) {
    case RestartMethod::kNone:
      break;
    case RestartMethod::kSystemd:
      need(r.unit.empty(), "unit", "e.g. postgresql@15-main.service");
      break;
    case RestartMethod::kWindowsService:
      need(r.service.empty(), "service", "e.g. postgresql-x64-15");
      break;
    case RestartMethod::kDocker:
      need(r.container.empty(), "container", "a container name or id");
      break;
    case RestartMethod::kCommand:
      need(r.command.empty(), "command",
           "an argv list such as [\"/usr/bin/pg_ctlcluster\", \"15\", \"main\", \"restart\"]");
      break;
  }
  if (!bad({"restart.backoff.max", "restart.backoff.initial"}) &&
      r.backoff.max < r.backoff.initial) {
    std::string key =
        isSet(s, "restart.backoff.max") ? "restart.backoff.max" : "restart.backoff.initial";
    loader.error(locFor(s, key, item), where + "." + key + ": backoff max (" +
                                           formatDuration(r.backoff.max) +
                                           ") must not be shorter than initial (" +
                                           formatDuration(r.backoff.initial) + ")");
  }
}

void validateAgent(Loader& loader, const AgentConfig& a, const Sources& s, Loc section) {
  if (a.tls_cert.empty() != a.tls_key.empty()) {
    std::string key = a.tls_cert.empty() ? "tls.key" : "tls.cert";
    loader.error(locFor(s, key, section),
                 "agent.tls: cert and key go together: set both for HTTPS, or neither");
  }
  if (a.log.output == LogOutput::kFile && a.log.file.empty())
    loader.error(locFor(s, "log.file", locFor(s, "log.output", section)),
                 "agent.log.file: log output 'file' needs a file path");
}

void addSources(Config& c, const std::string& prefix, const Sources& s) {
  for (const auto& [k, v] : s) c.sources[prefix + k] = v;
}

/// The top-level keys, with a hint when a key of a section was put at the top.
void unknownTopLevel(Loader& loader, const std::string& key, Loc loc) {
  std::string message = "unknown top-level key '" + key + "'";
  std::vector<std::string> top{"agent", "defaults", "targets"};
  std::string hint = suggestKey(key, top);
  auto targetKeys = allTargetKeys();
  auto agentKeys = allAgentKeys();
  if (!hint.empty())
    message += "; did you mean '" + hint + "'?";
  else if (std::find(targetKeys.begin(), targetKeys.end(), key) != targetKeys.end())
    message += "; target keys go under defaults: or under a target in targets:";
  else if (std::find(agentKeys.begin(), agentKeys.end(), key) != agentKeys.end())
    message += "; it belongs under agent:";
  else
    message += " (expected agent, defaults and targets)";
  loader.error(loc, message);
}

LoadResult finish(Loader& loader, std::optional<Config> config) {
  LoadResult r;
  std::vector<std::string> secrets;
  for (const auto& c : loader.conninfos())
    for (auto& s : connInfoSecrets(c)) secrets.push_back(std::move(s));
  for (auto& e : loader.errors()) e.message = redactSecrets(e.message, secrets);
  r.errors = std::move(loader.errors());
  std::stable_sort(r.errors.begin(), r.errors.end(), [](const auto& a, const auto& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  if (r.errors.empty()) r.config = std::move(config);
  return r;
}

/// Where the second document of the text starts, if there is one. Counts documents with yaml-cpp's
/// event parser, at most two: YAML::LoadAll (yaml-cpp 0.7) never returns on a ',' at the top
/// level (",\n", "\"x\",\n b"): the parser yields an empty document there without consuming
/// the token, and LoadAll collects them until memory runs out (found by fuzz_config_loader).
/// A "second document" that starts where the first one did is that case: a syntax error.
struct DocumentCount {
  int documents = 0;
  YAML::Mark second;
  bool stuck = false;
};
DocumentCount countDocuments(const std::string& text) {
  struct Counter : YAML::EventHandler {
    void OnDocumentStart(const YAML::Mark& mark) override {
      ++count;
      if (count > 1 && mark.pos == start.pos) stuck = true;
      start = mark;
      if (count == 2) second = mark;  // until its first node says better
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  const std::string&) override {
      node(mark);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
      node(mark);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
      node(mark);
    }
    void OnMapEnd() override {}
    void node(const YAML::Mark& mark) {
      if (count == 2 && !secondNode) second = mark, secondNode = true;
    }
    int count = 0;
    bool stuck = false, secondNode = false;
    YAML::Mark start, second;
  } counter;
  std::istringstream in(text);
  YAML::Parser parser(in);
  // A third document start tells a real second document from yaml-cpp not moving on.
  while (counter.count < 3 && !counter.stuck && parser.HandleNextDocument(counter)) {
  }
  DocumentCount result;
  result.documents = counter.count;
  result.second = counter.stuck ? counter.start : counter.second;
  result.stuck = counter.stuck;
  return result;
}

LoadResult loadDocument(Loader& loader, std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    loader.error({}, "not a text file (it contains NUL bytes); expected a YAML configuration");
    return finish(loader, std::nullopt);
  }
  std::vector<Node> docs;
  try {
    const std::string owned(text);
    DocumentCount count = countDocuments(owned);
    if (count.stuck) {
      loader.error(locOf(count.second), "YAML syntax error: unexpected ',' or other token here");
      return finish(loader, std::nullopt);
    }
    if (count.documents > 1) {
      loader.error(locOf(count.second), "only one YAML document is allowed (found a second '---')");
      return finish(loader, std::nullopt);
    }
    if (count.documents == 1) docs.push_back(YAML::Load(owned));
  } catch (const YAML::Exception& e) {
    std::string message = "YAML syntax error: " + e.msg;
    // The commonest cause yaml-cpp does not name: a tab in the indentation.
    if (!e.mark.is_null() && e.mark.line >= 0) {
      std::size_t start = 0;
      for (int l = 0; l < e.mark.line && start != std::string_view::npos; ++l) {
        start = text.find('\n', start);
        if (start != std::string_view::npos) ++start;
      }
      if (start != std::string_view::npos) {
        std::string_view line = text.substr(start, text.find('\n', start) - start);
        std::string_view indent = line.substr(0, line.find_first_not_of(" \t"));
        if (indent.find('\t') != std::string_view::npos)
          message += " (a tab in the indentation: YAML indents with spaces only)";
      }
    }
    loader.error(locOf(e.mark), message);
    return finish(loader, std::nullopt);
  } catch (const std::exception& e) {
    loader.error({}, std::string("cannot parse YAML: ") + e.what());
    return finish(loader, std::nullopt);
  }
  if (docs.empty() || (docs.size() == 1 && docs[0].IsNull())) {
    loader.error({},
                 "the file is empty; expected agent:, defaults: and targets: (see "
                 "docs/configuration.md)");
    return finish(loader, std::nullopt);
  }
  if (docs.size() > 1) {
    loader.error(locOf(docs[1].Mark()), "only one YAML document is allowed (found a second '---')");
    return finish(loader, std::nullopt);
  }
  const Node& root = docs[0];
  Loc rootLoc = locOf(root.Mark());
  if (rootLoc.line == 0) rootLoc = {1, 1};
  if (!root.IsMap()) {
    loader.error(rootLoc,
                 "not a pgvigil configuration: expected a mapping with agent, defaults "
                 "and targets at the top level, got " +
                     kindOf(root));
    return finish(loader, std::nullopt);
  }

  Config config;
  config.path = loader.file();
  Sources agentSources = defaultSources(agentSchema());
  TargetConfig base;
  Sources baseSources = defaultSources(targetSchema());
  Node agentNode, defaultsNode, targetsNode;
  Loc agentLoc = rootLoc, targetsLoc = rootLoc;
  std::map<std::string, Loc> seen;
  for (auto it = root.begin(); it != root.end(); ++it) {
    Loc keyLoc = locOf(it->first.Mark());
    if (!it->first.IsScalar()) {
      loader.error(keyLoc, "keys must be plain words, got " + kindOf(it->first));
      continue;
    }
    std::string key = it->first.Scalar();
    if (auto [pos, fresh] = seen.emplace(key, keyLoc); !fresh) {
      loader.error(keyLoc, key + ": duplicate key (first given at line " +
                               std::to_string(pos->second.line) + ")");
      continue;
    }
    Loc valueLoc = it->second.IsNull() ? keyLoc : locOf(it->second.Mark());
    if (valueLoc.line == 0) valueLoc = keyLoc;
    if (key == "agent" || key == "defaults") {
      if (!it->second.IsMap() && !it->second.IsNull()) {
        loader.error(valueLoc, key + ": expected a mapping, got " + kindOf(it->second));
        continue;
      }
      (key == "agent" ? agentNode : defaultsNode) = it->second;
      if (key == "agent") agentLoc = keyLoc;
    } else if (key == "targets") {
      targetsNode = it->second;
      targetsLoc = valueLoc;
    } else {
      unknownTopLevel(loader, key, keyLoc);
    }
  }

  std::set<std::string> agentGiven, baseGiven;
  if (agentNode.IsMap())
    applyMap(loader, agentSchema(), agentNode, "", config.agent, agentSources, agentGiven, "agent",
             false);
  validateAgent(loader, config.agent, agentSources, agentLoc);
  addSources(config, "agent.", agentSources);

  if (defaultsNode.IsMap())
    applyMap(loader, targetSchema(), defaultsNode, "", base, baseSources, baseGiven, "defaults",
             true);

  if (!targetsNode.IsDefined() || targetsNode.IsNull() ||
      (targetsNode.IsSequence() && targetsNode.size() == 0)) {
    loader.error(targetsLoc, "no targets: add at least one under targets: (name and conninfo)");
  } else if (!targetsNode.IsSequence()) {
    loader.error(targetsLoc,
                 "targets: expected a list (each item starting with '- name: ...'), "
                 "got " +
                     kindOf(targetsNode));
  } else {
    std::map<std::string, Loc> names;
    std::size_t index = 0;
    for (const auto& item : targetsNode) {
      std::string where = "targets[" + std::to_string(index++) + "]";
      Loc itemLoc = locOf(item.Mark());
      if (itemLoc.line == 0) itemLoc = targetsLoc;
      if (item.IsMap() && item["conninfo"].IsDefined() && item["conninfo"].IsScalar())
        loader.conninfos().push_back(expandEnv(item["conninfo"].Scalar(), loader.env()).value);
      if (!item.IsMap()) {
        loader.error(itemLoc, where +
                                  ": expected a mapping with name, conninfo and other target "
                                  "keys, got " +
                                  kindOf(item));
        continue;
      }
      TargetConfig t = base;
      Sources s = baseSources;
      std::set<std::string> given = baseGiven;
      applyMap(loader, targetSchema(), item, "", t, s, given, where, false);
      validateTarget(loader, t, s, given, itemLoc, where);
      if (isSet(s, "name")) {
        Loc nameLoc = locFor(s, "name", itemLoc);
        if (auto [pos, fresh] = names.emplace(t.name, nameLoc); !fresh)
          loader.error(nameLoc, where + ".name: duplicate target name '" + t.name +
                                    "' (first used at line " + std::to_string(pos->second.line) +
                                    ")");
      }
      addSources(config, where + ".", s);
      config.targets.push_back(std::move(t));
    }
  }
  if (defaultsNode.IsMap() && defaultsNode["conninfo"].IsScalar())
    loader.conninfos().push_back(expandEnv(defaultsNode["conninfo"].Scalar(), loader.env()).value);
  return finish(loader, std::move(config));
}

// ---------------------------------------------------------------------------------------------
// config show.

std::string describe(const ValueSource& s) {
  std::string loc = s.file + ":" + std::to_string(s.line) + ":" + std::to_string(s.column);
  switch (s.kind) {
    case ValueSource::Kind::kDefault:
      return "default";
    case ValueSource::Kind::kFile:
      return loc;
    case ValueSource::Kind::kEnv:
      return "env " + s.env + (s.line ? " (" + loc + ")" : "");
  }
  return "default";
}

template <class Obj>
void renderObject(std::ostringstream& out, const Schema<Obj>& schema, const Obj& obj,
                  const Config& config, const std::string& sourcePrefix, int indent,
                  const std::string& firstLinePrefix,
                  const std::function<std::string(const Field<Obj>&, const Obj&)>& value) {
  std::vector<std::string> open;  // the sections the last line was in
  std::string skip;               // children of a switched-off section
  bool first = true;
  auto pad = [&](std::size_t depth) {
    if (first) {
      first = false;
      return firstLinePrefix + std::string(depth * 2, ' ');
    }
    return std::string(static_cast<std::size_t>(indent) + depth * 2, ' ');
  };
  auto sourceOf = [&](const std::string& path) {
    auto it = config.sources.find(sourcePrefix + path);
    return describe(it == config.sources.end() ? ValueSource{} : it->second);
  };
  for (const auto& f : schema.fields()) {
    if (!skip.empty() && f.path.compare(0, skip.size(), skip) == 0) continue;
    std::vector<std::string> parts;
    std::stringstream ss(f.path);
    for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
    std::string leaf = parts.back();
    parts.pop_back();
    std::size_t common = 0;
    while (common < open.size() && common < parts.size() && open[common] == parts[common]) ++common;
    open.resize(common);
    for (std::size_t d = common; d < parts.size(); ++d) {
      out << pad(d) << parts[d] << ":\n";
      open.push_back(parts[d]);
    }
    if (f.sectionOn && f.sectionOn(obj)) {
      out << pad(parts.size()) << leaf << ":  # " << sourceOf(f.path) << "\n";
      open.push_back(leaf);
      continue;
    }
    if (f.sectionOn) skip = f.path + ".";
    out << pad(parts.size()) << leaf << ": " << value(f, obj) << "  # " << sourceOf(f.path) << "\n";
  }
}

}  // namespace

std::string ConfigError::toString() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult loadConfigString(std::string_view yamlText, const std::string& displayName,
                            const Env& env) {
  Loader loader(displayName, env);
  return loadDocument(loader, yamlText);
}

LoadResult loadConfigFile(const std::string& path, const Env& env) {
  Loader loader(path, env);
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    std::string why = ec ? ec.message() : "No such file or directory";
    loader.error({}, "cannot read the configuration: " + why);
    return finish(loader, std::nullopt);
  }
  if (std::filesystem::is_directory(status)) {
    loader.error({}, "is a directory, not a configuration file");
    return finish(loader, std::nullopt);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    loader.error({}, "cannot read the configuration: " +
                         std::make_error_code(static_cast<std::errc>(errno)).message());
    return finish(loader, std::nullopt);
  }
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) {
      loader.error({}, "the file is larger than 4 MiB; is it the right file?");
      return finish(loader, std::nullopt);
    }
  }
  if (in.bad()) {
    loader.error({}, "cannot read the configuration: read error");
    return finish(loader, std::nullopt);
  }
  return loadDocument(loader, text);
}

std::string formatErrors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.toString() + "\n";
  return out;
}

std::vector<std::string> configSecrets(const Config& config) {
  std::vector<std::string> out;
  for (const auto& t : config.targets)
    for (auto& s : connInfoSecrets(t.conninfo))
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  return out;
}

std::string renderEffectiveConfig(const Config& config, const RenderOptions& options) {
  const std::vector<std::string> secrets = configSecrets(config);
  std::ostringstream out;
  out << "# pgvigil effective configuration";
  if (!config.path.empty()) out << " from " << config.path;
  out << "\n# after defaults and ${ENV}; secrets masked; each value says where it came from:\n"
      << "# default, FILE:LINE:COL, or env VAR.\n";
  out << "agent:\n";
  renderObject<AgentConfig>(
      out, agentSchema(), config.agent, config, "agent.", 2, "  ",
      [](const Field<AgentConfig>& f, const AgentConfig& a) { return f.render(a); });
  out << "targets:\n";
  for (std::size_t i = 0; i < config.targets.size(); ++i) {
    renderObject<TargetConfig>(
        out, targetSchema(), config.targets[i], config, "targets[" + std::to_string(i) + "].", 4,
        "  - ", [&](const Field<TargetConfig>& f, const TargetConfig& t) {
          if (f.path != "conninfo") return f.render(t);
          std::string c =
              options.redact_conninfo ? options.redact_conninfo(t.conninfo) : t.conninfo;
          return yamlQuote(redactSecrets(c, secrets));
        });
  }
  return redactSecrets(out.str(), secrets);
}

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

std::string resolveConfigPath(std::string_view cliPath, const Env& env) {
  if (!cliPath.empty()) return std::string(cliPath);
  if (auto v = env.get("PGVIGIL_CONFIG"); v && !v->empty()) return *v;
#ifdef _WIN32
  std::string base = "C:\\ProgramData";
  if (auto pd = env.get("ProgramData"); pd && !pd->empty()) base = *pd;
  return base + "\\pgvigil\\pgvigil.yaml";
#else
  return "/etc/pgvigil/pgvigil.yaml";
#endif
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::string suggestKey(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t bestDistance = 0;
  const std::size_t limit = std::max<std::size_t>(1, std::min<std::size_t>(3, word.size() / 3));
  for (const auto& c : candidates) {
    std::size_t d = editDistance(word, c);
    // "warning" for "warn", "conn" for "connections": one spelled out the other.
    const bool prefix =
        std::min(word.size(), c.size()) >= 3 &&
        (toLower(word).rfind(toLower(c), 0) == 0 || toLower(c).rfind(toLower(word), 0) == 0);
    if (prefix && d > limit) d = limit;
    if (d <= limit && (best.empty() || d < bestDistance)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

}  // namespace pgvigil
