// The status endpoint's transport: the listening socket, accepting a connection, and reading,
// writing and the TLS handshake over one connection, plain or TLS (OpenSSL directly), all
// non-blocking. No HTTP here: the loop (http_server.cpp) frames requests with RequestFramer and
// hands them to the router. Internal to the http layer.
#pragma once

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/ServerSocketImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#ifndef _WIN32
#include <sys/socket.h>
#endif

namespace pgvigil::http_transport {

#ifdef _WIN32
using ListenSocket = Poco::Net::ServerSocket;
#else
/// The listening socket, created close-on-exec: a restart command that another thread forks and
/// execs must not inherit it (it would keep the port bound after the agent exits). Poco's
/// socket() has no SOCK_CLOEXEC, and an FD_CLOEXEC set afterwards leaves a window for that fork.
class CloexecServerSocketImpl : public Poco::Net::ServerSocketImpl {
 protected:
  void init(int af) override { initSocket(af, SOCK_STREAM | SOCK_CLOEXEC); }
};
class ListenSocket : public Poco::Net::ServerSocket {
 public:
  ListenSocket() : Poco::Net::ServerSocket(new CloexecServerSocketImpl, true) {}
};
#endif

/// Accepts one pending connection: non-blocking, no Nagle, close-on-exec from the start.
/// nullopt when none is pending (EAGAIN) or the peer gave up already.
std::optional<Poco::Net::StreamSocket> acceptConnection(ListenSocket& listener);

/// The server's TLS settings (TLS 1.2+, strong ciphers, no renegotiation) with its certificate.
class TlsContext {
 public:
  /// Loads cert (PEM chain) and key (PEM, unencrypted); nullopt on success, else why not.
  std::optional<std::string> load(const std::string& cert, const std::string& key);
  bool enabled() const { return context_ != nullptr; }
  SSL_CTX* get() const { return context_.get(); }
  void reset() { context_.reset(); }

 private:
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context_{nullptr, &SSL_CTX_free};
};

/// The outcome of a read.
enum class Io {
  kOk,          ///< n > 0 bytes read
  kWouldBlock,  ///< nothing now; wait for readable
  kWantWrite,   ///< TLS needs to write first; wait for writable too
  kClosed,      ///< EOF or error
};

enum class Handshake { kDone, kWantRead, kWantWrite, kFailed };

/// One accepted connection, plain or TLS.
class Transport {
 public:
  /// Takes the socket; with an enabled context, TLS over it (handshake() first). False when TLS
  /// could not be set up (then the socket closes with this Transport).
  bool attach(Poco::Net::StreamSocket socket, const TlsContext& tls);

  Poco::Net::StreamSocket& socket() { return socket_; }
  bool tls() const { return ssl_ != nullptr; }

  /// Advances the TLS handshake.
  Handshake handshake();
  /// Reads up to len bytes into buf; n is set with kOk.
  Io receive(char* buf, std::size_t len, std::size_t& n);
  /// Writes; returns the bytes sent (0 when it would block), or -1 on error. Never SIGPIPE on a
  /// plain socket (MSG_NOSIGNAL; HttpServer::start ignores SIGPIPE for OpenSSL's writes).
  long send(const char* data, std::size_t len);
  /// Closes without a TLS close_notify (the peer may be gone); never throws.
  void close() noexcept;

 private:
  Poco::Net::StreamSocket socket_;
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl_{nullptr, &SSL_free};
};

}  // namespace pgvigil::http_transport
