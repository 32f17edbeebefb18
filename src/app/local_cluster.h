// A throwaway PostgreSQL cluster on this machine, for `pgvigil demo` (docs/reference.md §7): found
// binaries, initdb into a temp dir (as an unprivileged user when run as root), started with pg_ctl
// on a free loopback port, and stopped and removed on destruction.
#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace pgvigil {

struct LocalClusterError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The directory holding initdb/pg_ctl/postgres: $PGVIGIL_PG_BINDIR, `pg_config --bindir`, or the
/// newest /usr/lib/postgresql/NN/bin. Throws with the remedy when none is found.
std::string findPostgresBinDir();

/// A free TCP port on 127.0.0.1 (binds port 0 and reads it back).
int freeLoopbackPort();

class LocalCluster {
 public:
  LocalCluster();   ///< initdb + start; throws LocalClusterError with what went wrong
  ~LocalCluster();  ///< stop (fast, then immediate) and remove the directory
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  const std::string& dir() const { return dir_; }
  std::string dataDir() const { return dir_ + "/data"; }
  std::string logFile() const { return dir_ + "/postgres.log"; }
  int port() const { return port_; }
  const std::string& binDir() const { return binDir_; }
  const std::string& osUser() const { return user_; }  ///< "" when not switching user
  std::string conninfo() const;
  /// The postmaster's pid from postmaster.pid, 0 when not running.
  pid_t postmasterPid() const;
  /// pg_ctl's -o options that start this cluster on its port and socket dir.
  std::string serverOptions() const;
  /// argv prefix that runs a program as the cluster's owner (runuser -u USER -- when root).
  std::vector<std::string> asOwner(std::vector<std::string> argv) const;

 private:
  int run(const std::vector<std::string>& argv, std::string* output = nullptr) const;
  std::string binDir_;
  std::string dir_;
  std::string user_;
  int port_ = 0;
};

/// Reaps zombie `postgres` processes that were re-parented to this process (it makes itself a
/// child subreaper, because a machine whose PID 1 does not reap would otherwise keep a killed
/// postmaster's pid alive, and a new postmaster would refuse to start on its lock file). Only
/// `postgres` zombies are reaped, so a restarter waiting for its own child is never robbed.
class OrphanReaper {
 public:
  OrphanReaper();
  ~OrphanReaper();
  OrphanReaper(const OrphanReaper&) = delete;
  OrphanReaper& operator=(const OrphanReaper&) = delete;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace pgvigil
