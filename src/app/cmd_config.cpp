// `config validate` / `config show`: thin wrappers over the core loader and renderer.
#include "app/cmd_config.h"

#include "app/cli.h"
#include "core/config_loader.h"
#include "core/env.h"

namespace pgvigil {
namespace {

LoadResult loadFor(const std::string& path, std::ostream& err) {
  Env env = Env::process();
  LoadResult r = loadConfigFile(resolveConfigPath(path, env), env);
  if (!r.ok()) err << formatErrors(r.errors) << std::flush;
  return r;
}

}  // namespace

std::string defaultConfigPath() {
  return resolveConfigPath("", Env::process());
}

int runConfigValidate(const std::string& path, std::ostream& out, std::ostream& err) {
  LoadResult r = loadFor(path, err);
  if (!r.ok()) return kExitInvalid;
  const Config& c = *r.config;
  out << c.path << ": OK (" << c.targets.size()
      << (c.targets.size() == 1 ? " target: " : " targets: ");
  for (std::size_t i = 0; i < c.targets.size(); ++i) out << (i ? ", " : "") << c.targets[i].name;
  out << ")\n";
  return kExitOk;
}

int runConfigShow(const std::string& path, std::ostream& out, std::ostream& err) {
  LoadResult r = loadFor(path, err);
  if (!r.ok()) return kExitInvalid;
  out << renderEffectiveConfig(*r.config);
  return kExitOk;
}

}  // namespace pgvigil
