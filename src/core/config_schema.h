// The configuration schema (docs/reference.md §2): the one place a key is declared. Each key of a
// section (agent, target) is one Field: its dotted name, its type as the docs and messages say it,
// how it is read and checked (bounds included), how `config show` renders it, whether a reload can
// change it, whether it may stand in defaults and whether it carries a secret. The defaults are
// the member initializers of the structs in config.h; the schema reads them from a
// default-constructed object and never repeats them.
//
// Internal to the core: config_loader.cpp walks the YAML with these tables, config_show.cpp renders
// them. The public API is config_loader.h, config_show.h and config_suggest.h.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/config_loader.h"
#include "core/env.h"

namespace pgvigil::config_detail {

/// A 1-based position in the file; line 0 means "no position".
struct Loc {
  int line = 0;
  int col = 0;
};

Loc locOf(const YAML::Mark& m);

/// "" for a valid target name (1 to 63 of a-z, 0-9, '_', '-'), else why not. The config and the
/// state file both hold names to it.
std::string checkTargetName(const std::string& s);

std::string toLower(std::string_view s);
/// A value quoted for an error message, shortened.
std::string shown(std::string_view s);
std::string joinNames(const std::vector<std::string>& names, std::string_view sep = ", ");
/// "a mapping", "a list", "nothing" or "a plain value", for messages.
std::string kindOf(const YAML::Node& n);
/// true/yes/on and false/no/off, any case.
std::optional<bool> parseBool(std::string_view text);
/// A string as a double-quoted YAML scalar that loads back to the same string (without ${ENV}
/// expansion). Implemented in config_show.cpp with YAML::Emitter.
std::string yamlQuote(std::string_view s);

/// The state of one load: the errors found so far and the ${ENV} source.
class Loader {
 public:
  Loader(std::string file, const Env& env) : file_(std::move(file)), env_(env) {}

  void error(Loc loc, std::string message) {
    errors_.push_back(ConfigError{file_, loc.line, loc.col, std::move(message)});
  }
  const std::string& file() const { return file_; }
  const Env& env() const { return env_; }
  /// From env_file: the process environment layered over the files' variables.
  void setEnv(Env env) { env_ = std::move(env); }
  std::vector<ConfigError>& errors() { return errors_; }
  /// Raw conninfo strings seen, valid or not: their passwords are masked in every error.
  std::vector<std::string>& conninfos() { return conninfos_; }

  ValueSource sourceAt(Loc loc, const std::vector<std::string>& env) const;

 private:
  std::string file_;
  Env env_;
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
  Input(Loader& loader, const YAML::Node& node, Loc loc, std::string where)
      : loader_(loader), node_(node), loc_(loc), where_(std::move(where)) {}

  const YAML::Node& node() const { return node_; }
  Loc loc() const { return loc_; }
  const std::string& where() const { return where_; }
  const std::vector<std::string>& env() const { return env_; }
  Loader& loader() { return loader_; }

  void fail(const std::string& message) { failAt(loc_, message); }
  void failAt(Loc loc, const std::string& message);

  /// The node as one scalar, ${ENV} expanded; reports and returns nullopt otherwise.
  std::optional<Scalar> scalar(std::string_view expected) {
    return scalarOf(node_, loc_, expected);
  }
  std::optional<Scalar> scalarOf(const YAML::Node& n, Loc loc, std::string_view expected);

 private:
  Loader& loader_;
  const YAML::Node& node_;
  Loc loc_;
  std::string where_;
  std::vector<std::string> env_;
};

/// One key of a section.
template <class Obj>
struct Field {
  std::string path;  ///< dotted, relative to the section: "restart.backoff.initial"
  std::string type;  ///< for messages and docs: "duration", "string", ...
  /// Reads the value into obj; reports its own errors. True when the value was set.
  std::function<bool(Input&, Obj&)> read;
  /// The value as YAML text for `config show` (already quoted where needed).
  std::function<std::string(const Obj&)> render;
  /// String fields only: the value itself, unquoted (for redaction before rendering).
  std::function<std::string(const Obj&)> text;
  bool reloadable = true;
  bool allowedInDefaults = true;
  /// The value may hold a password (conninfo): `config show` passes it through the caller's
  /// redaction before the core's own.
  bool secret = false;
  /// For a key that is either a switch or a section (checks.connections): called when it is
  /// given as a mapping; render shows the children only while this returns true.
  std::function<void(Obj&)> onSection;
  std::function<bool(const Obj&)> sectionOn;
  /// `config show` leaves the key out while this returns true (connection forms not in use).
  std::function<bool(const Obj&)> omit;
};

/// The keys of one section, in the order `config show` prints them.
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

/// Reads the top-level `env_file:` (one path or a list, in order) and layers its variables under
/// the loader's environment for every later ${VAR}. Implemented in config_env_file.cpp.
void applyEnvFiles(Loader& loader, const YAML::Node& node, Loc loc);

/// The keys under `agent:`.
const Schema<AgentConfig>& agentSchema();
/// The keys of a target (and of `defaults:`).
const Schema<TargetConfig>& targetSchema();

// The connection forms besides conninfo (url; host, port, dbname, user, password): config_conn.cpp.
std::vector<Field<TargetConfig>> connectionFields();
/// True when the target gives url: or a structured field rather than conninfo.
bool usesConnectionFields(const TargetConfig& t);
/// Checks that a target uses one form and builds its conninfo from it.
void composeConnection(Loader& loader, TargetConfig& t, std::map<std::string, ValueSource>& sources,
                       const std::set<std::string>& given, Loc item, const std::string& where);
/// Remembers the secrets a target or defaults mapping spells out (url, password) for redaction.
void rememberConnSecrets(Loader& loader, const YAML::Node& map);

}  // namespace pgvigil::config_detail
