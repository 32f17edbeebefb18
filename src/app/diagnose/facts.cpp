#include "app/diagnose/facts.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <set>

namespace pgvigil {
namespace {

std::string installedMajor() {
  int best = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    int v = std::atoi(e.path().filename().string().c_str());
    if (v > best) best = v;
  }
  return best > 0 ? std::to_string(best) : "15";
}

/// Ports with a PostgreSQL unix socket in the usual directories (and the configured one).
std::set<int> localSocketPorts(const std::string& extraDir) {
  std::set<int> ports;
  std::vector<std::string> dirs = {"/var/run/postgresql", "/run/postgresql", "/tmp"};
  if (!extraDir.empty()) dirs.push_back(extraDir);
  for (const auto& dir : dirs) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(".s.PGSQL.", 0) != 0 || name.find(".lock") != std::string::npos) continue;
      std::error_code ec2;
      if (!std::filesystem::is_socket(e.path(), ec2)) continue;
      int p = std::atoi(name.c_str() + 9);
      if (p > 0) ports.insert(p);
    }
  }
  return ports;
}

void findPasswordSource(const ConnInfo& info, TargetFacts& f) {
  if (info.params.count("password") && !info.params.at("password").empty()) {
    f.password_source = "the conninfo";
    return;
  }
  if (const char* pw = std::getenv("PGPASSWORD"); pw && *pw) {
    f.password_source = "PGPASSWORD";
    return;
  }
  std::string file;
  if (info.params.count("passfile"))
    file = info.params.at("passfile");
  else if (const char* pf = std::getenv("PGPASSFILE"); pf && *pf)
    file = pf;
  else if (const char* home = std::getenv("HOME"); home && *home)
    file = std::string(home) + "/.pgpass";
  struct stat st {};
  if (!file.empty() && ::stat(file.c_str(), &st) == 0) {
    f.password_source = "the password file " + file;
    if (st.st_mode & (S_IRWXG | S_IRWXO))
      f.passfile_problem =
          file + " has group or world access, so libpq ignores it: chmod 0600 " + file;
    return;
  }
  f.password_source = "nothing (no password in the conninfo, no PGPASSWORD, no " +
                      (file.empty() ? std::string("~/.pgpass") : file) + ")";
}

}  // namespace

std::string firstOf(const std::string& list) {
  return list.substr(0, list.find(','));
}

/// Facts that come from the conninfo and the environment alone.
TargetFacts factsFor(const TargetConfig& target, const ConnInfo& info, Millis timeout) {
  TargetFacts f;
  f.name = target.name;
  std::string host = firstOf(info.host());
  if (host.empty() && !info.params.count("host"))
    if (const char* h = std::getenv("PGHOST"); h && *h) host = firstOf(h);
  f.port = info.port();
  if (!info.params.count("port"))
    if (const char* p = std::getenv("PGPORT"); p && *p && std::atoi(p) > 0) f.port = std::atoi(p);
  f.unix_socket = host.empty() || host.front() == '/' || host.front() == '@';
  if (!firstOf(info.hostaddr()).empty()) f.unix_socket = false;
  if (f.unix_socket && host.empty()) host = "/var/run/postgresql";
  f.host = host;
  if (f.unix_socket) f.socket_path = host + "/.s.PGSQL." + std::to_string(f.port);
  f.user = info.user();
  if (f.user.empty()) {
    if (const char* u = std::getenv("PGUSER"); u && *u)
      f.user = u;
    else if (const char* u2 = std::getenv("USER"); u2 && *u2)
      f.user = u2;
    else
      f.user = "postgres";
  }
  f.dbname = info.dbname();
  if (f.dbname.empty()) {
    if (const char* d = std::getenv("PGDATABASE"); d && *d)
      f.dbname = d;
    else
      f.dbname = f.user;
  }
  if (info.params.count("sslmode"))
    f.sslmode = info.params.at("sslmode");
  else if (const char* s = std::getenv("PGSSLMODE"); s && *s)
    f.sslmode = s;
  findPasswordSource(info, f);
  f.pg_major = installedMajor();
  f.restart = target.restart;
  f.timeout = timeout;
  f.recovery_grace = target.restart.recovery_grace;
  f.warn = target.connections.warn;
  f.critical = target.connections.critical;
  return f;
}

Problem refineRefused(Problem p, TargetFacts& facts) {
  std::string socketDir;
  if (facts.unix_socket) socketDir = facts.socket_path.substr(0, facts.socket_path.rfind('/'));
  const std::set<int> ports = localSocketPorts(socketDir);
  facts.local_socket_on_port = ports.count(facts.port) > 0;
  facts.other_ports.clear();
  for (int port : ports)
    if (port != facts.port) facts.other_ports.push_back(port);
  const bool loopback =
      facts.address == "127.0.0.1" || facts.address == "::1" || facts.host == "localhost";
  if (!facts.unix_socket && loopback && facts.local_socket_on_port) return Problem::kNoListenerTcp;
  if (!facts.local_socket_on_port && !facts.other_ports.empty()) return Problem::kWrongPort;
  return p;
}

}  // namespace pgvigil
