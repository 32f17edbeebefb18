// `config validate` / `config show`: thin wrappers over the core loader and renderer.
#include "app/cmd_config.h"

#include "app/cli.h"
#include "core/app_url.h"
#include "core/config_loader.h"
#include "core/config_show.h"
#include "core/env.h"
#include "core/redact.h"
#include "probes/conninfo.h"

namespace pgvigil {
namespace {

LoadResult loadFor(const std::string& path, std::ostream& err) {
  Env env = Env::process();
  LoadResult r = loadConfigFile(resolveConfigPath(path, env), env);
  if (!r.ok()) err << formatErrors(r.errors) << std::flush;
  return r;
}

bool validPortList(const std::string& ports) {
  std::size_t start = 0;
  while (true) {
    std::size_t comma = ports.find(',', start);
    std::string part = ports.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!part.empty()) {  // libpq: an empty entry means the default port
      if (part.size() > 5 || part.find_first_not_of("0123456789") != std::string::npos)
        return false;
      int p = std::stoi(part);
      if (p < 1 || p > 65535) return false;
    }
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

}  // namespace

std::string defaultConfigPath() {
  return resolveConfigPath("", Env::process());
}

int runConfigValidate(const std::string& path, std::ostream& out, std::ostream& err) {
  LoadResult r = loadFor(path, err);
  if (!r.ok()) return kExitInvalid;
  const Config& c = *r.config;
  // libpq's parser is the final judge of every conninfo the loader accepted or built (issue 11:
  // a value libpq rejects was called OK here, then failed every check).
  std::vector<ConfigError> libpqErrors;
  for (std::size_t i = 0; i < c.targets.size(); ++i) {
    std::string why;
    if (auto info = parseConnInfo(c.targets[i].conninfo, &why)) {
      if (!info->params.count("port") || validPortList(info->params.at("port"))) continue;
      // libpq accepts it here and rejects it only when connecting; the value is not shown: with
      // an empty ${DB_PORT}, "port= password=x" makes it the password.
      why =
          "port is not a number or a comma list of numbers (libpq rejects it when connecting; "
          "an empty ${VAR} in front of the next keyword makes that keyword the port's value)";
    }
    const std::string key = "targets[" + std::to_string(i) + "]";
    auto src = c.sources.find(key + ".conninfo");
    ConfigError e{
        c.path, 0, 0,
        key + ".conninfo: libpq cannot parse it: " + redactSecrets(why, configSecrets(c))};
    if (src != c.sources.end()) e.line = src->second.line, e.column = src->second.column;
    libpqErrors.push_back(std::move(e));
  }
  if (!libpqErrors.empty()) {
    err << formatErrors(libpqErrors) << std::flush;
    return kExitInvalid;
  }
  out << c.path << ": OK (" << c.targets.size()
      << (c.targets.size() == 1 ? " target: " : " targets: ");
  for (std::size_t i = 0; i < c.targets.size(); ++i) out << (i ? ", " : "") << c.targets[i].name;
  out << ")\n";
  for (const auto& t : c.targets)
    for (const auto& line : describeIgnored(t.ignored_params))
      out << t.name << ": " << line << "\n";
  return kExitOk;
}

int runConfigShow(const std::string& path, std::ostream& out, std::ostream& err) {
  LoadResult r = loadFor(path, err);
  if (!r.ok()) return kExitInvalid;
  // A conninfo libpq can parse is shown as written (passwords masked); one it cannot parse may
  // carry a secret in any value (issue 11), so it shows with its keywords and every value masked.
  RenderOptions options;
  options.redact_conninfo = [](const std::string& c) {
    const AppUrl app = normalizeAppUrl(c, /*keepUnknown=*/true);  // url: as the probe takes it
    std::string why;
    return app.ok() && parseConnInfo(app.conninfo, &why) ? c : redactConnInfo(c);
  };
  out << renderEffectiveConfig(*r.config, options);
  return kExitOk;
}

}  // namespace pgvigil
