#include "app/cmd_diagnose.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <ostream>
#include <set>
#include <thread>

#include "app/cli.h"
#include "app/cmd_check.h"
#include "core/classify.h"
#include "core/clock.h"
#include "core/config_loader.h"
#include "core/env.h"
#include "core/redact.h"
#include "core/unique_fd.h"
#include "core/units.h"
#include "probes/connections_check.h"
#include "probes/conninfo.h"

namespace pgvigil {

using namespace std::chrono_literals;

std::string_view toString(Problem p) {
  switch (p) {
    case Problem::kNone:
      return "none";
    case Problem::kDnsFailure:
      return "dns_failure";
    case Problem::kRefused:
      return "refused";
    case Problem::kNoListenerTcp:
      return "no_tcp_listener";
    case Problem::kWrongPort:
      return "wrong_port";
    case Problem::kNoSocket:
      return "no_socket";
    case Problem::kSocketPermission:
      return "socket_permission";
    case Problem::kUnreachable:
      return "unreachable";
    case Problem::kConnectTimeout:
      return "connect_timeout";
    case Problem::kStartupTimeout:
      return "startup_timeout";
    case Problem::kReset:
      return "reset";
    case Problem::kTlsNotOffered:
      return "tls_not_offered";
    case Problem::kTlsCertificate:
      return "tls_certificate";
    case Problem::kTlsOther:
      return "tls";
    case Problem::kStartingUp:
      return "starting_up";
    case Problem::kHotStandbyOff:
      return "hot_standby_off";
    case Problem::kShuttingDown:
      return "shutting_down";
    case Problem::kTooManyConnections:
      return "too_many_connections";
    case Problem::kHbaNoEntry:
      return "pg_hba_no_entry";
    case Problem::kHbaReject:
      return "pg_hba_reject";
    case Problem::kPasswordFailed:
      return "password_failed";
    case Problem::kNoPassword:
      return "no_password";
    case Problem::kRoleMissing:
      return "role_missing";
    case Problem::kPeerAuthFailed:
      return "peer_auth_failed";
    case Problem::kAuthOther:
      return "auth_failed";
    case Problem::kNoDatabase:
      return "no_database";
    case Problem::kQueryError:
      return "query_error";
    case Problem::kQueryTimeout:
      return "query_timeout";
    case Problem::kSaturated:
      return "saturated";
    case Problem::kNearlySaturated:
      return "nearly_saturated";
    case Problem::kInternal:
      return "internal";
  }
  return "internal";
}

namespace {

bool has(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

Problem classifyConnectionError(std::string_view m) {
  // Server FATALs first: they are the most specific, and libpq may append its own lines.
  if (has(m, "too many clients") || has(m, "remaining connection slots are reserved") ||
      has(m, "too many connections for role") || has(m, "too many connections for database"))
    return Problem::kTooManyConnections;
  if (has(m, "Hot standby mode is disabled")) return Problem::kHotStandbyOff;
  if (has(m, "the database system is starting up") ||
      has(m, "the database system is not yet accepting connections") ||
      has(m, "the database system is not accepting connections") ||
      has(m, "the database system is in recovery mode"))
    return Problem::kStartingUp;
  if (has(m, "the database system is shutting down")) return Problem::kShuttingDown;
  if (has(m, "no pg_hba.conf entry")) return Problem::kHbaNoEntry;
  if (has(m, "pg_hba.conf rejects connection")) return Problem::kHbaReject;
  if (has(m, "password authentication failed")) return Problem::kPasswordFailed;
  if (has(m, "no password supplied") || has(m, "password is required")) return Problem::kNoPassword;
  if (has(m, "Peer authentication failed") || has(m, "Ident authentication failed"))
    return Problem::kPeerAuthFailed;
  if (has(m, "role \"") && has(m, "\" does not exist")) return Problem::kRoleMissing;
  if (has(m, "database \"") && has(m, "\" does not exist")) return Problem::kNoDatabase;
  if (has(m, "authentication failed") || has(m, "is not permitted to log in") || has(m, "SCRAM") ||
      has(m, "authentication method"))
    return Problem::kAuthOther;
  // TLS, before the socket errors: a failed handshake also mentions the closed connection.
  if (has(m, "server does not support SSL")) return Problem::kTlsNotOffered;
  if (has(m, "certificate") || has(m, "root.crt") || has(m, "does not match host name"))
    return Problem::kTlsCertificate;
  if (has(m, "SSL") || has(m, "TLS") || has(m, "ssl")) return Problem::kTlsOther;
  if (has(m, "could not translate host name") || has(m, "Name or service not known") ||
      has(m, "Temporary failure in name resolution"))
    return Problem::kDnsFailure;
  if (has(m, "Connection refused")) return Problem::kRefused;
  if (has(m, "No such file or directory")) return Problem::kNoSocket;
  if (has(m, "Permission denied")) return Problem::kSocketPermission;
  if (has(m, "No route to host") || has(m, "Network is unreachable")) return Problem::kUnreachable;
  if (has(m, "timeout expired") || has(m, "timed out")) return Problem::kStartupTimeout;
  if (has(m, "server closed the connection unexpectedly") || has(m, "Connection reset") ||
      has(m, "EOF detected") || has(m, "Broken pipe") || has(m, "could not receive data"))
    return Problem::kReset;
  return Problem::kInternal;
}

Cause causeOf(Problem p) {
  switch (p) {
    case Problem::kNone:
    case Problem::kNearlySaturated:
      return Cause::kNone;
    case Problem::kDnsFailure:
      return Cause::kDns;
    case Problem::kRefused:
    case Problem::kNoListenerTcp:
    case Problem::kWrongPort:
    case Problem::kNoSocket:
    case Problem::kSocketPermission:
    case Problem::kUnreachable:
      return Cause::kRefused;
    case Problem::kConnectTimeout:
    case Problem::kStartupTimeout:
    case Problem::kQueryTimeout:
      return Cause::kTimeout;
    case Problem::kReset:
      return Cause::kReset;
    case Problem::kTlsNotOffered:
    case Problem::kTlsCertificate:
    case Problem::kTlsOther:
      return Cause::kTls;
    case Problem::kStartingUp:
    case Problem::kHotStandbyOff:
      return Cause::kStartingUp;
    case Problem::kShuttingDown:
      return Cause::kShuttingDown;
    case Problem::kTooManyConnections:
    case Problem::kSaturated:
      return Cause::kTooManyConnections;
    case Problem::kHbaNoEntry:
    case Problem::kHbaReject:
    case Problem::kPasswordFailed:
    case Problem::kNoPassword:
    case Problem::kRoleMissing:
    case Problem::kPeerAuthFailed:
    case Problem::kAuthOther:
      return Cause::kAuthFailed;
    case Problem::kNoDatabase:
      return Cause::kNoDatabase;
    case Problem::kQueryError:
      return Cause::kQueryError;
    case Problem::kInternal:
      return Cause::kInternal;
  }
  return Cause::kInternal;
}

namespace {

/// core/units' formatDuration, shortest style ("10m", "1h", "1500ms").
std::string durationText(Millis d) {
  return formatDuration(d);
}

std::string pct(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", ratio * 100.0);
  return buf;
}

std::string endpoint(const TargetFacts& f) {
  if (f.unix_socket) return "unix socket " + f.socket_path;
  const std::string& a = f.address.empty() ? f.host : f.address;
  return (a.find(':') != std::string::npos ? "[" + a + "]" : a) + ":" + std::to_string(f.port);
}

/// How to start (or restart) the server, from the restart config when it names the service.
std::vector<std::string> serviceCommands(const TargetFacts& f, const std::string& verb,
                                         const std::string& lead) {
  const RestartConfig& r = f.restart;
  const std::string cluster = "postgresql@" + f.pg_major + "-main";
  std::vector<std::string> out;
  if (r.method == RestartMethod::kSystemd && !r.unit.empty()) {
    out.push_back(lead + "systemctl " + verb + " " + r.unit + "   (why it stopped: journalctl -u " +
                  r.unit + " -n 50)");
  } else if (r.method == RestartMethod::kDocker && !r.container.empty()) {
    out.push_back(lead + "docker " + verb + " " + r.container + "   (why it stopped: docker logs " +
                  r.container + ")");
  } else if (r.method == RestartMethod::kWindowsService && !r.service.empty()) {
    out.push_back(lead + (verb == "start"
                              ? "net start " + r.service
                              : "net stop " + r.service + " && net start " + r.service));
  } else {
    out.push_back(lead + "systemctl " + verb + " " + cluster +
                  "   (Debian/Ubuntu: pg_lsclusters, " + "pg_ctlcluster " + f.pg_major + " main " +
                  verb + "; why it stopped: journalctl -u " + cluster + ")");
    out.push_back("in Docker: docker " + verb + " CONTAINER (docker ps -a shows it); on Windows: " +
                  (verb == "start" ? "net start postgresql-x64-" + f.pg_major
                                   : "net stop postgresql-x64-" + f.pg_major +
                                         " && net start postgresql-x64-" + f.pg_major));
  }
  return out;
}

std::vector<std::string> startCommands(const TargetFacts& f) {
  return serviceCommands(f, "start", "start it: ");
}

std::string hbaLine(const TargetFacts& f) {
  if (f.unix_socket) return "local   " + f.dbname + "   " + f.user + "   scram-sha-256";
  std::string addr = f.address.empty() ? f.host : f.address;
  std::string mask = addr.find(':') != std::string::npos ? "/128" : "/32";
  return "host    " + f.dbname + "   " + f.user + "   " + addr + mask + "   scram-sha-256";
}

std::string reloadHint(const TargetFacts& f) {
  return "then reload: SELECT pg_reload_conf(); (or systemctl reload postgresql@" + f.pg_major +
         "-main, pg_ctl reload -D DATADIR)";
}

std::vector<std::string> saturationRemedies(const TargetFacts& f) {
  std::vector<std::string> r;
  r.push_back(
      "find idle sessions: SELECT pid, usename, application_name, client_addr, state, now() - "
      "state_change AS idle_for FROM pg_stat_activity WHERE backend_type = 'client backend' AND "
      "state LIKE 'idle%' ORDER BY state_change;");
  r.push_back(
      "end one: SELECT pg_terminate_backend(PID); end them automatically: idle_session_timeout, "
      "idle_in_transaction_session_timeout");
  r.push_back(
      "put a pooler (pgbouncer) in front of the application, or raise max_connections "
      "(needs a restart)");
  std::string reserve =
      "keep slots for monitoring: on PostgreSQL 16+ set reserved_connections = 3 and GRANT "
      "pg_use_reserved_connections TO " +
      f.user + ";";
  if (f.server_version_num != 0 && f.server_version_num < 160000)
    reserve +=
        " (this server is " + std::to_string(f.server_version_num / 10000) + ": upgrade for it)";
  r.push_back(reserve);
  r.push_back(
      "superuser_reserved_connections (default 3) keeps the last slots for superusers "
      "only" +
      std::string(f.server_version_num != 0 && f.server_version_num < 160000
                      ? "; before 16 that is the only reserve"
                      : ""));
  return r;
}

}  // namespace

Advice adviceFor(Problem p, const TargetFacts& f, std::string_view detail) {
  Advice a;
  const std::string at = endpoint(f);
  const std::string port = std::to_string(f.port);
  const std::string d(detail);
  auto add = [&](std::vector<std::string> v) {
    a.remedies.insert(a.remedies.end(), v.begin(), v.end());
  };
  switch (p) {
    case Problem::kNone:
      break;
    case Problem::kDnsFailure:
      a.explanation = "the host name '" + f.host + "' could not be resolved" +
                      (d.empty() ? "" : " (" + d + ")");
      a.remedies = {
          "check the spelling of host in the conninfo, /etc/hosts and /etc/resolv.conf "
          "(getent hosts " +
              f.host + ")",
          "or give the address directly: hostaddr=127.0.0.1 (host= is then only used "
          "for TLS and .pgpass)"};
      break;
    case Problem::kRefused:
      a.explanation = "nothing accepts connections on " + at +
                      ": the server is stopped, listens on another port, or does not listen on "
                      "this address";
      add(startCommands(f));
      a.remedies.push_back("wrong port? pgvigil tried port " + port +
                           "; compare `port` in postgresql.conf (SHOW port; pg_lsclusters)");
      a.remedies.push_back("not listening on " + (f.address.empty() ? f.host : f.address) +
                           "? check listen_addresses in postgresql.conf (ss -ltnp | grep postgres "
                           "shows what it listens on)");
      break;
    case Problem::kNoListenerTcp:
      a.explanation = "a PostgreSQL server runs on port " + port +
                      " (its unix socket exists) but refuses TCP connections on " + at +
                      ": listen_addresses does not include this address";
      a.remedies = {
          "set listen_addresses = 'localhost' (or the address you connect to) in "
          "postgresql.conf and restart PostgreSQL (listen_addresses needs a restart)",
          "or connect over the unix socket: host=/var/run/postgresql (drop hostaddr)",
          "then allow the address in pg_hba.conf: " + hbaLine(f)};
      break;
    case Problem::kWrongPort: {
      std::string ports;
      for (int o : f.other_ports) ports += (ports.empty() ? "" : ", ") + std::to_string(o);
      a.explanation = "pgvigil tried port " + port + " (" + at +
                      ") and nothing listens there, but PostgreSQL is running here on port " +
                      ports;
      a.remedies = {"set port=" + std::to_string(f.other_ports.front()) +
                        " in the conninfo if that is the server you mean",
                    "or check `port` in postgresql.conf of the server you want (SHOW port; "
                    "pg_lsclusters) and start it if it is stopped"};
      add(startCommands(f));
      break;
    }
    case Problem::kNoSocket:
      a.explanation = "there is no socket " + f.socket_path +
                      ": the server is stopped, uses another port, or puts its socket in another "
                      "directory";
      add(startCommands(f));
      a.remedies.push_back(
          "compare `port` and unix_socket_directories in postgresql.conf, or "
          "connect over TCP: host=127.0.0.1 port=" +
          port);
      break;
    case Problem::kSocketPermission:
      a.explanation = "the socket " + f.socket_path + " exists but this user may not open it";
      a.remedies = {
          "run pgvigil as a user that may open it (the postgres group, or "
          "unix_socket_permissions = 0777 with pg_hba.conf doing the checking)",
          "or connect over TCP: host=127.0.0.1 port=" + port};
      break;
    case Problem::kUnreachable:
      a.explanation = "no route to " + at + (d.empty() ? "" : " (" + d + ")");
      a.remedies = {
          "check the address and the network path (ip route get ADDRESS), or that the "
          "host is up"};
      break;
    case Problem::kConnectTimeout:
      a.explanation = "the TCP connection to " + at + " did not complete within " +
                      durationText(f.timeout) + ": the host is down or a firewall drops packets";
      a.remedies = {"check that the host is up and that port " + port +
                        " is open on the way (firewall rules, security groups)",
                    "on the server: ss -ltn | grep :" + port + " shows whether it listens"};
      break;
    case Problem::kStartupTimeout:
      a.explanation = "the server accepted the TCP connection on " + at +
                      " but did not answer within " + durationText(f.timeout) +
                      " (startup phase): the postmaster is hung or stopped (SIGSTOP, a debugger), "
                      "or the machine is badly overloaded";
      a.remedies = {
          "look at it: ps -o pid,stat,wchan:20,cmd -p $(head -1 DATADIR/postmaster.pid) (state T "
          "means stopped: kill -CONT PID), the server log, and the load (uptime, vmstat 1)",
          "sessions that are already connected may still answer: a hung postmaster only stops new "
          "connections"};
      add(serviceCommands(f, "restart", "if it stays hung, restart it: "));
      break;
    case Problem::kReset:
      a.explanation = "the server closed the connection" + (d.empty() ? "" : " (" + d + ")") +
                      ": it crashed or restarted, or something in between cut the connection";
      a.remedies = {
          "look in the server log for 'terminated by signal' or 'server process' lines "
          "around now; dmesg for the OOM killer",
          "a proxy or firewall between pgvigil and the server may be dropping idle "
          "or new connections"};
      break;
    case Problem::kTlsNotOffered:
      a.explanation = "sslmode=" + f.sslmode +
                      " requires TLS, but the server does not offer it "
                      "(ssl = off)";
      a.remedies = {
          "turn TLS on in postgresql.conf: ssl = on with ssl_cert_file and ssl_key_file, "
          "then reload",
          "or use sslmode=prefer (or disable) for a connection that stays on this "
          "machine"};
      break;
    case Problem::kTlsCertificate:
      a.explanation = "the server's TLS certificate could not be verified (sslmode=" + f.sslmode +
                      ")" + (d.empty() ? "" : ": " + d);
      a.remedies = {
          "give the CA that signed the server certificate: sslrootcert=/path/ca.crt "
          "(default ~/.postgresql/root.crt)",
          "with sslmode=verify-full the certificate must name host '" + f.host +
              "' (CN or subjectAltName)",
          "inspect it: openssl s_client -starttls postgres -connect " + at + " -showcerts"};
      break;
    case Problem::kTlsOther:
      a.explanation = "the TLS handshake failed" + (d.empty() ? "" : ": " + d);
      a.remedies = {
          "check ssl_min_protocol_version and the certificates in postgresql.conf and "
          "the server log",
          "try sslmode=prefer or disable to see whether TLS is the only problem "
          "(currently sslmode=" +
              f.sslmode + ")"};
      break;
    case Problem::kStartingUp:
      a.explanation =
          "PostgreSQL is starting up: crash recovery or WAL replay is in progress, "
          "and it does not accept connections until it is consistent";
      a.remedies = {
          "wait: this ends by itself; pgvigil run waits recovery_grace (" +
              durationText(f.recovery_grace) + ") before it counts it as a failure",
          "progress: the server log ('redo starts at', 'redo in progress, elapsed time' every "
          "log_startup_progress_interval) and pg_controldata -D DATADIR | grep -i state",
          "once it accepts connections: SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn();"};
      break;
    case Problem::kHotStandbyOff:
      a.explanation =
          "this server is a standby in recovery with hot_standby = off: it never "
          "accepts connections while it replays WAL";
      a.remedies = {
          "to monitor it with queries, set hot_standby = on in postgresql.conf and restart it",
          "its progress: on the primary, SELECT application_name, state, replay_lag FROM "
          "pg_stat_replication; on the standby, the server log and pg_controldata -D DATADIR",
          "or monitor the primary instead of the standby"};
      break;
    case Problem::kShuttingDown:
      a.explanation = "PostgreSQL is shutting down and refuses new connections";
      a.remedies = {
          "if that was intended, wait for it; a smart shutdown waits for every session "
          "to end (pg_ctl stop -m fast ends them)",
          "if it was not: find who stopped it (journalctl, the server log: 'received "
          "smart/fast shutdown request'), then start it again"};
      break;
    case Problem::kTooManyConnections:
      a.explanation = "every connection slot is taken: the server refuses new sessions" +
                      (d.empty() ? "" : " (" + d + ")");
      a.remedies = saturationRemedies(f);
      break;
    case Problem::kHbaNoEntry:
      a.explanation = "pg_hba.conf has no line for host " +
                      (f.unix_socket ? std::string("'local' (unix socket)")
                                     : (f.address.empty() ? f.host : f.address)) +
                      ", user " + f.user + ", database " + f.dbname +
                      (d.find("no encryption") != std::string::npos ? " without TLS" : "");
      a.remedies = {
          "add a line to pg_hba.conf (SHOW hba_file; says where it is), before any "
          "line that would reject it: " +
              hbaLine(f),
          reloadHint(f), "SELECT * FROM pg_hba_file_rules; shows the rules the server has loaded"};
      break;
    case Problem::kHbaReject:
      a.explanation = "a pg_hba.conf line rejects user " + f.user + " on database " + f.dbname +
                      " from this address";
      a.remedies = {
          "find the 'reject' line that matches (SELECT line_number, type, database, "
          "user_name, address, auth_method FROM pg_hba_file_rules;) and put an allowing "
          "line before it: " +
              hbaLine(f),
          reloadHint(f)};
      break;
    case Problem::kPasswordFailed:
      a.explanation = "the server rejected the password for user " + f.user +
                      " (password given via " + f.password_source +
                      "); the server log says why (wrong password, no such role, no password set)";
      a.remedies = {"set the right one in PGPASSWORD, in ~/.pgpass (" +
                        (f.unix_socket ? std::string("localhost") : f.host) + ":" + port + ":" +
                        f.dbname + ":" + f.user +
                        ":PASSWORD, chmod 0600) or the file PGPASSFILE names, or in the "
                        "conninfo as ${ENV_VAR} (its password keyword)",
                    "or set it on the server: ALTER ROLE " + f.user +
                        " PASSWORD '...'; (as a superuser; "
                        "\\password " +
                        f.user + " in psql keeps it out of the history)"};
      if (!f.passfile_problem.empty()) a.remedies.push_back(f.passfile_problem);
      break;
    case Problem::kNoPassword:
      a.explanation =
          "the server asks for a password (pg_hba.conf method scram-sha-256 or md5) "
          "but none was given";
      a.remedies = {"set one in PGPASSWORD (pgvigil's environment), in ~/.pgpass (" +
                    (f.unix_socket ? std::string("localhost") : f.host) + ":" + port + ":" +
                    f.dbname + ":" + f.user +
                    ":PASSWORD, chmod 0600) or the file PGPASSFILE names, or in the conninfo "
                    "as ${ENV_VAR} (its password keyword)"};
      if (!f.passfile_problem.empty()) a.remedies.push_back(f.passfile_problem);
      break;
    case Problem::kRoleMissing:
      a.explanation = "there is no role '" + f.user + "' on the server";
      a.remedies = {"create it: CREATE ROLE " + f.user +
                        " LOGIN PASSWORD '...'; GRANT pg_monitor "
                        "TO " +
                        f.user + ";   (pg_monitor lets it count every session)",
                    "or set user= in the conninfo to an existing role"};
      break;
    case Problem::kPeerAuthFailed:
      a.explanation =
          "peer/ident authentication failed: the operating-system user running "
          "pgvigil is not the database user " +
          f.user;
      a.remedies = {"run pgvigil as the OS user " + f.user +
                        ", or map it in pg_ident.conf and "
                        "add map=NAME to the pg_hba.conf line",
                    "or connect over TCP (host=127.0.0.1) with password authentication and a "
                    "pg_hba.conf line "
                    "like: host " +
                        f.dbname + " " + f.user + " 127.0.0.1/32 scram-sha-256"};
      break;
    case Problem::kAuthOther:
      a.explanation = "authentication failed" + (d.empty() ? "" : ": " + d);
      a.remedies = {
          "the server log has the reason; check the pg_hba.conf line that matches "
          "(SELECT * FROM pg_hba_file_rules;) and the role (rolcanlogin, rolvaliduntil)"};
      break;
    case Problem::kNoDatabase:
      a.explanation = "authenticated, but the database '" + f.dbname + "' does not exist";
      a.remedies = {"create it: createdb -O " + f.user + " " + f.dbname +
                        "   (or CREATE DATABASE " + f.dbname + " OWNER " + f.user + ";)",
                    "or point dbname= in the conninfo at an existing database (dbname=postgres); "
                    "list them with psql -l"};
      break;
    case Problem::kQueryError:
      a.explanation = "the liveness query failed" + (d.empty() ? "" : ": " + d);
      a.remedies = {"run it by hand as " + f.user +
                    ": psql \"...\" -c 'QUERY' and check its "
                    "permissions; it is checks.query in the config (default SELECT 1)"};
      break;
    case Problem::kQueryTimeout:
      a.explanation = "the query did not finish within " + durationText(f.timeout) +
                      ": locks, an I/O stall or CPU saturation";
      a.remedies = {
          "waiting sessions: SELECT pid, wait_event_type, wait_event, state, query FROM "
          "pg_stat_activity WHERE wait_event IS NOT NULL;",
          "ungranted locks: SELECT * FROM pg_locks WHERE NOT granted; and the load "
          "(vmstat 1, iostat -x 1)"};
      break;
    case Problem::kSaturated:
      a.explanation = "connection usage is at or above critical (" + pct(f.critical) + ")" +
                      (d.empty() ? "" : ": " + d) +
                      "; when it reaches 100% new sessions are refused";
      a.remedies = saturationRemedies(f);
      break;
    case Problem::kNearlySaturated:
      a.explanation = "connection usage is at or above warn (" + pct(f.warn) + ")" +
                      (d.empty() ? "" : ": " + d);
      a.remedies = saturationRemedies(f);
      break;
    case Problem::kInternal:
      a.explanation = "unexpected error" + (d.empty() ? "" : ": " + d);
      a.remedies = {"run psql with the same conninfo to compare; the server log may say more"};
      break;
  }
  return a;
}

std::string formatStep(const StepReport& s) {
  const char* mark = "-";
  const char* word = "SKIP";
  switch (s.status) {
    case StepStatus::kPass:
      mark = "\u2713";
      word = "OK";
      break;
    case StepStatus::kWarn:
      mark = "!";
      word = "WARN";
      break;
    case StepStatus::kFail:
      mark = "\u2717";
      word = "FAIL";
      break;
    case StepStatus::kSkip:
      break;
  }
  char head[128];
  std::string timing;
  if (s.status != StepStatus::kSkip) {
    char t[32];
    double ms = double(s.took.count()) / 1000.0;
    if (ms < 1000)
      std::snprintf(t, sizeof t, "%.1fms", ms);
    else
      std::snprintf(t, sizeof t, "%.2fs", ms / 1000.0);
    timing = t;
  }
  std::snprintf(head, sizeof head, "%s %-9s %-4s %8s  ", mark, s.step.c_str(), word,
                timing.c_str());
  std::string out = head + s.detail + "\n";
  if (s.status == StepStatus::kFail || s.status == StepStatus::kWarn) {
    if (s.cause != Cause::kNone) {
      out += "    cause:  " + std::string(toString(s.cause));
      if (s.phase != Phase::kNone) out += " (phase " + std::string(toString(s.phase)) + ")";
      out += ": " + s.advice.explanation + "\n";
    } else if (!s.advice.explanation.empty()) {
      out += "    why:    " + s.advice.explanation + "\n";
    }
    for (const auto& r : s.advice.remedies) out += "    remedy: " + r + "\n";
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The network steps.

namespace {

using PgConnPtr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using PgResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;
using AddrInfoPtr = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

Micros since(SteadyTime start) {
  return std::chrono::duration_cast<Micros>(std::chrono::steady_clock::now() - start);
}

std::string firstOf(const std::string& list) {
  return list.substr(0, list.find(','));
}

std::string oneLine(std::string s) {
  // libpq messages end with a newline and may carry DETAIL/HINT lines: keep them on one line.
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  std::string out;
  for (char c : s) {
    if (c == '\n')
      out += " / ";
    else if (c == '\t')
      out += ' ';
    else
      out += c;
  }
  return out;
}

/// The server's own words in a libpq connection error ("FATAL:  ..."), else the whole message.
std::string serverWords(const std::string& message) {
  std::string m = oneLine(message);
  auto pos = m.rfind("FATAL:");
  if (pos != std::string::npos) {
    m = m.substr(pos + 6);
    while (!m.empty() && m.front() == ' ') m.erase(0, 1);
  } else {
    // "connection to server at "h" (a), port p failed: <reason>"
    auto f = m.rfind("failed: ");
    if (f != std::string::npos) m = m.substr(f + 8);
  }
  return m;
}

std::string installedMajor() {
  int best = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    int v = std::atoi(e.path().filename().c_str());
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

/// Waits until fd is readable or writable, or the deadline passes. false on timeout.
bool waitFd(int fd, bool forWrite, const Deadline& deadline) {
  while (true) {
    auto left = deadline.remaining();
    if (left.count() <= 0) return false;
    pollfd p{fd, static_cast<short>(forWrite ? POLLOUT : POLLIN), 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return true;  // let the caller see the error
  }
}

std::string addrText(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

/// One non-blocking connect, closed right away: PostgreSQL logs nothing for a connection that
/// sends no startup packet.
Problem connectOnce(const sockaddr* sa, socklen_t len, const Deadline& deadline,
                    std::string* error) {
  UniqueFd fd(::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    *error = std::strerror(errno);
    return Problem::kInternal;
  }
  int rc = ::connect(fd.get(), sa, len);
  int err = rc == 0 ? 0 : errno;
  if (rc != 0 && err == EINPROGRESS) {
    if (!waitFd(fd.get(), true, deadline)) {
      *error = "no answer within the timeout";
      return Problem::kConnectTimeout;
    }
    socklen_t l = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &l) != 0) err = errno;
  }
  if (err == 0) return Problem::kNone;
  *error = std::strerror(err);
  switch (err) {
    case ECONNREFUSED:
      return Problem::kRefused;
    case ENOENT:
      return Problem::kNoSocket;
    case EACCES:
    case EPERM:
      return Problem::kSocketPermission;
    case ENETUNREACH:
    case EHOSTUNREACH:
      return Problem::kUnreachable;
    case ETIMEDOUT:
      return Problem::kConnectTimeout;
    case ECONNRESET:
      return Problem::kReset;
    default:
      return Problem::kInternal;
  }
}

struct ConnectTrace {
  PgConnPtr conn{nullptr, &PQfinish};
  bool ok = false;
  bool timed_out = false;
  ConnStatusType stuck_in = CONNECTION_BAD;  ///< the status when the deadline passed
  bool reached_auth = false;  ///< past the TLS negotiation (awaiting the server's auth answer)
  bool ssl_in_use = false;    ///< TLS was up when the server's answer was awaited
  Micros tls_took{0};         ///< time spent negotiating TLS
  Micros took{0};
  std::string error;  ///< PQerrorMessage, one line, redacted
};

ConnectTrace connectTraced(const ConnectParams& params, const Deadline& deadline,
                           const std::vector<std::string>& secrets) {
  ConnectTrace t;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<const char*> keys = params.keywordArray(), values = params.valueArray();
  t.conn.reset(PQconnectStartParams(keys.data(), values.data(), 0));
  if (!t.conn) {
    t.error = "out of memory";
    return t;
  }
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  if (PQstatus(t.conn.get()) == CONNECTION_BAD) st = PGRES_POLLING_FAILED;
  std::optional<std::chrono::steady_clock::time_point> tlsStart;
  while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
    const ConnStatusType cs = PQstatus(t.conn.get());
    if (cs == CONNECTION_SSL_STARTUP && !tlsStart) tlsStart = std::chrono::steady_clock::now();
    if (cs != CONNECTION_SSL_STARTUP && tlsStart && t.tls_took.count() == 0)
      t.tls_took = since(*tlsStart);
    if (cs == CONNECTION_AWAITING_RESPONSE || cs == CONNECTION_AUTH_OK) {
      t.reached_auth = true;
      t.ssl_in_use = PQsslInUse(t.conn.get()) != 0;
    }
    const int fd = PQsocket(t.conn.get());
    if (fd < 0) break;
    if (!waitFd(fd, st == PGRES_POLLING_WRITING, deadline)) {
      t.timed_out = true;
      t.stuck_in = cs;
      break;
    }
    st = PQconnectPoll(t.conn.get());
  }
  if (tlsStart && t.tls_took.count() == 0) t.tls_took = since(*tlsStart);
  t.took = since(start);
  t.ok = !t.timed_out && st == PGRES_POLLING_OK && PQstatus(t.conn.get()) == CONNECTION_OK;
  if (!t.ok && !t.timed_out)
    t.error = redactSecrets(oneLine(PQerrorMessage(t.conn.get())), secrets);
  return t;
}

struct [[nodiscard]] QueryOutcome {
  PgResultPtr result{nullptr, &PQclear};
  bool ok = false;
  bool timed_out = false;
  std::string error;
  std::string sqlstate;
};

/// Sends one query and waits for its result within the deadline; cancels it on timeout.
QueryOutcome runQuery(PGconn* conn, const std::string& sql, const Deadline& deadline) {
  QueryOutcome q;
  if (!PQsendQuery(conn, sql.c_str())) {
    q.error = oneLine(PQerrorMessage(conn));
    return q;
  }
  PgResultPtr last{nullptr, &PQclear};
  while (true) {
    while (PQisBusy(conn)) {
      if (!waitFd(PQsocket(conn), false, deadline)) {
        q.timed_out = true;
        std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> cancel(PQgetCancel(conn), &PQfreeCancel);
        char buf[256];
        if (cancel) PQcancel(cancel.get(), buf, sizeof buf);
        return q;
      }
      if (!PQconsumeInput(conn)) {
        q.error = oneLine(PQerrorMessage(conn));
        return q;
      }
    }
    PGresult* r = PQgetResult(conn);
    if (!r) break;
    last.reset(r);
  }
  if (!last) {
    q.error = "no result";
    return q;
  }
  const ExecStatusType s = PQresultStatus(last.get());
  if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
    q.error = oneLine(PQresultErrorMessage(last.get()));
    if (const char* code = PQresultErrorField(last.get(), PG_DIAG_SQLSTATE)) q.sqlstate = code;
    return q;
  }
  q.ok = true;
  q.result = std::move(last);
  return q;
}

/// Resolves host:port within the deadline (getaddrinfo cannot be cancelled: a lookup that
/// outlives it finishes on a detached thread).
struct Resolution {
  bool ok = false;
  bool timed_out = false;
  std::vector<std::pair<sockaddr_storage, socklen_t>> addresses;
  std::string error;
};

Resolution resolve(const std::string& host, int port, const Deadline& deadline) {
  auto promise = std::make_shared<std::promise<Resolution>>();
  auto future = promise->get_future();
  std::thread([promise, host, port] {
    Resolution r;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* raw = nullptr;
    int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &raw);
    AddrInfoPtr list(raw, &freeaddrinfo);
    if (rc != 0) {
      r.error = gai_strerror(rc);
    } else {
      for (addrinfo* a = raw; a; a = a->ai_next) {
        sockaddr_storage ss{};
        std::memcpy(&ss, a->ai_addr, a->ai_addrlen);
        r.addresses.emplace_back(ss, a->ai_addrlen);
      }
      r.ok = !r.addresses.empty();
    }
    promise->set_value(std::move(r));
  }).detach();
  if (future.wait_for(deadline.remaining()) != std::future_status::ready) {
    Resolution r;
    r.timed_out = true;
    r.error = "no answer from the resolver within the timeout";
    return r;
  }
  return future.get();
}

/// One target, step by step. Prints each step as it finishes; returns true when none failed.
class Diagnosis {
 public:
  Diagnosis(std::ostream& out, TargetFacts facts, ConnInfo info, TargetConfig target,
            std::vector<std::string> secrets)
      : out_(out),
        facts_(std::move(facts)),
        info_(std::move(info)),
        target_(std::move(target)),
        secrets_(std::move(secrets)) {}

  bool run(const StepReport& configStep) {
    emit(configStep);
    bool ok = dns() && tcp();
    PgConnPtr conn{nullptr, &PQfinish};
    if (ok) ok = tlsAndAuth(conn);
    if (ok) ok = query(conn.get());
    if (ok) ok = headroom(conn.get());
    for (const char* s : {"dns", "tcp", "tls", "auth", "query", "headroom"})
      if (!done_.count(s)) skip(s, "not run: an earlier step failed");
    return !failed_;
  }

  std::string failedStep() const { return failedStep_; }
  Cause failedCause() const { return failedCause_; }

 private:
  void emit(StepReport s) {
    if (s.status == StepStatus::kFail || s.status == StepStatus::kWarn) {
      if (s.advice.explanation.empty() && s.problem != Problem::kNone)
        s.advice = adviceFor(s.problem, facts_, "");
      if (s.cause == Cause::kNone) s.cause = causeOf(s.problem);
    }
    if (s.status == StepStatus::kFail && !failed_) {
      failed_ = true;
      failedStep_ = s.step;
      failedCause_ = s.cause;
    }
    done_.insert(s.step);
    // Everything printed passes through the redactor: a password must never show.
    out_ << redactSecrets(formatStep(s), secrets_);
    out_.flush();
  }

  void skip(const std::string& step, const std::string& why) {
    StepReport s;
    s.step = step;
    s.status = StepStatus::kSkip;
    s.detail = why;
    emit(s);
  }

  StepReport fail(const std::string& step, Micros took, Problem p, Phase phase,
                  const std::string& detail, const std::string& serverDetail = "") {
    StepReport s;
    s.step = step;
    s.status = StepStatus::kFail;
    s.took = took;
    s.problem = p;
    s.cause = causeOf(p);
    s.phase = phase;
    s.detail = detail;
    s.advice = adviceFor(p, facts_, serverDetail);
    return s;
  }

  /// The cause `check` gives the same libpq error (core/classify.h), so that both commands agree;
  /// the problem (and its advice) stays diagnose's own, finer one.
  StepReport withCheckCause(StepReport s, const std::string& raw,
                            const std::string& sqlstate = "") const {
    const Cause c = classify(s.phase, sqlstate, raw);
    if (c != Cause::kInternal) s.cause = c;
    return s;
  }

  Deadline stepDeadline() const { return Deadline(SystemClock::instance(), facts_.timeout); }

  bool dns() {
    const auto start = std::chrono::steady_clock::now();
    StepReport s;
    s.step = "dns";
    if (facts_.unix_socket) {
      s.status = StepStatus::kPass;
      s.detail = "unix socket " + facts_.socket_path + ": no lookup";
      emit(s);
      return true;
    }
    const std::string hostaddr = firstOf(info_.hostaddr());
    if (!hostaddr.empty()) {
      addresses_.clear();
      Resolution r = resolve(hostaddr, facts_.port, stepDeadline());
      addresses_ = r.addresses;
      s.took = since(start);
      if (!r.ok) {
        emit(fail("dns", s.took, Problem::kDnsFailure, Phase::kDns,
                  "hostaddr '" + hostaddr + "' is not an address: " + r.error, r.error));
        return false;
      }
      s.status = StepStatus::kPass;
      s.detail = "hostaddr=" + hostaddr + " given: no lookup";
      emit(s);
      return true;
    }
    Resolution r = resolve(facts_.host, facts_.port, stepDeadline());
    s.took = since(start);
    if (!r.ok) {
      emit(fail("dns", s.took, Problem::kDnsFailure, Phase::kDns,
                "could not resolve '" + facts_.host + "': " + r.error, r.error));
      return false;
    }
    addresses_ = r.addresses;
    std::string list;
    for (const auto& [ss, len] : addresses_) {
      std::string a = addrText(reinterpret_cast<const sockaddr*>(&ss));
      if (list.find(a) == std::string::npos) list += (list.empty() ? "" : ", ") + a;
    }
    s.status = StepStatus::kPass;
    s.detail = facts_.host + " -> " + list;
    emit(s);
    return true;
  }

  bool tcp() {
    const auto start = std::chrono::steady_clock::now();
    const Deadline deadline = stepDeadline();
    if (facts_.unix_socket) {
      sockaddr_un sun{};
      sun.sun_family = AF_UNIX;
      if (facts_.socket_path.size() >= sizeof sun.sun_path) {
        emit(fail("tcp", since(start), Problem::kInternal, Phase::kConnect,
                  "socket path too long: " + facts_.socket_path));
        return false;
      }
      std::strncpy(sun.sun_path, facts_.socket_path.c_str(), sizeof sun.sun_path - 1);
      std::string error;
      Problem p = connectOnce(reinterpret_cast<sockaddr*>(&sun), sizeof sun, deadline, &error);
      if (p != Problem::kNone) {
        if (p == Problem::kNoSocket || p == Problem::kRefused) refineRefused(p);
        emit(fail("tcp", since(start), p, Phase::kConnect,
                  "connect to " + facts_.socket_path + ": " + error));
        return false;
      }
      StepReport s;
      s.step = "tcp";
      s.status = StepStatus::kPass;
      s.took = since(start);
      s.detail = "connected to " + facts_.socket_path;
      emit(s);
      return true;
    }
    // Like libpq: try each address in turn; the first that connects wins.
    std::string tried;
    Problem last = Problem::kInternal;
    std::string lastError = "no address to try";
    for (const auto& [ss, len] : addresses_) {
      const sockaddr* sa = reinterpret_cast<const sockaddr*>(&ss);
      std::string error;
      Problem p = connectOnce(sa, len, deadline, &error);
      const std::string a = addrText(sa);
      if (p == Problem::kNone) {
        facts_.address = a;
        StepReport s;
        s.step = "tcp";
        s.status = StepStatus::kPass;
        s.took = since(start);
        s.detail = "connected to " + endpoint(facts_) + (tried.empty() ? "" : " (" + tried + ")");
        emit(s);
        return true;
      }
      facts_.address = a;
      tried += (tried.empty() ? "" : ", ") + a + ": " + error;
      last = p;
      lastError = error;
      if (p == Problem::kConnectTimeout) break;  // the deadline is spent
    }
    if (last == Problem::kRefused) refineRefused(last);
    emit(fail("tcp", since(start), last, Phase::kConnect,
              "connect to port " + std::to_string(facts_.port) + " failed (" + tried + ")",
              lastError));
    return false;
  }

  /// Refused or no socket: look for what does run here, to tell a stopped server from a wrong
  /// port or a server that does not listen on TCP.
  void refineRefused(Problem& p) {
    std::string socketDir;
    if (facts_.unix_socket) socketDir = facts_.socket_path.substr(0, facts_.socket_path.rfind('/'));
    const std::set<int> ports = localSocketPorts(socketDir);
    facts_.local_socket_on_port = ports.count(facts_.port) > 0;
    facts_.other_ports.clear();
    for (int port : ports)
      if (port != facts_.port) facts_.other_ports.push_back(port);
    const bool loopback =
        facts_.address == "127.0.0.1" || facts_.address == "::1" || facts_.host == "localhost";
    if (!facts_.unix_socket && loopback && facts_.local_socket_on_port)
      p = Problem::kNoListenerTcp;
    else if (!facts_.local_socket_on_port && !facts_.other_ports.empty())
      p = Problem::kWrongPort;
  }

  std::string tlsText(const ConnectTrace& t) const {
    return t.ssl_in_use ? "in use (sslmode=" + facts_.sslmode + ")"
                        : "not in use: the server does not offer TLS (sslmode=" + facts_.sslmode +
                              " allows that)";
  }

  bool tlsAndAuth(PgConnPtr& conn) {
    const int timeoutS = std::max<int>(2, int(std::ceil(facts_.timeout.count() / 1000.0)));
    ConnectParams params =
        buildConnectParams(info_, target_.application_name, timeoutS, int(facts_.timeout.count()));
    ConnectTrace t = connectTraced(params, stepDeadline(), secrets_);
    const bool tlsApplies = !facts_.unix_socket && facts_.sslmode != "disable";

    // tls
    if (!tlsApplies) {
      StepReport s;
      s.step = "tls";
      s.status = StepStatus::kPass;
      s.detail = facts_.unix_socket ? "not used over a unix socket" : "off (sslmode=disable)";
      emit(s);
    } else if (t.timed_out && t.stuck_in == CONNECTION_SSL_STARTUP) {
      emit(fail("tls", t.took, Problem::kStartupTimeout, Phase::kStartup,
                "no answer to the TLS request within " + durationText(facts_.timeout)));
      return false;
    } else if (!t.ok && !t.timed_out) {
      Problem p = classifyConnectionError(t.error);
      if (p == Problem::kTlsNotOffered || p == Problem::kTlsCertificate ||
          p == Problem::kTlsOther) {
        emit(withCheckCause(
            fail("tls", t.took, p, Phase::kStartup, serverWords(t.error), serverWords(t.error)),
            t.error));
        return false;
      }
      if (!t.reached_auth) {
        // Failed before the server answered the startup: the connection itself broke.
        emit(withCheckCause(fail("tls", t.took, p == Problem::kInternal ? Problem::kReset : p,
                                 Phase::kStartup, serverWords(t.error), serverWords(t.error)),
                            t.error));
        return false;
      }
      StepReport s;
      s.step = "tls";
      s.status = StepStatus::kPass;
      s.took = t.tls_took;
      s.detail = tlsText(t);
      emit(s);
    } else if (t.ok) {
      StepReport s;
      s.step = "tls";
      s.status = StepStatus::kPass;
      s.took = t.tls_took;
      if (PQsslInUse(t.conn.get())) {
        const char* proto = PQsslAttribute(t.conn.get(), "protocol");
        const char* cipher = PQsslAttribute(t.conn.get(), "cipher");
        s.detail = std::string(proto ? proto : "TLS") + " " + (cipher ? cipher : "") +
                   " (sslmode=" + facts_.sslmode + ")";
      } else {
        s.detail = "not in use: the server does not offer TLS (sslmode=" + facts_.sslmode +
                   " allows that)";
      }
      emit(s);
    } else {
      // timed out after the TLS negotiation: reported at auth
      StepReport s;
      s.step = "tls";
      s.status = StepStatus::kPass;
      s.took = t.tls_took;
      s.detail = tlsText(t);
      emit(s);
    }

    // auth
    if (t.timed_out) {
      const bool inConnect = t.stuck_in == CONNECTION_STARTED;
      emit(fail("auth", t.took, inConnect ? Problem::kConnectTimeout : Problem::kStartupTimeout,
                inConnect ? Phase::kConnect : Phase::kStartup,
                "no answer from the server within " + durationText(facts_.timeout)));
      return false;
    }
    if (!t.ok) {
      Problem p = classifyConnectionError(t.error);
      Phase phase = Phase::kAuth;
      if (p == Problem::kStartingUp || p == Problem::kHotStandbyOff ||
          p == Problem::kShuttingDown || p == Problem::kTooManyConnections)
        phase = Phase::kStartup;
      emit(withCheckCause(
          fail("auth", t.took, p, phase, serverWords(t.error), serverWords(t.error)), t.error));
      return false;
    }
    conn = std::move(t.conn);
    facts_.server_version_num = PQserverVersion(conn.get());
    if (facts_.server_version_num > 0)
      facts_.pg_major = std::to_string(facts_.server_version_num / 10000);
    StepReport s;
    s.step = "auth";
    s.status = StepStatus::kPass;
    s.took = t.took - t.tls_took;
    const char* version = PQparameterStatus(conn.get(), "server_version");
    const char* hotStandby = PQparameterStatus(conn.get(), "in_hot_standby");
    s.detail = "logged in as " + facts_.user + " to database " + facts_.dbname + " (PostgreSQL " +
               (version ? version : "?") +
               (hotStandby && std::string(hotStandby) == "on" ? ", a hot standby" : "") + ")";
    emit(s);
    return true;
  }

  bool query(PGconn* conn) {
    const std::string sql = target_.query.empty() ? "SELECT 1" : target_.query;
    const auto start = std::chrono::steady_clock::now();
    QueryOutcome q = runQuery(conn, sql, stepDeadline());
    const Micros took = since(start);
    if (q.timed_out) {
      emit(fail("query", took, Problem::kQueryTimeout, Phase::kQuery,
                "'" + sql + "' did not finish within " + durationText(facts_.timeout)));
      return false;
    }
    if (!q.ok) {
      Problem p = Problem::kQueryError;
      if (q.sqlstate == "57P03") p = Problem::kStartingUp;
      if (q.sqlstate == "57P01" || q.sqlstate.empty()) p = Problem::kReset;
      std::string msg = q.error + (q.sqlstate.empty() ? "" : " (SQLSTATE " + q.sqlstate + ")");
      if (q.sqlstate.empty())
        p = classifyConnectionError(q.error) == Problem::kInternal
                ? Problem::kReset
                : classifyConnectionError(q.error);
      emit(
          withCheckCause(fail("query", took, p, Phase::kQuery, "'" + sql + "' failed: " + msg, msg),
                         q.error, q.sqlstate));
      return false;
    }
    StepReport s;
    s.step = "query";
    s.status = StepStatus::kPass;
    s.took = took;
    s.detail = "'" + sql + "' answered";
    emit(s);
    return true;
  }

  bool headroom(PGconn* conn) {
    if (!target_.connections.enabled) {
      skip("headroom", "the connections check is off for this target");
      return true;
    }
    const auto start = std::chrono::steady_clock::now();
    // The same query and judgement as `check` (probes/connections_check.h): client backends
    // other than our own session against usable slots.
    QueryOutcome q = runQuery(conn, connectionsQuery(PQserverVersion(conn)), stepDeadline());
    std::optional<ConnectionStats> stats;
    if (q.ok && PQntuples(q.result.get()) == 1 && PQnfields(q.result.get()) >= 4) {
      auto cell = [&](int col) -> std::optional<std::string> {
        if (PQgetisnull(q.result.get(), 0, col)) return std::nullopt;
        return std::string(PQgetvalue(q.result.get(), 0, col));
      };
      stats = parseConnectionsRow(cell(0), cell(1), cell(2), cell(3));
    }
    // Without pg_read_all_stats, other roles' sessions (and background processes) show with
    // backend_type NULL: counted apart so that a low figure does not mislead.
    int hidden = 0;
    if (stats) {
      QueryOutcome h = runQuery(
          conn, "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type IS NULL",
          stepDeadline());
      if (h.ok && PQntuples(h.result.get()) == 1)
        hidden = std::atoi(PQgetvalue(h.result.get(), 0, 0));
    }
    const Micros took = since(start);
    if (q.timed_out) {
      emit(
          fail("headroom", took, Problem::kQueryTimeout, Phase::kQuery,
               "the pg_stat_activity query did not finish within " + durationText(facts_.timeout)));
      return false;
    }
    if (!stats) {
      std::string msg =
          q.ok ? std::string("unexpected answer")
               : q.error + (q.sqlstate.empty() ? "" : " (SQLSTATE " + q.sqlstate + ")");
      emit(fail("headroom", took, Problem::kQueryError, Phase::kQuery,
                "could not count connections: " + msg, msg));
      return false;
    }
    const ConnectionsJudgement judged = judgeConnections(*stats, target_.connections);
    const double ratio = stats->ratio();
    std::string states;
    for (const auto& [state, n] : stats->by_state)
      states += (states.empty() ? "" : " ") + state + "=" + std::to_string(n);
    const std::string usage = pct(ratio) + " of " + std::to_string(stats->usable) + " usable";
    std::string figures =
        std::to_string(stats->used) + "/" + std::to_string(stats->usable) +
        " client backends besides this one (" + pct(ratio) + "; max_connections " +
        std::to_string(stats->max_connections) + " - superuser_reserved " +
        std::to_string(stats->superuser_reserved) +
        (facts_.server_version_num >= 160000 ? " - reserved " + std::to_string(stats->reserved)
                                             : std::string()) +
        ")" + (states.empty() ? "" : " [" + states + "]");
    StepReport s;
    s.step = "headroom";
    s.took = took;
    s.detail = figures;
    if (judged.critical) {
      s.status = StepStatus::kFail;
      s.problem = Problem::kSaturated;
      s.cause = Cause::kTooManyConnections;
      s.advice = adviceFor(Problem::kSaturated, facts_, usage);
    } else if (judged.warn) {
      s.status = StepStatus::kWarn;
      s.problem = Problem::kNearlySaturated;
      s.advice = adviceFor(Problem::kNearlySaturated, facts_, usage);
    } else {
      s.status = StepStatus::kPass;
    }
    if (hidden > 0) {
      if (s.status == StepStatus::kPass) {
        s.status = StepStatus::kWarn;
        s.advice.explanation.clear();
      }
      s.detail += "; " + std::to_string(hidden) + " more sessions hidden from " + facts_.user;
      s.cause = s.status == StepStatus::kFail ? s.cause : Cause::kNone;
      s.advice.remedies.push_back("the count may be low: " + facts_.user +
                                  " cannot see other roles' sessions; GRANT "
                                  "pg_monitor TO " +
                                  facts_.user + "; (or pg_read_all_stats)");
      if (s.advice.explanation.empty())
        s.advice.explanation = std::to_string(hidden) +
                               " sessions of other roles (or background processes) are hidden "
                               "from " +
                               facts_.user + ", so the count may be low";
    }
    emit(s);
    return s.status != StepStatus::kFail;
  }

  std::ostream& out_;
  TargetFacts facts_;
  ConnInfo info_;
  TargetConfig target_;
  std::vector<std::string> secrets_;
  std::vector<std::pair<sockaddr_storage, socklen_t>> addresses_;
  std::set<std::string> done_;
  bool failed_ = false;
  std::string failedStep_;
  Cause failedCause_ = Cause::kNone;
};

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

/// Diagnoses one target; returns 0 (every step passed) or 2.
int diagnoseTarget(const TargetConfig& target, const std::string& origin,
                   const std::optional<Millis>& timeoutOverride, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> secrets = connInfoSecrets(target.conninfo);
  if (const char* pw = std::getenv("PGPASSWORD"); pw && *pw) secrets.emplace_back(pw);
  const std::string shown = redactConnInfo(target.conninfo);
  out << "pgvigil diagnose" << (target.name.empty() ? "" : " " + target.name) << ": "
      << redactSecrets(shown, secrets) << "\n";
  std::string parseError;
  std::optional<ConnInfo> info = parseConnInfo(target.conninfo, &parseError);
  StepReport config;
  config.step = "config";
  config.took = since(start);
  if (!info) {
    config.status = StepStatus::kFail;
    config.detail = "the conninfo cannot be parsed: " + redactSecrets(oneLine(parseError), secrets);
    config.advice.explanation = "libpq does not accept this connection string";
    config.advice.remedies = {
        "write it as keyword=value pairs (host=... port=... dbname=... "
        "user=...) or as a postgresql://user@host:port/dbname URI"};
    out << redactSecrets(formatStep(config), secrets) << "result: FAIL at config\n";
    return kExitUnknown;
  }
  const Millis timeout = timeoutOverride.value_or(target.timeout);
  TargetFacts facts = factsFor(target, *info, timeout);
  config.status = StepStatus::kPass;
  config.detail =
      origin + "; " +
      (facts.unix_socket ? "socket " + facts.socket_path
                         : "host " + facts.host + " port " + std::to_string(facts.port)) +
      ", user " + facts.user + ", database " + facts.dbname + ", timeout " + durationText(timeout) +
      " per step";
  Diagnosis d(out, facts, *info, target, secrets);
  const bool ok = d.run(config);
  if (ok) {
    out << "result: OK - every step passed\n";
    return kExitOk;
  }
  out << "result: FAIL at " << d.failedStep() << " (" << toString(d.failedCause()) << ")\n";
  return kExitCritical;
}

}  // namespace

int runDiagnose(const DiagnoseOptions& options, std::ostream& out, std::ostream& err) {
  try {
    if (!options.conninfo.empty()) {
      TargetConfig t;
      t.name = "";
      t.conninfo = options.conninfo;
      return diagnoseTarget(t, "--conninfo", options.timeout, out);
    }
    const std::string path = resolveConfigPath(options.config_path, Env::process());
    const auto start = std::chrono::steady_clock::now();
    auto configFailure = [&](std::string detail, std::string explanation,
                             std::vector<std::string> remedies,
                             const std::vector<std::string>& errors = {}) {
      StepReport s;
      s.step = "config";
      s.status = StepStatus::kFail;
      s.took = since(start);
      s.detail = std::move(detail);
      s.advice.explanation = std::move(explanation);
      s.advice.remedies = std::move(remedies);
      std::string text = formatStep(s);
      // The errors go right under the step line, before the remedies.
      std::string errorLines;
      for (const auto& e : errors) errorLines += "    error:  " + e + "\n";
      const auto firstNl = text.find('\n');
      text.insert(firstNl + 1, errorLines);
      out << text << "result: FAIL at config\n";
      return kExitUnknown;
    };
    LoadedConfig loaded = loadConfigForCommand(path);
    if (!loaded.config) {
      return configFailure("cannot use " + path,
                           loaded.errors.empty()
                               ? "the config could not be loaded"
                               : std::to_string(loaded.errors.size()) + " error(s) in the config",
                           {"check it with: pgvigil config validate -c " + path}, loaded.errors);
    }
    const Config& config = *loaded.config;
    std::string names;
    for (const auto& c : config.targets) names += (names.empty() ? "" : ", ") + c.name;
    std::vector<const TargetConfig*> targets;
    if (!options.target.empty()) {
      const TargetConfig* t = config.findTarget(options.target);
      if (!t)
        return configFailure(
            "no target named '" + options.target + "' in " + path,
            names.empty() ? "the config has no targets" : "its targets are: " + names,
            {"pgvigil diagnose -c " + path + " -t NAME with one of them, or without -t for all"});
      targets.push_back(t);
    } else {
      for (const auto& t : config.targets) targets.push_back(&t);
    }
    if (targets.empty())
      return configFailure("no targets in " + path, "there is nothing to diagnose",
                           {"add a target under targets: (name, conninfo)"});
    int worst = 0;
    for (size_t i = 0; i < targets.size(); ++i) {
      if (i > 0) out << "\n";
      int rc = diagnoseTarget(*targets[i], "target '" + targets[i]->name + "' from " + path,
                              options.timeout, out);
      worst = std::max(worst, rc);
    }
    return worst;
  } catch (const std::exception& e) {
    err << "pgvigil diagnose: internal error: " << e.what() << "\n";
    return kExitUnknown;
  }
}

}  // namespace pgvigil
