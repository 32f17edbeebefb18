// Sees a crash when it happens (SPEC.md §3): one long-lived monitoring connection per target,
// all polled by one thread. When a connection drops (EOF, reset, or the server's FATAL on
// shutdown) the callback asks for a confirming round at once; liveness itself is still judged by
// fresh connections. A dropped connection is reopened after the next good round (ensure()).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/config.h"

namespace pgvigil {

class MonitorConnection;

class ConnectionWatch {
 public:
  ConnectionWatch(const Clock& clock, std::function<void(const std::string&)> onDrop);
  ~ConnectionWatch();
  ConnectionWatch(const ConnectionWatch&) = delete;
  ConnectionWatch& operator=(const ConnectionWatch&) = delete;

  /// Watch (or re-watch, with a new conninfo) a target. The connection opens on ensure().
  void set(const TargetConfig& target);
  void remove(const std::string& name);
  /// Open the target's connection if it is not open (called after a good round; never blocks
  /// the caller: the poll thread opens it).
  void ensure(const std::string& name);
  /// Close the target's session now (a clean Terminate) and keep it closed until ensure(): a
  /// session must never hold a server that refuses, shuts down or hangs.
  void close(const std::string& name);
  void stop();

 private:
  struct Entry;
  void run();
  void wake();

  const Clock& clock_;
  std::function<void(const std::string&)> onDrop_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  bool stopping_ = false;
  int wakeFd_ = -1;
  std::thread thread_;
};

}  // namespace pgvigil
