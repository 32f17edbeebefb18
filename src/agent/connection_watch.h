// Sees a crash when it happens (docs/reference.md §3): one long-lived monitoring connection per
// target, all polled by one thread. When a connection drops (EOF, reset, or the server's FATAL on
// shutdown) the callback asks for a confirming round at once; liveness itself is still judged by
// fresh connections. A dropped connection is reopened after the next good round (ensure()).
//
// Never delay a shutdown (docs/reference.md §8): a smart shutdown (SIGTERM, `pg_ctl stop -m smart`,
// `docker stop`) tells no session anything and waits until every session has ended, this one
// included. So the agent close()s the session after any failed round (the round's fresh
// connection is told 57P03 "shutting down"), and it stays closed until ensure() after a good one.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/config.h"

namespace pgvigil {

class MonitorConnection;

class ConnectionWatch {
 public:
  /// `onError` reports what went wrong inside the poll thread (it never ends that thread); by
  /// default the message goes to stderr.
  ConnectionWatch(const Clock& clock, std::function<void(const std::string&)> onDrop,
                  std::function<void(const std::string&)> onError = {});
  ~ConnectionWatch();
  ConnectionWatch(const ConnectionWatch&) = delete;
  ConnectionWatch& operator=(const ConnectionWatch&) = delete;

  /// Watch (or re-watch, with a new conninfo) a target. The connection opens on ensure().
  void set(const TargetConfig& target);
  void remove(const std::string& name);
  /// Open the target's connection if it is not open (called after a good round; never blocks
  /// the caller: the poll thread opens it).
  void ensure(const std::string& name);
  /// Close the target's session now (a clean Terminate), without reporting a drop; it stays
  /// closed until the next ensure(). Called after a failed round, so that the agent's own
  /// session never holds up a shutdown. Never blocks on the network.
  void close(const std::string& name);
  void stop();

 private:
  struct Entry;
  void run();
  /// One pass: open what was asked for, poll, read what arrived. False once stopping.
  bool pollOnce(std::vector<std::string>& dropped);
  void report(const std::string& what) noexcept;
  void wake();

  const Clock& clock_;
  std::function<void(const std::string&)> onDrop_;
  std::function<void(const std::string&)> onError_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  bool stopping_ = false;
  int wakeFd_ = -1;
  std::thread thread_;
};

}  // namespace pgvigil
