// A real, throwaway PostgreSQL cluster for integration tests (../shared/TESTING.md).
// initdb into a temp dir owned by the postgres user (when running as root), start `postgres`
// directly as this process's child on a free loopback port, and stop and remove everything in
// the destructor, also when a test fails. Never signals a process it did not start.
// The postmaster dies with the thread that constructed the cluster (PR_SET_PDEATHSIG), so create
// clusters on the test's main thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace pgvigil::test {

/// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER) and reaps orphans that are
/// re-parented to it (a postmaster daemonized by pg_ctl, killed with -9), so their pids do not
/// linger as zombies. Pids registered with own() are left for their owner to waitpid().
/// A zombie nobody owns is reaped only after it has stayed a zombie for kGrace, so a child that
/// other code in this process fork()s and waitpid()s itself (a restarter under test) is not
/// stolen from it even if it never called own().
class Subreaper {
 public:
  static constexpr std::chrono::milliseconds kGrace{250};
  static Subreaper& instance();  ///< installs on first use; a background thread reaps
  void own(pid_t pid);
  void disown(pid_t pid);
  bool owns(pid_t pid) const;

 private:
  Subreaper();
  struct Impl;
  Impl* impl_;
};

struct PgClusterOptions {
  std::vector<std::string> settings =
      {};  ///< extra "-c name=value" settings, e.g. "max_connections=10"
  /// When non-empty: password auth (scram-sha-256) for TCP connections, the postgres role gets
  /// this password, and the role "pgvigil" (LOGIN, pg_monitor) is created with it too.
  std::string password = {};
  bool standby_no_hot = false;  ///< standby.signal + hot_standby=off: answers "starting up" forever
  /// Extra initdb arguments, e.g. "--wal-segsize=1" (WAL files of 1 MB roll over fast).
  std::vector<std::string> initdb_args = {};
  /// > 0: instead of initdb, a pg_basebackup (-R: streaming) of the cluster on this loopback
  /// port. With standby_no_hot: a standby that replays the primary's WAL and answers "starting
  /// up" meanwhile.
  int standby_of_port = 0;
  /// When both are non-empty: TLS on (ssl = on). The PEM files are copied into the data dir
  /// (owned by the server's user, key mode 0600, as PostgreSQL demands) before the start.
  std::string ssl_cert_file = {};
  std::string ssl_key_file = {};
  /// listen_addresses: "127.0.0.1" (the default), "::1", "127.0.0.1,::1". The fixture's own TCP
  /// connections (readiness, openIdle) and conninfo() use the first one.
  std::string listen_addresses = "127.0.0.1";
};

class PgCluster {
 public:
  explicit PgCluster(PgClusterOptions options = {});  ///< initdb + start + wait ready; throws
  ~PgCluster();                                       ///< stop (fast, then kill) + rm -rf
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const;
  const std::string& dir() const;  ///< the temp dir (data dir is dir()/data)
  std::string dataDir() const;
  std::string socketDir() const;  ///< unix socket dir (= dir())
  /// 0 when not running. The fixture's own child while it runs; otherwise (the cluster was
  /// started by pgCtlStartCommand(), e.g. by an agent's restart) the pid in
  /// dataDir()/postmaster.pid, but only when /proc/PID/cwd is this data dir and it is alive.
  pid_t postmasterPid() const;
  const std::string& password() const;  ///< "" unless PgClusterOptions::password
  std::string logPath() const;          ///< dir()/postgres.log
  /// "host=127.0.0.1 port=N dbname=postgres user=postgres" plus extra (the host is the first of
  /// listen_addresses).
  std::string conninfo(const std::string& extra = "") const;

  void start();        ///< start again after a stop or kill; waits until ready
  void startNoWait();  ///< start, do not wait (standby_no_hot, recovery)
  void stopFast();     ///< SIGINT + wait for exit (SIGKILL after 30 s)
  /// SIGKILL the postmaster, reap it, and wait (bounded) until its backends are gone too, so
  /// that start() can run at once. Works for a postmaster started by pgCtlStartCommand().
  void kill9();
  void sigstop();  ///< SIGSTOP the postmaster (hung: port accepts, no answer)
  void sigcont();
  /// SELECT 1 answers over TCP. Keeps waiting while no postmaster runs, so it also waits for
  /// a restart made by someone else (an agent running pgCtlStartCommand()).
  bool waitReady(std::chrono::milliseconds timeout);
  /// The postmaster has opened its sockets (postmaster.pid lists them); it may still refuse
  /// connections (starting up, standby without hot_standby). Makes no connection.
  bool waitListening(std::chrono::milliseconds timeout);
  /// Runs SQL as superuser over the unix socket; throws with the error on failure.
  std::string query(const std::string& sql);
  /// Opens n idle client connections over TCP (as postgres) and keeps them until closeIdle().
  void openIdle(int n);
  void closeIdle();
  std::string log() const;  ///< contents of the server log (dir()/postgres.log)
  /// The command line an agent's `restart.method: command` can use to start this cluster again
  /// (pg_ctl as the postgres user, logging to the same file).
  std::vector<std::string> pgCtlStartCommand() const;

 private:
  struct Impl;
  Impl* impl_;
};

/// A free TCP port on 127.0.0.1 (bind port 0, read it back).
int freeLoopbackPort();

}  // namespace pgvigil::test
