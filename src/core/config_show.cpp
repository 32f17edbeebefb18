// `config show`: the effective configuration rendered from the schema tables, each value with its
// origin, secrets masked. See config_show.h.
#include "core/config_show.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <sstream>

#include "core/config_schema.h"
#include "core/redact.h"

namespace pgvigil {

namespace config_detail {

std::string yamlQuote(std::string_view s) {
  // "${" is doubled to "$${" so that loading the output does not expand it again; the rest is
  // yaml-cpp's double-quoted style.
  std::string escaped;
  escaped.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    escaped += s[i];
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') escaped += '$';
  }
  YAML::Emitter out;
  out << YAML::DoubleQuoted << escaped;
  return out.c_str();
}

}  // namespace config_detail

namespace {

using namespace config_detail;

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
    if (f.omit && f.omit(obj)) continue;
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

std::vector<std::string> configSecrets(const Config& config) {
  std::vector<std::string> out;
  auto add = [&](std::string s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end())
      out.push_back(std::move(s));
  };
  for (const auto& t : config.targets) {
    for (auto& s : connInfoSecrets(t.conninfo)) add(std::move(s));
    for (auto& s : connInfoSecrets(t.url)) add(std::move(s));
    add(t.password);
  }
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
    renderObject<TargetConfig>(out, targetSchema(), config.targets[i], config,
                               "targets[" + std::to_string(i) + "].", 4, "  - ",
                               [&](const Field<TargetConfig>& f, const TargetConfig& t) {
                                 if (!f.secret || !f.text) return f.render(t);
                                 std::string c = f.text(t);
                                 if (options.redact_conninfo) c = options.redact_conninfo(c);
                                 return yamlQuote(redactSecrets(c, secrets));
                               });
    const TargetConfig& t = config.targets[i];
    if (usesConnectionFields(t)) {
      std::string c = options.redact_conninfo ? options.redact_conninfo(t.conninfo) : t.conninfo;
      out << "    # the probe's conninfo: " << redactSecrets(c, secrets) << "\n";
    }
    for (const auto& line : describeIgnored(t.ignored_params)) out << "    # " << line << "\n";
  }
  return redactSecrets(out.str(), secrets);
}

}  // namespace pgvigil
