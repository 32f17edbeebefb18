#include "app/diagnose/problems.h"
#include "core/units.h"

#include <cstdio>

// The remedies of the problem catalogue: for each problem, the explanation in plain words and the
// commands that usually fix it, filled in with what diagnose found out about the target.

namespace pgvigil {
namespace {

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
      a.explanation = "connection usage is at or above critical (" +
                      formatWholePercent(f.critical) + ")" + (d.empty() ? "" : ": " + d) +
                      "; when it reaches 100% new sessions are refused";
      a.remedies = saturationRemedies(f);
      break;
    case Problem::kNearlySaturated:
      a.explanation = "connection usage is at or above warn (" + formatWholePercent(f.warn) + ")" +
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

}  // namespace pgvigil
