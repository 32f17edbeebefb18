// The status endpoint's loop: accepts, polls, keeps each connection's timeouts, frames requests
// (RequestFramer) and hands them to the router; POSTs go to the control worker. The bytes move
// through the transport (transport.h: plain or TLS). See http_server.h.
#include "http/http_server.h"

#include <Poco/Net/NetException.h>
#include <Poco/Net/PollSet.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <algorithm>
#include <csignal>
#include <deque>
#include <exception>
#include <iostream>
#include <unordered_map>

#include "events/agent_log.h"
#include "http/control_worker.h"
#include "http/request_framer.h"
#include "http/response_writer.h"
#include "http/transport.h"

namespace pgvigil {

HttpServerOptions HttpServerOptions::fromConfig(const AgentConfig& agent) {
  HttpServerOptions o;
  o.listen = agent.listen;
  o.token_file = agent.token_file;
  o.tls_cert = agent.tls_cert;
  o.tls_key = agent.tls_key;
  return o;
}

namespace {

using Poco::Net::PollSet;
using SteadyClock = std::chrono::steady_clock;
using http_transport::Handshake;
using http_transport::Io;
using http_transport::ListenSocket;
using http_transport::TlsContext;
using http_transport::Transport;

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMaxPendingOutput = 256 * 1024;   ///< stop parsing pipelined requests beyond
constexpr auto kTick = std::chrono::milliseconds{100};  ///< poll timeout: stop flag and sweeps
constexpr auto kControlTick = std::chrono::milliseconds{2};  ///< poll timeout while control runs

/// What an exception says, for a report; never throws.
std::string describe(std::exception_ptr e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const Poco::Exception& x) {
    return x.displayText();
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

class HttpServer::Loop {
 public:
  Loop(Router& router, const HttpServerOptions& options) : router_(router), options_(options) {}

  std::optional<std::string> open() {
    try {
      Poco::Net::SocketAddress address(options_.listen);
      listener_.bind(address, true, false);  // SO_REUSEADDR, never SO_REUSEPORT: a busy port fails
      listener_.listen(256);
      listener_.setBlocking(false);
      port_ = listener_.address().port();
    } catch (const Poco::Exception& e) {
      return "cannot listen on " + options_.listen + ": " + e.displayText();
    }
    if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
      if (options_.tls_cert.empty() || options_.tls_key.empty())
        return std::string("agent.tls needs both cert and key");
      if (auto err = tls_.load(options_.tls_cert, options_.tls_key)) return err;
    }
    poll_.add(listener_, PollSet::POLL_READ);
    return std::nullopt;
  }

  ~Loop() {
    for (auto& [key, conn] : conns_) closeSocket(*conn);
    conns_.clear();
    tls_.reset();
  }

  std::uint16_t port() const { return port_; }

  /// The loop thread's body. Nothing escapes it: an unexpected exception (bad_alloc, a bug) is
  /// reported and the loop goes on with the next round, so /health keeps answering.
  void run(const std::atomic<bool>& running) noexcept {
    try {
      control_.start();
    } catch (...) {
      report("cannot start the control worker; the status endpoint stops",
             std::current_exception());
      return;
    }
    auto lastSweep = SteadyClock::now();
    while (running.load(std::memory_order_relaxed)) {
      try {
        runOnce(lastSweep);
      } catch (...) {
        report("unexpected error in the status endpoint; it keeps serving",
               std::current_exception());
      }
    }
    control_.stop();
  }

  HttpServer::Stats stats() const {
    HttpServer::Stats s;
    s.accepted = accepted_.load();
    s.requests = requests_.load();
    s.timed_out = timedOut_.load();
    s.rejected = rejected_.load();
    s.evicted = evicted_.load();
    s.open = open_.load();
    s.errors = errors_.load();
    return s;
  }

 private:
  /// kAwaiting: a control request (POST) is with the control worker; the socket is out of the
  /// poll set until its answer is back.
  enum class State { kHandshake, kIdle, kReading, kWriting, kAwaiting };

  struct Conn {
    Transport io;
    State state = State::kIdle;
    RequestFramer framer;  ///< what was read and not yet answered
    std::string out;
    std::size_t outPos = 0;
    SteadyClock::time_point accepted;
    SteadyClock::time_point deadline;
    int requests = 0;
    int mode = PollSet::POLL_READ;
    bool closeAfterWrite = false;
    bool peerClosed = false;
    bool closed = false;
    std::uint64_t id = 0;
  };

  /// One round: wait for ready sockets (at most a tick), serve them, answer finished control
  /// requests, drop closed and timed-out connections.
  void runOnce(SteadyClock::time_point& lastSweep) {
    PollSet::SocketModeMap ready;
    try {
      auto tick = controlPending_ > 0 ? kControlTick : kTick;
      ready = poll_.poll(Poco::Timespan(std::chrono::microseconds(tick).count()));
    } catch (const Poco::Exception&) {
      // EINTR and friends: go round again.
    }
    for (const auto& [socket, mode] : ready) {
      if (socket == listener_) {
        acceptOne();
        continue;
      }
      auto it = conns_.find(socket.impl());
      if (it == conns_.end()) continue;  // closed earlier in this round
      Conn& c = *it->second;
      try {
        if (mode & PollSet::POLL_ERROR)
          onReadable(c);  // reads the EOF/reset and closes
        else {
          if (mode & PollSet::POLL_READ) onReadable(c);
          if (mode & PollSet::POLL_WRITE) onWritable(c);
        }
      } catch (...) {
        markClosed(c);  // one connection's trouble (even bad_alloc) never ends the loop
      }
    }
    if (controlPending_ > 0) drainControl();
    reapClosed();
    auto now = SteadyClock::now();
    if (now - lastSweep >= kTick) {
      sweep(now);
      reapClosed();
      lastSweep = now;
    }
  }

  /// To the agent's log when there is one, else to stderr. Thread-safe; never throws.
  void report(std::string_view what, std::exception_ptr error) noexcept {
    ++errors_;
    try {
      std::string why = describe(error);
      if (options_.log)
        options_.log->log(EventLevel::kError, what, {{"error", why}});
      else
        std::cerr << "pgvigil: " << what << ": " << why << "\n";
    } catch (...) {
    }
  }

  // ---- control requests ------------------------------------------------------------------------
  // POSTs go to the control worker (control_worker.h) so that nothing they do can stall the
  // loop, and with it /health.

  void handOff(Conn& c, HttpRequest request, bool keepAlive) {
    if (c.out.size() > c.outPos) {  // earlier pipelined answers: one try now, the rest later
      long n = c.io.send(c.out.data() + c.outPos, c.out.size() - c.outPos);
      if (n > 0) c.outPos += static_cast<std::size_t>(n);
    }
    c.state = State::kAwaiting;
    try {
      if (poll_.has(c.io.socket())) poll_.remove(c.io.socket());
    } catch (const Poco::Exception&) {
    }
    c.mode = 0;
    ++controlPending_;
    control_.submit({c.id, std::move(request), keepAlive});
  }

  void drainControl() {
    std::deque<ControlWorker::Done> done = control_.takeDone();
    for (auto& d : done) {
      --controlPending_;
      Conn* c = nullptr;
      for (auto& [key, conn] : conns_)
        if (conn->id == d.conn) c = conn.get();
      if (!c || c->closed) continue;  // the client went away meanwhile
      appendResponse(c->out, d.response, false, d.keepAlive);
      if (!d.keepAlive) {
        c->closeAfterWrite = true;
        c->framer.clear();
      }
      try {
        poll_.add(c->io.socket(), PollSet::POLL_READ);
        c->mode = PollSet::POLL_READ;
      } catch (const Poco::Exception&) {
        markClosed(*c);
        continue;
      }
      c->state = State::kWriting;
      c->deadline = SteadyClock::now() + options_.write_timeout;
      try {
        flush(*c);
      } catch (...) {
        markClosed(*c);
      }
    }
  }

  // ---- connection life cycle -------------------------------------------------------------------

  void acceptOne() {
    std::optional<Poco::Net::StreamSocket> accepted = http_transport::acceptConnection(listener_);
    if (!accepted) return;
    Poco::Net::StreamSocket socket = *accepted;
    if (conns_.size() >= options_.max_connections) evictOne();
    auto conn = std::make_unique<Conn>();
    conn->framer = RequestFramer(limits());
    conn->accepted = SteadyClock::now();
    conn->id = ++nextId_;
    conn->deadline = conn->accepted + options_.request_timeout;
    if (!conn->io.attach(socket, tls_)) return;  // the socket closes as it goes out of scope
    // TLS starts with the handshake; plain reads at once. The request clock runs from connect.
    conn->state = conn->io.tls() ? State::kHandshake : State::kReading;
    poll_.add(socket, PollSet::POLL_READ);
    ++accepted_;
    conns_.emplace(socket.impl(), std::move(conn));
    open_ = conns_.size();
  }

  /// At max_connections, make room: drop the connection that has been reading (or idle) longest.
  void evictOne() {
    Conn* victim = nullptr;
    for (auto& [key, c] : conns_) {
      if (c->closed || c->state == State::kWriting || c->state == State::kAwaiting) continue;
      // Prefer one that has not finished a request (a slow or silent client) over an idle one.
      bool slow = c->state != State::kIdle;
      bool victimSlow = victim && victim->state != State::kIdle;
      if (!victim || (slow && !victimSlow) ||
          (slow == victimSlow && c->accepted < victim->accepted))
        victim = c.get();
    }
    if (!victim) return;
    ++evicted_;
    markClosed(*victim);
    reapClosed();
  }

  void markClosed(Conn& c) { c.closed = true; }

  void closeSocket(Conn& c) {
    try {
      if (poll_.has(c.io.socket())) poll_.remove(c.io.socket());
    } catch (const Poco::Exception&) {
    }
    c.io.close();
  }

  void reapClosed() {
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->second->closed) {
        closeSocket(*it->second);
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
    open_ = conns_.size();
  }

  void setMode(Conn& c, int mode) {
    if (c.mode == mode) return;
    c.mode = mode;
    try {
      poll_.update(c.io.socket(), mode);
    } catch (const Poco::Exception&) {
      markClosed(c);
    }
  }

  void sweep(SteadyClock::time_point now) {
    for (auto& [key, c] : conns_) {
      if (c->closed || c->state == State::kAwaiting || now < c->deadline) continue;
      ++timedOut_;
      if (c->state == State::kReading && c->framer.buffered() > 0 && !c->io.tls()) {
        // Tell a client that sent part of a request why it is dropped; one try, no waiting.
        std::string msg;
        appendResponse(msg, errorResponse(408, "request not complete in time"), false, false);
        c->io.send(msg.data(), msg.size());
        ++rejected_;
      }
      markClosed(*c);
    }
  }

  void onReadable(Conn& c) {
    if (c.closed || c.state == State::kAwaiting) return;
    if (c.state == State::kHandshake) {
      switch (c.io.handshake()) {
        case Handshake::kDone:
          break;
        case Handshake::kWantRead:
          return setMode(c, PollSet::POLL_READ);
        case Handshake::kWantWrite:
          return setMode(c, PollSet::POLL_READ | PollSet::POLL_WRITE);
        case Handshake::kFailed:
          return markClosed(c);
      }
      c.state = State::kReading;  // the request clock keeps running from connect
      setMode(c, PollSet::POLL_READ);
    }
    if (c.state == State::kWriting) {
      // A pipelining client: keep what it sent for later, within bounds; reading resumes after.
      if (c.framer.buffered() > readCap()) return setMode(c, PollSet::POLL_WRITE);
    }
    char buf[kReadChunk];
    for (;;) {
      std::size_t n = 0;
      Io io = c.io.receive(buf, sizeof buf, n);
      if (io == Io::kWouldBlock) break;
      if (io == Io::kWantWrite) {
        setMode(c, PollSet::POLL_READ | PollSet::POLL_WRITE);
        break;
      }
      if (io == Io::kClosed) {
        c.peerClosed = true;
        break;
      }
      if (c.state == State::kIdle) {
        c.state = State::kReading;
        c.deadline = SteadyClock::now() + options_.request_timeout;
      }
      c.framer.feed(std::string_view(buf, n));
      if (c.framer.buffered() > readCap()) break;
    }
    if (c.state != State::kWriting && c.state != State::kAwaiting) process(c);
    if (c.peerClosed && c.state != State::kAwaiting && c.out.size() == c.outPos)
      return markClosed(c);
    if (c.peerClosed) c.closeAfterWrite = true;
  }

  void onWritable(Conn& c) {
    if (c.closed || c.state == State::kAwaiting) return;
    if (c.state == State::kHandshake) return onReadable(c);
    if (c.io.tls() && c.state != State::kWriting) {
      // A TLS read that wanted to write (renegotiation): retry it.
      setMode(c, PollSet::POLL_READ);
      return onReadable(c);
    }
    flush(c);
  }

  std::size_t readCap() const {
    return options_.max_head_bytes + options_.max_body_bytes + kReadChunk;
  }

  RequestLimits limits() const {
    return {options_.max_head_bytes, options_.max_header_fields, options_.max_body_bytes};
  }

  /// Writes what is pending. When done: close, or go on with pipelined input, or wait for more.
  void flush(Conn& c) {
    while (c.outPos < c.out.size()) {
      long n = c.io.send(c.out.data() + c.outPos, c.out.size() - c.outPos);
      if (n < 0) return markClosed(c);
      if (n == 0) {
        c.state = State::kWriting;
        return setMode(c, PollSet::POLL_WRITE);
      }
      c.outPos += static_cast<std::size_t>(n);
    }
    c.out.clear();
    c.outPos = 0;
    if (c.closeAfterWrite) return markClosed(c);
    auto now = SteadyClock::now();
    if (c.framer.buffered() == 0) {
      c.state = State::kIdle;
      c.deadline = now + options_.keepalive_timeout;
    } else if (c.state != State::kReading) {
      c.state = State::kReading;
      c.deadline = now + options_.request_timeout;
    }
    setMode(c, PollSet::POLL_READ);
    if (c.framer.hasCompleteHead()) process(c);
  }

  // ---- requests
  // ----------------------------------------------------------------------------------

  /// Answers a request the server itself rejects, then closes: after a malformed or oversized
  /// request the rest of the stream cannot be trusted.
  void reject(Conn& c, int code, std::string_view message) {
    ++rejected_;
    c.framer.clear();
    c.closeAfterWrite = true;
    appendResponse(c.out, errorResponse(code, message), false, false);
  }

  /// Handles every complete request in the input buffer, appends the answers, and writes them.
  void process(Conn& c) {
    while (!c.closeAfterWrite && c.out.size() < kMaxPendingOutput) {
      FramedRequest framed;
      FramingError error;
      RequestFramer::Result result = c.framer.next(&framed, &error);
      if (result == RequestFramer::Result::kNeedMore) break;
      if (result == RequestFramer::Result::kError) {
        reject(c, error.status, error.message);
        break;
      }
      HttpRequest& req = framed.request;  // the body, if any, is ignored: no endpoint reads one
      bool keepAlive = framed.keep_alive;
      ++c.requests;
      ++requests_;
      if (c.requests >= options_.max_keepalive_requests || c.peerClosed) keepAlive = false;
      if (req.method == "POST") {
        handOff(c, std::move(req), keepAlive);
        return;  // the answer, and any pipelined request after it, wait for the worker
      }
      HttpResponse response = router_.handle(req);
      appendResponse(c.out, response, req.method == "HEAD", keepAlive);
      if (!keepAlive) {
        c.closeAfterWrite = true;
        c.framer.clear();
      }
    }
    if (c.out.size() > c.outPos) {
      c.state = State::kWriting;
      c.deadline = SteadyClock::now() + options_.write_timeout;
      flush(c);
    }
  }

  Router& router_;
  const HttpServerOptions& options_;
  ListenSocket listener_;
  TlsContext tls_;
  PollSet poll_;
  std::unordered_map<Poco::Net::SocketImpl*, std::unique_ptr<Conn>> conns_;
  std::uint16_t port_ = 0;
  std::uint64_t nextId_ = 0;
  int controlPending_ = 0;  ///< loop thread only
  ControlWorker control_{
      router_, [this](std::string_view what, std::exception_ptr error) { report(what, error); }};
  std::atomic<std::uint64_t> accepted_{0}, requests_{0}, timedOut_{0}, rejected_{0}, evicted_{0},
      open_{0}, errors_{0};
};

// ---- HttpServer
// ----------------------------------------------------------------------------------

HttpServer::HttpServer(StatusProvider& provider, HttpServerOptions options, const Clock& clock)
    : provider_(provider), options_(std::move(options)), router_(provider_, tokens_, clock) {}

HttpServer::~HttpServer() {
  stop();
}

std::optional<std::string> HttpServer::start() {
  if (running_) return std::string("already running");
  if (auto err = reloadToken(options_.token_file)) return err;
#ifndef _WIN32
  // Writes to a peer that has gone must be errors, not a SIGPIPE that ends the agent (OpenSSL
  // writes without MSG_NOSIGNAL). Only when nobody installed a handler.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
    std::signal(SIGPIPE, SIG_IGN);
#endif
  auto loop = std::make_unique<Loop>(router_, options_);
  if (auto err = loop->open()) return err;
  port_ = loop->port();
  loop_ = std::move(loop);
  running_ = true;
  thread_ = std::thread([this] { loop_->run(running_); });
  return std::nullopt;
}

void HttpServer::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
  loop_.reset();
}

std::optional<std::string> HttpServer::reloadToken(const std::string& tokenFile) {
  if (tokenFile.empty()) {
    tokens_.set(std::nullopt);
    return std::nullopt;
  }
  auto loaded = loadTokenFile(tokenFile);
  if (!loaded.token) return loaded.error;
  tokens_.set(std::move(loaded.token));
  return std::nullopt;
}

HttpServer::Stats HttpServer::stats() const {
  return loop_ ? loop_->stats() : Stats{};
}

}  // namespace pgvigil
