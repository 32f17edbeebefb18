// The status endpoint's server (docs/reference.md §4). One event-loop thread owns every connection:
// it accepts, reads request heads without blocking, and only a complete request reaches the
// router, whose answers come from memory in microseconds. A slow or silent client therefore costs
// a socket and a little buffer, never a thread, and cannot starve /health; it is cut off when its
// head is not complete within request_timeout. See docs/http.md for why this is not
// Poco::Net::HTTPServer (a thread per connection while the head is read).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/config.h"
#include "events/agent_log.h"
#include "http/router.h"
#include "http/status_provider.h"

namespace pgvigil {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8787";  ///< host:port, [v6]:port; port 0 picks a free one
  std::string token_file;                 ///< "" : no token (data open, control endpoints off)
  std::string tls_cert;                   ///< PEM; both set: HTTPS
  std::string tls_key;                    ///< PEM, unencrypted
  std::size_t max_connections = 512;  ///< beyond: the oldest connection still reading is dropped
  Millis request_timeout{2000};       ///< a request (head and body) must arrive within this
  Millis keepalive_timeout{5000};     ///< an idle kept-alive connection is closed after this
  Millis write_timeout{5000};         ///< a client that does not read its answer is dropped
  int max_keepalive_requests = 1000;
  std::size_t max_head_bytes = 8192;  ///< request line and headers; beyond: 431
  int max_header_fields = 64;         ///< beyond: 431
  std::size_t max_body_bytes = 4096;  ///< beyond: 413 (no endpoint reads a body)
  AgentLog* log = nullptr;  ///< where unexpected errors in the loop are reported; nullptr: stderr

  /// listen, token_file and TLS from agent:; the limits keep their defaults.
  static HttpServerOptions fromConfig(const AgentConfig& agent);
};

class HttpServer {
 public:
  HttpServer(StatusProvider& provider, HttpServerOptions options,
             const Clock& clock = SystemClock::instance());
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Reads the token file, loads TLS, binds and starts the loop thread. nullopt on success,
  /// else why not (bind failure, unreadable token file, bad certificate). Never throws.
  [[nodiscard]] std::optional<std::string> start();
  /// Stops the loop and closes every connection; idempotent. Returns within ~100 ms.
  void stop();
  /// Rereads a token file (on reload). On error the old token stays. "" removes the token.
  [[nodiscard]] std::optional<std::string> reloadToken(const std::string& tokenFile);

  /// The bound port (after start), e.g. when listen asked for port 0.
  std::uint16_t port() const { return port_.load(); }
  bool running() const { return running_.load(); }
  bool tls() const { return !options_.tls_cert.empty(); }

  struct Stats {
    std::uint64_t accepted = 0;
    std::uint64_t requests = 0;
    std::uint64_t timed_out = 0;  ///< closed for a request, keep-alive or write timeout
    std::uint64_t rejected = 0;   ///< 400, 408, 413, 431 answers from the server itself
    std::uint64_t evicted = 0;    ///< dropped to make room at max_connections
    std::uint64_t open = 0;
    std::uint64_t errors = 0;  ///< unexpected exceptions caught (and reported) in the loop threads
  };
  Stats stats() const;

 private:
  class Loop;

  StatusProvider& provider_;
  HttpServerOptions options_;
  TokenStore tokens_;
  Router router_;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<std::uint16_t> port_{0};
};

}  // namespace pgvigil
