// Sees a crash when it happens (docs/reference.md §3): one long-lived monitoring connection per
// target, all polled by one thread. When a connection drops (EOF, reset, or the server's FATAL on
// shutdown) the callback asks for a confirming round at once; liveness itself is still judged by
// fresh connections. A dropped connection is reopened after the next good round (ensure()).
//
// Never delay a shutdown (docs/reference.md §8): a smart shutdown (SIGTERM, `pg_ctl stop -m smart`,
// `docker stop`) tells no session anything and waits until every session has ended, this one
// included. So the agent close()s the session after any failed round (the round's fresh
// connection is told 57P03 "shutting down"), and it stays closed until ensure() after a good one.
//
// Respect idle_session_timeout (issue 10): an open session reads the timeout that applies to it
// and, while idle, is sent a keep-alive query before the server would end it
// (core/idle_session.h), so the server's log has no "idle-session timeout" FATAL from pgvigil.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/idle_session.h"
#include "core/status.h"
#include "probes/net.h"
#include "probes/session_statement.h"

namespace pgvigil {

class MonitorConnection;

class ConnectionWatch {
 public:
  /// A session the server (or the network) ended: what it said before it went.
  struct Drop {
    std::string target;
    std::string sqlstate;  ///< "" when it ended without a message (EOF, reset)
    std::string message;   ///< redacted
  };
  /// The session's state as /status shows it, reported on each change.
  struct Report {
    std::string target;
    MonitorSessionState state = MonitorSessionState::kClosed;
    std::optional<Millis> idle_session_timeout;
    std::optional<Millis> keepalive_every;
    bool operator==(const Report&) const = default;
  };
  /// `onError` reports what went wrong inside the poll thread (it never ends that thread); by
  /// default the message goes to stderr. `onReport` hears each change of a session's state.
  /// Both callbacks run on the poll thread with no lock held: they only post.
  ConnectionWatch(const Clock& clock, std::function<void(const Drop&)> onDrop,
                  std::function<void(const std::string&)> onError = {},
                  std::function<void(const Report&)> onReport = {});
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

  /// The answer of a query run on a monitoring session.
  struct QueryAnswer {
    bool ok = false;
    std::vector<std::vector<std::optional<std::string>>> rows;
    std::string error;  ///< redacted, when !ok
  };
  /// Runs a query on the target's monitoring session (the poll thread sends it and reads the
  /// answer without blocking) and waits for the answer until the deadline. `statement` builds the
  /// statement for the session's server version. nullopt when there is no open, idle session
  /// to run it on, or no answer came in time: the caller uses a session of its own.
  /// Called from a probe worker, never from the loop.
  std::optional<QueryAnswer> query(
      const std::string& name, const std::function<SessionStatement(int serverVersion)>& statement,
      const Deadline& deadline);

 private:
  struct Entry;
  struct Request;
  void run();
  /// One pass: open what was asked for, poll, read what arrived. False once stopping.
  bool pollOnce(std::vector<Drop>& dropped, std::vector<Report>& reports);
  void report(const std::string& what) noexcept;
  void wake();

  const Clock& clock_;
  std::function<void(const Drop&)> onDrop_;
  std::function<void(const std::string&)> onError_;
  std::function<void(const Report&)> onReport_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  bool stopping_ = false;
  net::Waker waker_;  ///< wakes the poll thread (set, close, a query, stop)
  std::thread thread_;
};

}  // namespace pgvigil
