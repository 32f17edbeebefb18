// Configuration loading: walks the YAML with the schema tables (config_schema.h), checks the rules
// that involve several keys and reports every error at FILE:LINE:COL. See config_loader.h and
// docs/configuration.md.
#include "core/config_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "core/config_schema.h"
#include "core/redact.h"
#include "core/units.h"

namespace pgvigil {
namespace {

using namespace config_detail;
using YAML::Node;

constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;

using Sources = std::map<std::string, ValueSource>;

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

/// The log outputs this build can write: stdout, stderr, file everywhere; syslog off Windows;
/// journald on Linux (its builds link libsystemd); eventlog on Windows. Any other is a config
/// error at agent.log.output, as a restart method the build lacks is one at the method.
std::vector<LogOutput> logOutputsOfThisBuild() {
  std::vector<LogOutput> o{LogOutput::kStdout, LogOutput::kStderr, LogOutput::kFile};
#if !defined(_WIN32)
  o.push_back(LogOutput::kSyslog);
#endif
#if defined(__linux__)
  o.push_back(LogOutput::kJournald);
#endif
#if defined(_WIN32)
  o.push_back(LogOutput::kEventlog);
#endif
  return o;
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
  const auto outputs = logOutputsOfThisBuild();
  if (std::find(outputs.begin(), outputs.end(), a.log.output) == outputs.end()) {
    std::vector<std::string> names;
    for (LogOutput o : outputs) names.emplace_back(toString(o));
    loader.error(locFor(s, "log.output", section),
                 "agent.log.output: output " + std::string(toString(a.log.output)) +
                     " is not available in this build (" + std::string(buildPlatformName()) +
                     "); this build supports " + joinNames(names, ", "));
  }
}

void addSources(Config& c, const std::string& prefix, const Sources& s) {
  for (const auto& [k, v] : s) c.sources[prefix + k] = v;
}

/// The top-level keys, with a hint when a key of a section was put at the top.
void unknownTopLevel(Loader& loader, const std::string& key, Loc loc) {
  std::string message = "unknown top-level key '" + key + "'";
  std::vector<std::string> top{"agent", "defaults", "targets", "env_file"};
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
    message += " (expected agent, defaults, targets and env_file)";
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
  Node agentNode, defaultsNode, targetsNode, envFileNode;
  Loc envFileLoc;
  bool envFileGiven = false;
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
    } else if (key == "env_file") {
      envFileNode = it->second;
      envFileLoc = valueLoc;
      envFileGiven = true;
    } else if (key == "targets") {
      targetsNode = it->second;
      targetsLoc = valueLoc;
    } else {
      unknownTopLevel(loader, key, keyLoc);
    }
  }

  // Before any other key, wherever it stands: its variables serve every ${VAR} in the file.
  if (envFileGiven) applyEnvFiles(loader, envFileNode, envFileLoc);

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
      rememberConnSecrets(loader, item);
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
      composeConnection(loader, t, s, given, itemLoc, where);
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
  rememberConnSecrets(loader, defaultsNode);
  return finish(loader, std::move(config));
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

}  // namespace pgvigil
