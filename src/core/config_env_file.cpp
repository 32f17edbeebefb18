// The top-level `env_file:` key: .env files whose variables ${VAR} expansion uses, read as Node's
// dotenv does (core/dotenv.h). Rules (docs/configuration.md): files load in the order given; a
// variable already set by an earlier file is not overridden by a later one; the process
// environment wins over every file; a relative path is relative to the configuration file.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/config_schema.h"
#include "core/dotenv.h"

namespace pgvigil::config_detail {
namespace {

constexpr std::uintmax_t kMaxEnvFileBytes = 1024 * 1024;

/// Reads one file into `vars` (earlier files win); reports problems at the path's position.
void readEnvFile(Loader& loader, const std::string& given, Loc loc,
                 std::map<std::string, std::string>& vars) {
  namespace fs = std::filesystem;
  fs::path path(given);
  if (path.is_relative()) {
    fs::path base = fs::path(loader.file()).parent_path();
    if (!base.empty()) path = base / path;
  }
  const std::string shownPath = path.string();
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    loader.error(loc, "env_file: cannot read '" + shownPath + "': No such file or directory");
    return;
  }
  if (fs::is_directory(status)) {
    loader.error(loc, "env_file: '" + shownPath + "' is a directory, not a .env file");
    return;
  }
  if (fs::file_size(path, ec) > kMaxEnvFileBytes) {
    loader.error(loc, "env_file: '" + shownPath + "' is larger than 1 MiB; is it the right file?");
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    loader.error(loc, "env_file: cannot read '" + shownPath + "'");
    return;
  }
  DotenvFile parsed = parseDotenv(text.str());
  for (const auto& e : parsed.errors)
    loader.error(loc, "env_file: " + shownPath + ":" + std::to_string(e.line) + ": " + e.message);
  std::map<std::string, std::string> mine;  // within one file the last assignment wins
  for (auto& e : parsed.entries) mine[e.name] = std::move(e.value);
  for (auto& [k, v] : mine) vars.emplace(k, std::move(v));  // an earlier file keeps its value
}

}  // namespace

void applyEnvFiles(Loader& loader, const YAML::Node& node, Loc loc) {
  std::map<std::string, std::string> vars;
  auto one = [&](const YAML::Node& n, Loc at) {
    if (!n.IsScalar() || n.Scalar().empty()) {
      loader.error(at, "env_file: expected a file path or a list of paths, got " + kindOf(n));
      return;
    }
    Expansion path = expandEnv(n.Scalar(), loader.env());  // the process environment only
    if (!path.ok()) {
      loader.error(at, "env_file: " + path.error);
      return;
    }
    readEnvFile(loader, path.value, at, vars);
  };
  if (node.IsSequence()) {
    if (node.size() == 0) loader.error(loc, "env_file: the list is empty");
    for (const auto& item : node) {
      Loc at = locOf(item.Mark());
      one(item, at.line == 0 ? loc : at);
    }
  } else {
    one(node, loc);
  }
  if (!vars.empty()) loader.setEnv(Env::layered(loader.env(), Env::fromMap(std::move(vars))));
}

}  // namespace pgvigil::config_detail
