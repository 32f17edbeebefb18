#include "agent/connection_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <future>
#include <vector>

#include "probes/monitor_connection.h"

namespace pgvigil {

struct ConnectionWatch::Request {
  std::string sql;
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

ConnectionWatch::ConnectionWatch(const Clock& clock, std::function<void(const std::string&)> onDrop,
                                 std::function<void(const std::string&)> onError)
    : clock_(clock), onDrop_(std::move(onDrop)), onError_(std::move(onError)) {
  wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
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
  if (wakeFd_ >= 0) ::close(wakeFd_);
  wakeFd_ = -1;
}

void ConnectionWatch::wake() {
  if (wakeFd_ < 0) return;
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof one);
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
  }
  wake();
}

std::optional<ConnectionWatch::QueryAnswer> ConnectionWatch::query(
    const std::string& name, const std::function<std::string(int serverVersion)>& sql,
    const Deadline& deadline) {
  std::future<QueryAnswer> answer;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return std::nullopt;
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    Entry& entry = *it->second;
    if (entry.request || entry.conn->state() != MonitorConnection::State::kReady ||
        entry.conn->querying())
      return std::nullopt;
    entry.request = std::make_shared<Request>();
    entry.request->sql = sql(entry.conn->serverVersion());
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
  std::vector<std::string> dropped;
  for (;;) {
    dropped.clear();
    std::string error;
    try {
      if (!pollOnce(dropped)) return;
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
        }
      } catch (...) {
        // nothing more to do: keep going
      }
      pollfd wakeOnly{wakeFd_, POLLIN, 0};
      ::poll(&wakeOnly, 1, 200);
    }
    for (const auto& name : dropped) {
      try {
        onDrop_(name);
      } catch (const std::exception& e) {
        report("drop callback for " + name + " failed: " + e.what());
      } catch (...) {
        report("drop callback for " + name + " failed");
      }
    }
  }
}

bool ConnectionWatch::pollOnce(std::vector<std::string>& dropped) {
  std::vector<pollfd> fds;
  std::vector<std::shared_ptr<Entry>> polled;
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
      if (auto& req = entry->request) {
        if (conn.state() != MonitorConnection::State::kReady) {
          entry->fail("the monitoring session is not open");
        } else if (!req->sent) {
          req->sent = true;
          req->sent_at = now;
          if (!conn.sendQuery(req->sql))
            entry->fail(conn.queryError().empty() ? std::string("could not send the query")
                                                  : conn.queryError());
        } else if (now - req->sent_at > kQueryTimeout) {
          entry->fail("no answer on the monitoring session");
          conn.close();
        }
      }
      if (conn.socket() >= 0 && conn.events() != 0) {
        fds.push_back({conn.socket(), conn.events(), 0});
        polled.push_back(entry);
      }
    }
  }
  fds.push_back({wakeFd_, POLLIN, 0});
  ::poll(fds.data(), fds.size(), 1000);
  if (fds.back().revents & POLLIN) {
    uint64_t value;
    [[maybe_unused]] auto n = ::read(wakeFd_, &value, sizeof value);
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto& entry = polled[i];
      auto it = entries_.find(entry->name);
      if (it == entries_.end() || it->second != entry) continue;  // removed or replaced meanwhile
      auto& conn = *entry->conn;
      if (conn.state() == MonitorConnection::State::kConnecting) {
        conn.advance();
      } else if (conn.state() == MonitorConnection::State::kReady && conn.querying()) {
        const auto read = conn.readResult();
        if (read == MonitorConnection::ReadOutcome::kDone && entry->request) {
          QueryAnswer a;
          a.ok = conn.queryError().empty();
          a.error = conn.queryError();
          a.rows = conn.rows();
          entry->request->finish(std::move(a));
          entry->request.reset();
        } else if (read == MonitorConnection::ReadOutcome::kDropped) {
          entry->fail(conn.lastError().empty() ? std::string("the monitoring session dropped")
                                               : conn.lastError());
          conn.close();
          dropped.push_back(entry->name);
        }
      } else if (conn.state() == MonitorConnection::State::kReady && conn.checkDropped()) {
        conn.close();
        dropped.push_back(entry->name);
      }
    }
  }
  return true;
}

}  // namespace pgvigil
