// Reading an application's .env folder. See env_dir.h.
#include "core/env_dir.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/dotenv.h"

namespace pgvigil {
namespace {

// The names looked for in the process environment, and the order the report lists them in.
const std::vector<std::string>& knownNames() {
  static const std::vector<std::string> names = {"DATABASE_URL",
                                                 "POSTGRES_URL",
                                                 "POSTGRES_PRISMA_URL",
                                                 "POSTGRES_URL_NON_POOLING",
                                                 "DIRECT_URL",
                                                 "DB_HOST",
                                                 "DB_PORT",
                                                 "DB_NAME",
                                                 "DB_DATABASE",
                                                 "DB_USER",
                                                 "DB_USERNAME",
                                                 "DB_PASSWORD",
                                                 "PGHOST",
                                                 "PGHOSTADDR",
                                                 "PGPORT",
                                                 "PGDATABASE",
                                                 "PGUSER",
                                                 "PGPASSWORD",
                                                 "PGSSLMODE",
                                                 "PGOPTIONS"};
  return names;
}

bool endsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

bool EnvDirVariable::conflict() const {
  for (const auto& s : sources)
    if (s.value != sources.front().value) return true;
  return false;
}

const EnvDirVariable* EnvDirReport::find(std::string_view name) const {
  for (const auto& v : variables)
    if (v.name == name) return &v;
  return nullptr;
}

std::optional<std::string> EnvDirReport::value(std::string_view name) const {
  const EnvDirVariable* v = find(name);
  if (!v || v->sources.empty()) return std::nullopt;
  return v->sources.front().value;
}

std::vector<std::string> envDirFileNames(std::string_view nodeEnv) {
  const std::string e(nodeEnv);
  std::vector<std::string> files{".env." + e + ".local"};
  if (e != "test") files.push_back(".env.local");  // tests must not depend on a developer's file
  files.push_back(".env." + e);
  files.push_back(".env");
  return files;
}

bool isDatabaseVariable(std::string_view name) {
  const auto& known = knownNames();
  if (std::find(known.begin(), known.end(), name) != known.end()) return true;
  if (endsWith(name, "DATABASE_URL") || name.substr(0, 9) == "POSTGRES_") return true;
  if (name.size() > 2 && name.substr(0, 2) == "PG")
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; });
  return false;
}

EnvDirReport readEnvDir(const std::string& dir, const Env& process) {
  EnvDirReport r;
  r.node_env = process.get("NODE_ENV").value_or("");
  if (r.node_env.empty()) r.node_env = "development";
  r.files = envDirFileNames(r.node_env);

  std::map<std::string, EnvDirVariable> vars;
  auto add = [&](const std::string& name, EnvDirSource s) {
    EnvDirVariable& v = vars[name];
    v.name = name;
    v.sources.push_back(std::move(s));
  };
  std::vector<std::string> names = knownNames();
  std::vector<DotenvFile> parsed;
  for (const auto& f : r.files) {
    std::filesystem::path path = std::filesystem::path(dir) / f;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      parsed.emplace_back();
      continue;
    }
    r.found.push_back(f);
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    parsed.push_back(parseDotenv(text.str()));
    for (const auto& e : parsed.back().errors)
      r.errors.push_back(f + ":" + std::to_string(e.line) + ": " + e.message);
    for (const auto& e : parsed.back().entries)
      if (isDatabaseVariable(e.name) &&
          std::find(names.begin(), names.end(), e.name) == names.end())
        names.push_back(e.name);
  }
  for (const auto& name : names) {
    // libpq takes an empty PG* variable as unset; anything else set but empty still wins.
    auto v = process.get(name);
    if (v && !(v->empty() && name.compare(0, 2, "PG") == 0))
      add(name, {std::string(kProcessEnvSource), 0, *v});
    for (std::size_t i = 0; i < r.files.size(); ++i)
      if (const DotenvEntry* e = findLast(parsed[i], name))
        add(name, {r.files[i], e->line, e->value});
  }
  for (const auto& name : names)
    if (auto it = vars.find(name); it != vars.end()) r.variables.push_back(std::move(it->second));
  return r;
}

}  // namespace pgvigil
