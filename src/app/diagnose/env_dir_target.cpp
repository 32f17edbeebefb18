// The .env folder as a target to diagnose. See env_dir_target.h.
#include "app/diagnose/env_dir_target.h"

#include <algorithm>

#include "app/diagnose/facts.h"
#include "core/app_url.h"
#include "core/redact.h"
#include "probes/conninfo.h"

namespace pgvigil {
namespace {

// The application URLs, in the order the one to diagnose is chosen.
const std::vector<std::string> kUrlNames = {"DATABASE_URL", "POSTGRES_URL", "POSTGRES_PRISMA_URL",
                                            "POSTGRES_URL_NON_POOLING", "DIRECT_URL"};

bool holdsPassword(const std::string& name) {
  return name.find("PASSWORD") != std::string::npos || name.find("PASSWD") != std::string::npos;
}

/// The URL as libpq takes it: the parameters of application drivers (Prisma, JDBC, node-postgres)
/// dropped and named in `dropped`, the way a target's `conninfo:` URL is (core/app_url.h).
std::string dropAppParams(const std::string& url, std::vector<std::string>& dropped) {
  AppUrl app = normalizeAppUrl(url, /*keepUnknown=*/true);
  if (!app.ok()) return url;  // libpq says what is wrong with it, in diagnose's config step
  for (const auto& p : app.ignored) dropped.push_back(p.name);
  return app.conninfo;
}

std::string normalHost(std::string h) {
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  if (h == "127.0.0.1" || h == "::1" || h == "[::1]" || h == "localhost") return "localhost";
  return h;
}

struct Server {
  std::string host;
  int port = 0;
  std::string dbname;
  bool operator==(const Server&) const = default;
};

std::optional<Server> serverOf(const TargetConfig& t) {
  std::string error;
  std::optional<ConnInfo> info = parseConnInfo(t.conninfo, &error);
  if (!info) return std::nullopt;
  TargetFacts f = factsFor(t, *info, t.timeout);
  return Server{f.unix_socket ? f.socket_path : normalHost(f.host), f.port, f.dbname};
}

}  // namespace

EnvDirTarget envDirTarget(const std::string& dir, const Env& process) {
  EnvDirTarget r;
  r.report = readEnvDir(dir, process);
  for (const auto& v : r.report.variables) {
    for (const auto& s : v.sources) {
      if (holdsPassword(v.name) && !s.value.empty()) r.secrets.push_back(s.value);
      for (auto& secret : connInfoSecrets(s.value)) r.secrets.push_back(std::move(secret));
    }
  }
  auto from = [&](const std::string& name) {
    return name + " from " + r.report.find(name)->sources.front().file;
  };
  const std::string tail = " (NODE_ENV=" + r.report.node_env + ")";
  TargetConfig t;
  t.name = "env-dir";
  for (const auto& name : kUrlNames) {
    if (auto url = r.report.value(name); url && !url->empty()) {
      t.conninfo = dropAppParams(*url, r.dropped);
      r.origin = from(name) + tail;
      r.target = t;
      return r;
    }
  }
  // Separate variables: DB_* (the common application convention), else libpq's own PG*.
  struct Key {
    const char* keyword;
    std::vector<const char*> db;
    const char* pg;
  };
  const std::vector<Key> keys = {{"host", {"DB_HOST"}, "PGHOST"},
                                 {"port", {"DB_PORT"}, "PGPORT"},
                                 {"dbname", {"DB_NAME", "DB_DATABASE"}, "PGDATABASE"},
                                 {"user", {"DB_USER", "DB_USERNAME"}, "PGUSER"},
                                 {"password", {"DB_PASSWORD"}, "PGPASSWORD"}};
  for (bool db : {true, false}) {
    std::vector<std::string> used;
    for (const auto& k : keys) {
      std::vector<const char*> names = db ? k.db : std::vector<const char*>{k.pg};
      for (const char* n : names) {
        auto v = r.report.value(n);
        if (!v) continue;
        t.conninfo +=
            (t.conninfo.empty() ? "" : " ") + std::string(k.keyword) + "=" + quoteConninfoValue(*v);
        used.push_back(from(n));
        break;
      }
    }
    if (!used.empty()) {
      r.origin.clear();
      for (const auto& u : used) r.origin += (r.origin.empty() ? "" : ", ") + u;
      r.origin += tail;
      r.target = t;
      return r;
    }
  }
  return r;
}

std::string formatEnvDir(const EnvDirTarget& t) {
  const EnvDirReport& r = t.report;
  std::string out = "env-dir: NODE_ENV=" + r.node_env + "; precedence: process environment";
  for (const auto& f : r.files) out += " > " + f;
  out += "\n  files found: ";
  if (r.found.empty()) out += "none";
  for (std::size_t i = 0; i < r.found.size(); ++i) out += (i ? ", " : "") + r.found[i];
  out += "\n";
  for (const auto& e : r.errors) out += "  skipped line: " + e + "\n";
  for (const auto& v : r.variables) {
    const bool secret = holdsPassword(v.name);
    out += "  " + v.name + (v.conflict() ? " (files disagree)" : "") + ":\n";
    for (std::size_t i = 0; i < v.sources.size(); ++i) {
      const auto& s = v.sources[i];
      std::string where = s.file + (s.line > 0 ? ":" + std::to_string(s.line) : "");
      std::string value = secret ? std::string(kRedacted) : "'" + s.value + "'";
      out += std::string(i == 0 ? "    wins  " : "    hidden") + " " + where + " = " + value + "\n";
    }
  }
  if (t.target) {
    out += "  diagnosing " + t.origin + "\n";
    if (!t.dropped.empty()) {
      out += "  ignored for the probe (used by the application's driver, e.g. Prisma):";
      for (const auto& d : t.dropped) out += " " + d;
      out += "\n";
    }
  }
  return redactSecrets(out, t.secrets);
}

EnvDirListing envDirListing(const EnvDirTarget& t, const std::string& dir,
                            const std::string& verdict) {
  const EnvDirReport& r = t.report;
  EnvDirListing out;
  out.dir = dir;
  out.node_env = r.node_env;
  out.precedence.emplace_back(kProcessEnvSource);
  out.precedence.insert(out.precedence.end(), r.files.begin(), r.files.end());
  out.found = r.found;
  out.skipped = r.errors;
  for (const auto& v : r.variables) {
    EnvDirListing::Variable lv;
    lv.name = v.name;
    lv.conflict = v.conflict();
    for (const auto& s : v.sources)
      lv.sources.push_back(
          {s.file, s.line,
           holdsPassword(v.name) ? std::string(kRedacted) : redactSecrets(s.value, t.secrets)});
    out.variables.push_back(std::move(lv));
  }
  if (t.target) out.diagnosed = t.origin;
  out.ignored = t.dropped;
  out.verdict = verdict;
  return out;
}

const TargetConfig* sameServer(const TargetConfig& t, const Config& config) {
  std::optional<Server> mine = serverOf(t);
  if (!mine) return nullptr;
  for (const auto& c : config.targets)
    if (serverOf(c) == mine) return &c;
  return nullptr;
}

}  // namespace pgvigil
