// diagnose's problem catalogue: what went wrong, finer than a Cause, each with its own
// explanation and remedies. The cause always comes from the one classifier (core/classify.h, what
// `check` reports); a problem only picks, within that cause, which explanation and remedies fit
// (problemFor). The facts a remedy names (host, port, user, service, ...) are TargetFacts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/types.h"

namespace pgvigil {

/// What went wrong, finer than Cause: each has its own explanation and remedy.
enum class Problem {
  kNone,
  kDnsFailure,
  kRefused,           ///< TCP refused, nothing else known: stopped, wrong port or address
  kNoListenerTcp,     ///< TCP refused, but a unix socket for this port exists: listen_addresses
  kWrongPort,         ///< refused here, but servers listen on other ports (their sockets exist)
  kNoSocket,          ///< the unix socket file does not exist
  kSocketPermission,  ///< the unix socket exists but may not be opened
  kUnreachable,       ///< no route to the host / network unreachable
  kConnectTimeout,    ///< TCP connect did not complete: host down or packets dropped
  kStartupTimeout,    ///< TCP accepted, the server never answered: hung or stopped postmaster
  kReset,             ///< the server closed the connection
  kTlsNotOffered,     ///< sslmode requires TLS, the server has ssl = off
  kTlsCertificate,    ///< certificate verification failed / root cert missing
  kTlsOther,
  kStartingUp,     ///< starting up, crash recovery, or recovery not yet consistent
  kHotStandbyOff,  ///< a standby with hot_standby = off: never accepts connections
  kShuttingDown,
  kTooManyConnections,
  kHbaNoEntry,
  kHbaReject,
  kPasswordFailed,
  kNoPassword,
  kRoleMissing,
  kPeerAuthFailed,  ///< peer / ident: the OS user does not match
  kAuthOther,
  kNoDatabase,
  kQueryError,
  kQueryTimeout,
  kSaturated,        ///< connection usage at critical
  kNearlySaturated,  ///< connection usage at warn (a warning, not a failure)
  kInternal,
};
std::string_view toString(Problem p);

/// The problem, within `cause` (from core/classify.h), that the failure's phase and message
/// point at. Never contradicts the cause: causeOf(problemFor(c, ...)) == c for every failure
/// cause (kInternal may be refined to kSocketPermission, which check also leaves unclassified).
Problem problemFor(Cause cause, Phase phase, std::string_view message);

/// A libpq connection error message (PQerrorMessage after a failed connect) as a problem: the one
/// classifier's cause, refined by problemFor().
Problem classifyConnectionError(std::string_view message);
/// The docs/reference.md §3 cause a problem usually counts as.
Cause causeOf(Problem p);

/// What diagnose has found out about the target, for explanations and remedies.
struct TargetFacts {
  std::string name;     ///< target name ("" for --conninfo)
  std::string host;     ///< as configured (first host); a path for a unix socket
  std::string address;  ///< the address tried (after DNS / hostaddr)
  int port = 5432;
  std::string user;
  std::string dbname;
  std::string sslmode = "prefer";
  bool unix_socket = false;
  std::string socket_path;            ///< DIR/.s.PGSQL.PORT
  bool local_socket_on_port = false;  ///< a unix socket for `port` exists on this machine
  std::vector<int> other_ports;       ///< ports with a local socket other than `port`
  std::string password_source;   ///< "conninfo", "PGPASSWORD", "password file ~/.pgpass", "none"
  std::string passfile_problem;  ///< e.g. "~/.pgpass has group or world access: libpq ignores it"
  std::string pg_major = "15";   ///< server or installed major version, for commands
  int server_version_num = 0;    ///< 0 when unknown
  RestartConfig restart;         ///< for the right "start it" command
  Millis timeout{3000};
  Millis recovery_grace{600000};
  double warn = 0.80;
  double critical = 0.95;
};

/// A problem in plain words, and what usually fixes it (one remedy per line).
struct Advice {
  std::string explanation;
  std::vector<std::string> remedies;
};
/// `detail` is the server's or libpq's message (already redacted), for the explanation.
Advice adviceFor(Problem p, const TargetFacts& facts, std::string_view detail = "");

/// "3s", "1500ms", "10m": how diagnose prints a configured duration.
std::string durationText(Millis d);

}  // namespace pgvigil
