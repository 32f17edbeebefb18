// The status endpoint's transport, plain or TLS. See transport.h.
#include "http/transport.h"

#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <openssl/err.h>

#include <algorithm>

#ifdef _WIN32
#include <winsock2.h>
#else
#include <cerrno>

#include "core/unique_fd.h"
#endif

#include "http/ssl_error.h"

namespace pgvigil::http_transport {
namespace {

bool wouldBlock() {
#ifdef _WIN32
  return WSAGetLastError() == WSAEWOULDBLOCK;
#else
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
#endif
}

}  // namespace

std::optional<Poco::Net::StreamSocket> acceptConnection(ListenSocket& listener) {
  Poco::Net::StreamSocket socket;
  try {
#ifdef _WIN32
    socket = listener.acceptConnection();
#else
    // accept4: close-on-exec from the start (see ListenSocket).
    UniqueFd fd(::accept4(listener.impl()->sockfd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (fd.get() < 0) return std::nullopt;  // nothing pending (EAGAIN), or the peer gave up
    socket = Poco::Net::StreamSocket(new Poco::Net::StreamSocketImpl(fd.get()));
    fd.release();  // the socket owns it now
#endif
    socket.setBlocking(false);
    socket.setNoDelay(true);
  } catch (const Poco::Exception&) {
    return std::nullopt;  // nothing pending (EAGAIN), or the peer gave up already
  }
  return socket;
}

std::optional<std::string> TlsContext::load(const std::string& cert, const std::string& key) {
  // OpenSSL directly, as for the non-blocking I/O below: Poco's NetSSL would only wrap
  // these few calls and bring NetSSL, Crypto, Util and XML (1.5 MB of RSS) into the agent.
  context_.reset(SSL_CTX_new(TLS_server_method()));
  if (!context_) return sslError("cannot set up TLS");
  SSL_CTX_set_min_proto_version(context_.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(context_.get(), SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(context_.get(), "HIGH:!aNULL:!MD5:!RC4") != 1)
    return sslError("cannot set up TLS");
  if (SSL_CTX_use_certificate_chain_file(context_.get(), cert.c_str()) != 1)
    return sslError("cannot load agent.tls cert " + cert);
  if (SSL_CTX_use_PrivateKey_file(context_.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
    return sslError("cannot load agent.tls key " + key);
  if (SSL_CTX_check_private_key(context_.get()) != 1)
    return sslError("agent.tls key does not match the cert");
  return std::nullopt;
}

bool Transport::attach(Poco::Net::StreamSocket socket, const TlsContext& tls) {
  socket_ = std::move(socket);
  if (!tls.enabled()) return true;
  ssl_.reset(SSL_new(tls.get()));
  if (!ssl_ || SSL_set_fd(ssl_.get(), static_cast<int>(socket_.impl()->sockfd())) != 1) {
    ERR_clear_error();
    return false;
  }
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return true;
}

Handshake Transport::handshake() {
  ERR_clear_error();
  int rc = SSL_accept(ssl_.get());
  if (rc == 1) return Handshake::kDone;
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ) return Handshake::kWantRead;
  if (err == SSL_ERROR_WANT_WRITE) return Handshake::kWantWrite;
  return Handshake::kFailed;
}

Io Transport::receive(char* buf, std::size_t len, std::size_t& n) {
  n = 0;
  if (ssl_) {
    ERR_clear_error();
    int rc = SSL_read(ssl_.get(), buf, static_cast<int>(len));
    if (rc > 0) {
      n = static_cast<std::size_t>(rc);
      return Io::kOk;
    }
    int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ) return Io::kWouldBlock;
    if (err == SSL_ERROR_WANT_WRITE) return Io::kWantWrite;
    return Io::kClosed;
  }
  auto rc = ::recv(socket_.impl()->sockfd(), buf, static_cast<int>(len), 0);
  if (rc > 0) {
    n = static_cast<std::size_t>(rc);
    return Io::kOk;
  }
  if (rc < 0 && wouldBlock()) return Io::kWouldBlock;
  return Io::kClosed;
}

long Transport::send(const char* data, std::size_t len) {
  if (len == 0) return 0;
  if (ssl_) {
    ERR_clear_error();
    int rc = SSL_write(ssl_.get(), data, static_cast<int>(std::min<std::size_t>(len, 1 << 30)));
    if (rc > 0) return rc;
    int err = SSL_get_error(ssl_.get(), rc);
    return err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ ? 0 : -1;
  }
#ifdef MSG_NOSIGNAL
  constexpr int kFlags = MSG_NOSIGNAL;
#else
  constexpr int kFlags = 0;
#endif
  auto rc = ::send(socket_.impl()->sockfd(), data, static_cast<int>(len), kFlags);
  if (rc >= 0) return static_cast<long>(rc);
  return wouldBlock() ? 0 : -1;
}

void Transport::close() noexcept {
  if (ssl_) {
    SSL_set_quiet_shutdown(ssl_.get(), 1);
    ERR_clear_error();
  }
  try {
    socket_.close();
  } catch (...) {
  }
}

}  // namespace pgvigil::http_transport
