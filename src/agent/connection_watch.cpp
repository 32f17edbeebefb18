#include "agent/connection_watch.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <future>
#include <vector>

#include "probes/monitor_connection.h"

namespace pgvigil {

struct ConnectionWatch::Request {
  SessionStatement statement;
  std::promise<QueryAnswer> answer;
  bool sent = false;
  SteadyTime sent_at{};
  void finish(QueryAnswer a) {
    try {
      answer.set_value(std::move(a));
    } catch (const std::future_error&) {
      // already answered
    }
  }
};

struct ConnectionWatch::Entry {
  std::string name;
  std::unique_ptr<MonitorConnection> conn;
  bool want_open = false;
  SteadyTime connect_started{};
  std::shared_ptr<Request> request;  ///< the query asked for, until it is answered
  IdleSessionKeepAlive keep_alive;
  bool pinging = false;  ///< the keep-alive query is in flight
  SteadyTime ping_sent{};
  std::optional<Report> reported;  ///< the last state handed to onReport

  /// The session is not open (any more): nothing to keep alive.
  void notOpen() {
    keep_alive.closed();
    pinging = false;
  }
  Report report() const {
    Report r;
    r.target = name;
    switch (conn->state()) {
      case MonitorConnection::State::kReady:
        r.state = MonitorSessionState::kOpen;
        r.idle_session_timeout = keep_alive.timeout();
        r.keepalive_every = keep_alive.every();
        break;
      case MonitorConnection::State::kConnecting:
        r.state = MonitorSessionState::kOpening;
        break;
      default:
        r.state = MonitorSessionState::kClosed;
    }
    return r;
  }

  ~Entry() { fail("the monitoring session was replaced"); }
  void fail(const std::string& why) {
    if (!request) return;
    QueryAnswer a;
    a.error = why;
    request->finish(std::move(a));
    request.reset();
  }
};

namespace {
/// A connect that has not finished by then is given up; the next good round asks again.
constexpr auto kConnectTimeout = std::chrono::seconds(5);
/// A query with no answer by then (the server cancels it after 5 s itself) closes the session:
/// something is wrong with it, and a fresh one opens after the next good round.
constexpr auto kQueryTimeout = std::chrono::seconds(8);
}  // namespace

ConnectionWatch::ConnectionWatch(const Clock& clock, std::function<void(const Drop&)> onDrop,
                                 std::function<void(const std::string&)> onError,
                                 std::function<void(const Report&)> onReport)
    : clock_(clock),
      onDrop_(std::move(onDrop)),
      onError_(std::move(onError)),
      onReport_(std::move(onReport)) {
  thread_ = std::thread([this] { run(); });
}

ConnectionWatch::~ConnectionWatch() {
  stop();
}

void ConnectionWatch::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  entries_.clear();  // closes every session cleanly (Terminate message)
}

void ConnectionWatch::wake() {
  waker_.wake();
}

void ConnectionWatch::set(const TargetConfig& target) {
  {
    std::lock_guard lock(mutex_);
    auto entry = std::make_shared<Entry>();
    entry->name = target.name;
    entry->conn = std::make_unique<MonitorConnection>(target.conninfo, target.application_name);
    entries_[target.name] = entry;  // a previous session for this name closes here
  }
  wake();
}

void ConnectionWatch::remove(const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    entries_.erase(name);
  }
  wake();
}

void ConnectionWatch::ensure(const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    auto state = it->second->conn->state();
    if (state == MonitorConnection::State::kReady || state == MonitorConnection::State::kConnecting)
      return;
    it->second->want_open = true;
  }
  wake();
}

void ConnectionWatch::close(const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    it->second->want_open = false;
    // Every failed round calls this: a target that stays down costs no wake-up of the thread.
    if (it->second->conn->state() == MonitorConnection::State::kClosed) return;
    // PQfinish: a Terminate message on an idle socket (a few bytes into an empty send buffer),
    // then close(2). The poll thread may still hold the old descriptor number in its poll set;
    // it looks at the entry's state afterwards, which is kClosed now, and ignores it.
    it->second->fail("the monitoring session was closed");
    it->second->conn->close();
    it->second->notOpen();
  }
  wake();
}

std::optional<ConnectionWatch::QueryAnswer> ConnectionWatch::query(
    const std::string& name, const std::function<SessionStatement(int serverVersion)>& statement,
    const Deadline& deadline) {
  std::future<QueryAnswer> answer;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return std::nullopt;
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    Entry& entry = *it->second;
    // A keep-alive query in flight answers in a round trip: the request is sent after it.
    if (entry.request || entry.conn->state() != MonitorConnection::State::kReady ||
        (entry.conn->querying() && !entry.pinging))
      return std::nullopt;
    entry.request = std::make_shared<Request>();
    entry.request->statement = statement(entry.conn->serverVersion());
    answer = entry.request->answer.get_future();
  }
  wake();
  const auto left = deadline.remaining();
  if (left <= Millis{0} || answer.wait_for(left) != std::future_status::ready) return std::nullopt;
  try {
    return answer.get();
  } catch (const std::future_error&) {
    return std::nullopt;
  }
}

void ConnectionWatch::report(const std::string& what) noexcept {
  try {
    if (onError_) {
      onError_(what);
      return;
    }
  } catch (...) {
    // the reporter failed too: fall through to stderr
  }
  std::fprintf(stderr, "pgvigil: monitoring connections: %s\n", what.c_str());
}

void ConnectionWatch::run() {
  std::vector<Drop> dropped;
  std::vector<Report> reports;
  for (;;) {
    dropped.clear();
    reports.clear();
    std::string error;
    try {
      if (!pollOnce(dropped, reports)) return;
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    if (!error.empty()) {
      // Whatever failed, hold nothing: every session is closed (each reopens after the
      // target's next good round), and the thread goes on after a short pause, so that a
      // failure that repeats cannot spin.
      report("poll thread error (sessions closed, polling goes on): " + error);
      try {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        for (auto& [name, entry] : entries_) {
          entry->want_open = false;
          entry->fail("the monitoring session was closed");
          entry->conn->close();
          entry->notOpen();
        }
      } catch (...) {
        // nothing more to do: keep going
      }
      net::PollFd wakeOnly{waker_.pollable(), net::kReadable, 0};
      net::poll(&wakeOnly, 1, 200);
    }
    for (const auto& drop : dropped) {
      try {
        onDrop_(drop);
      } catch (const std::exception& e) {
        report("drop callback for " + drop.target + " failed: " + e.what());
      } catch (...) {
        report("drop callback for " + drop.target + " failed");
      }
    }
    if (onReport_)
      for (const auto& r : reports) {
        try {
          onReport_(r);
        } catch (...) {
          report("state callback for " + r.target + " failed");
        }
      }
  }
}

bool ConnectionWatch::pollOnce(std::vector<Drop>& dropped, std::vector<Report>& reports) {
  std::vector<net::PollFd> fds;
  std::vector<std::shared_ptr<Entry>> polled;
  int timeoutMs = 1000;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    const SteadyTime now = clock_.now();
    for (auto& [name, entry] : entries_) {
      auto& conn = *entry->conn;
      if (entry->want_open) {
        // Started here, not in ensure(): libpq may resolve a host name synchronously.
        entry->want_open = false;
        entry->connect_started = now;
        conn.open();
      }
      if (conn.state() == MonitorConnection::State::kConnecting &&
          now - entry->connect_started > kConnectTimeout)
        conn.close();
      if (conn.state() == MonitorConnection::State::kFailed) conn.close();
      if (entry->pinging && now - entry->ping_sent > kQueryTimeout) {
        // No answer to a query that reads a setting: the session is stuck, not the server's
        // verdict. Closed quietly; the next good round opens a fresh one.
        entry->fail("no answer on the monitoring session");
        conn.close();
      }
      if (conn.state() != MonitorConnection::State::kReady) entry->notOpen();
      if (auto& req = entry->request) {
        if (conn.state() != MonitorConnection::State::kReady) {
          entry->fail("the monitoring session is not open");
        } else if (!req->sent && !conn.querying()) {
          req->sent = true;
          req->sent_at = now;
          entry->keep_alive.sent(now);
          if (!conn.sendStatement(req->statement))
            entry->fail(conn.queryError().empty() ? std::string("could not send the query")
                                                  : conn.queryError());
        } else if (req->sent && now - req->sent_at > kQueryTimeout) {
          entry->fail("no answer on the monitoring session");
          conn.close();
          entry->notOpen();
        }
      }
      // Idle and due: the keep-alive query (which also reads the timeout again, in case the
      // server's, the role's or the database's setting changed).
      if (conn.state() == MonitorConnection::State::kReady && !conn.querying() && !entry->request &&
          entry->keep_alive.due(now)) {
        if (conn.sendQuery(std::string(kIdleSessionTimeoutQuery))) {
          entry->pinging = true;
          entry->ping_sent = now;
          entry->keep_alive.sent(now);
        } else if (conn.state() != MonitorConnection::State::kReady) {
          conn.close();
          entry->notOpen();
        }
      }
      if (conn.state() == MonitorConnection::State::kReady && !conn.querying())
        if (auto due = entry->keep_alive.nextDue()) {
          const auto wait = std::chrono::ceil<Millis>(*due - now).count();
          timeoutMs = std::clamp<int>(int(std::min<long long>(wait, 1000)), 0, timeoutMs);
        }
      if (conn.socket() >= 0 && conn.events() != 0) {
        fds.push_back({net::fromLibpq(conn.socket()), conn.events(), 0});
        polled.push_back(entry);
      }
    }
  }
  fds.push_back({waker_.pollable(), net::kReadable, 0});
  net::poll(fds.data(), fds.size(), timeoutMs);
  if (fds.back().revents & net::kReadable) waker_.drain();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    const SteadyTime now = clock_.now();
    auto drop = [&](Entry& entry) {
      auto& conn = *entry.conn;
      entry.fail(conn.lastError().empty() ? std::string("the monitoring session dropped")
                                          : conn.lastError());
      dropped.push_back({entry.name, conn.sqlstate(), conn.lastError()});
      conn.close();
      entry.notOpen();
    };
    for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto& entry = polled[i];
      auto it = entries_.find(entry->name);
      if (it == entries_.end() || it->second != entry) continue;  // removed or replaced meanwhile
      auto& conn = *entry->conn;
      if (conn.state() == MonitorConnection::State::kConnecting) {
        // Open: the first thing it does is read the idle_session_timeout that applies to it.
        if (conn.advance() == MonitorConnection::State::kReady) entry->keep_alive.opened(now);
      } else if (conn.state() == MonitorConnection::State::kReady && conn.querying()) {
        const auto read = conn.readResult();
        if (read == MonitorConnection::ReadOutcome::kDone && entry->pinging) {
          entry->pinging = false;
          std::optional<Millis> timeout;
          if (conn.queryError().empty() && !conn.rows().empty() && !conn.rows()[0].empty() &&
              conn.rows()[0][0])
            timeout = parseTimeSetting(*conn.rows()[0][0]);
          entry->keep_alive.timeoutRead(timeout);
        } else if (read == MonitorConnection::ReadOutcome::kDone && entry->request) {
          QueryAnswer a;
          a.ok = conn.queryError().empty();
          a.error = conn.queryError();
          a.rows = conn.rows();
          entry->request->finish(std::move(a));
          entry->request.reset();
        } else if (read == MonitorConnection::ReadOutcome::kDropped) {
          drop(*entry);
        }
      } else if (conn.state() == MonitorConnection::State::kReady && conn.checkDropped()) {
        drop(*entry);
      }
    }
    for (auto& [name, entry] : entries_) {
      Report r = entry->report();
      if (entry->reported && *entry->reported == r) continue;
      entry->reported = r;
      reports.push_back(std::move(r));
    }
  }
  return true;
}

}  // namespace pgvigil
