// `pgvigil diagnose`: walks one connection attempt step by step — config, dns, tcp, tls, auth,
// query, headroom — printing each step as it finishes (✓/✗ and OK/FAIL, with its timing). A failed
// step says its cause in plain words and the usual remedy (start the service, the port,
// listen_addresses, pg_hba.conf, the password, createdb, recovery, saturation, sslmode).
// Exit 0 when every step passes, 2 when one fails, 3 on a config or usage error.
//
// The classification of libpq's messages and the advice are pure functions (unit-tested); the
// network steps are plain libpq and sockets, each bounded by the target's timeout.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/types.h"

namespace pgvigil {

struct DiagnoseOptions {
  std::string config_path;        ///< empty: $PGVIGIL_CONFIG, then the platform default
  std::string target;             ///< -t; empty: every target in the config, one after the other
  std::string conninfo;           ///< --conninfo: diagnose this instead of a config target
  std::optional<Millis> timeout;  ///< bound on each network step; default: the target's timeout
};

/// `pgvigil diagnose`. Never throws.
int runDiagnose(const DiagnoseOptions& options, std::ostream& out, std::ostream& err);

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

/// Classifies a libpq connection error message (PQerrorMessage after a failed connect).
/// English server messages; the SQLSTATE is not available for connection failures.
Problem classifyConnectionError(std::string_view message);
/// The SPEC.md §3 cause a problem counts as (what `check` would report).
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

enum class StepStatus { kPass, kWarn, kFail, kSkip };

struct StepReport {
  std::string step;  ///< config, dns, tcp, tls, auth, query, headroom
  StepStatus status = StepStatus::kSkip;
  Micros took{0};
  std::string detail;  ///< what was done or found, one line
  Problem problem = Problem::kNone;
  Cause cause = Cause::kNone;
  Phase phase = Phase::kNone;
  Advice advice;  ///< for kFail and kWarn
};

/// The lines printed for one step: "✓ tcp       OK    0.2ms  connected to 127.0.0.1:5432",
/// then for a failure or warning "    cause:  ..." / "    remedy: ..." lines.
std::string formatStep(const StepReport& step);

}  // namespace pgvigil
