#include "app/cmd_control.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "app/cli.h"
#include "core/config_loader.h"
#include "core/env.h"
#include "core/token_file.h"
#include "core/units.h"
#include "http/ssl_error.h"

namespace pgvigil {
namespace {

/// One request to the agent and its whole answer (the request says Connection: close). Poco
/// writes the request and parses the response; the bytes go over a plain socket, or over
/// OpenSSL when the agent serves TLS — the same library the endpoint's own TLS uses, without
/// pulling in Poco's NetSSL stack (NetSSL, Crypto, Util, XML: 1.5 MB of the agent's RSS).
/// The agent's certificate is verified against agent.tls.cert itself (pinned; usually
/// self-signed for a loopback endpoint), so a bearer token never goes to another server.
struct Exchange {
  int status = 0;
  std::string reason;
  std::string body;
};

Exchange exchange(const std::string& host, int port, const std::string& pinnedCert,
                  Poco::Net::HTTPRequest& request) {
  std::ostringstream head;
  request.set("Connection", "close");
  request.write(head);
  const std::string out = head.str();

  Poco::Net::StreamSocket socket;
  socket.connect(Poco::Net::SocketAddress(host, static_cast<Poco::UInt16>(port)),
                 Poco::Timespan(10, 0));
  socket.setReceiveTimeout(Poco::Timespan(10, 0));
  socket.setSendTimeout(Poco::Timespan(10, 0));
  std::string in;
  char buf[4096];
  if (pinnedCert.empty()) {
    socket.sendBytes(out.data(), static_cast<int>(out.size()));
    for (int n; (n = socket.receiveBytes(buf, sizeof buf)) > 0;) in.append(buf, std::size_t(n));
  } else {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          &SSL_CTX_free);
    if (!ctx) throw std::runtime_error(sslError("TLS setup failed"));
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (SSL_CTX_load_verify_locations(ctx.get(), pinnedCert.c_str(), nullptr) != 1)
      throw std::runtime_error(sslError("cannot read agent.tls.cert " + pinnedCert));
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx.get()), X509_V_FLAG_PARTIAL_CHAIN);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
    if (!ssl || SSL_set_fd(ssl.get(), static_cast<int>(socket.impl()->sockfd())) != 1)
      throw std::runtime_error(sslError("TLS setup failed"));
    if (SSL_connect(ssl.get()) != 1) {
      const long verify = SSL_get_verify_result(ssl.get());
      if (verify != X509_V_OK)
        throw std::runtime_error(
            std::string("TLS: the agent's certificate is not agent.tls.cert (") +
            X509_verify_cert_error_string(verify) + ")");
      throw std::runtime_error(sslError("TLS handshake failed"));
    }
    if (SSL_write(ssl.get(), out.data(), static_cast<int>(out.size())) <= 0)
      throw std::runtime_error(sslError("TLS write failed"));
    for (int n; (n = SSL_read(ssl.get(), buf, sizeof buf)) > 0;) in.append(buf, std::size_t(n));
    SSL_shutdown(ssl.get());
  }
  std::istringstream response(in);
  Poco::Net::HTTPResponse parsed;
  parsed.read(response);  // throws on a malformed answer
  Exchange ex;
  ex.status = parsed.getStatus();
  ex.reason = parsed.getReason();
  ex.body.assign(std::istreambuf_iterator<char>(response), std::istreambuf_iterator<char>());
  if (parsed.hasContentLength() && parsed.getContentLength64() >= 0 &&
      ex.body.size() > static_cast<std::size_t>(parsed.getContentLength64()))
    ex.body.resize(static_cast<std::size_t>(parsed.getContentLength64()));
  return ex;
}

/// host:port of the listen address, with a wildcard host replaced by loopback.
bool splitListen(const std::string& listen, std::string& host, int& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return false;
  }
  return port > 0 && port < 65536;
}

}  // namespace

int runControl(const ControlOptions& options, std::ostream& out, std::ostream& err) {
  const Env env = Env::process();
  const std::string path = resolveConfigPath(options.config_path, env);
  auto loaded = loadConfigFile(path, env);
  if (!loaded.config) {
    err << formatErrors(loaded.errors);
    return kExitInvalid;
  }
  const Config& config = *loaded.config;
  if (!config.findTarget(options.target)) {
    err << "pgvigil: no target named '" << options.target << "' in " << path << "\n";
    return kExitInvalid;
  }
  if (config.agent.listen.empty()) {
    err << "pgvigil: agent.listen is off in " << path << ": there is no endpoint to ask\n";
    return kExitFailed;
  }
  if (config.agent.token_file.empty()) {
    err << "pgvigil: agent.token_file is not set in " << path
        << ": the control endpoints are off without a token (see docs/http.md)\n";
    return kExitFailed;
  }
  auto loadedToken = loadTokenFile(config.agent.token_file);  // as the agent reads it
  if (!loadedToken.token) {
    err << "pgvigil: " << loadedToken.error << "\n";
    return kExitFailed;
  }
  const std::string& token = *loadedToken.token;
  std::string uri = "/targets/" + options.target + "/" + options.action;
  if (options.for_duration) {
    auto d = parseDuration(*options.for_duration, kMaxPause);  // what the agent accepts
    if (!d.ok()) {
      err << "pgvigil: --for " << *options.for_duration << ": " << d.error << "\n";
      return kExitUsage;
    }
    std::string encoded;
    Poco::URI::encode(*options.for_duration, "&=?#", encoded);
    uri += "?for=" + encoded;
  }
  std::string host;
  int port = 0;
  if (!splitListen(config.agent.listen, host, port)) {
    err << "pgvigil: agent.listen '" << config.agent.listen << "' is not host:port\n";
    return kExitInvalid;
  }
  try {
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, uri,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost(host, static_cast<Poco::UInt16>(port));
    request.set("Authorization", "Bearer " + token);
    request.setContentLength(0);
    Exchange reply = exchange(host, port, config.agent.tls_cert, request);
    const std::string& text = reply.body;
    const int status = reply.status;
    (status < 300 ? out : err) << "pgvigil: " << options.action << " " << options.target << ": "
                               << status << " " << reply.reason << "\n"
                               << text << (text.empty() || text.back() == '\n' ? "" : "\n");
    return status < 300 ? kExitOk : kExitFailed;
  } catch (const Poco::Exception& e) {
    err << "pgvigil: could not reach the agent at " << host << ":" << port << ": "
        << e.displayText() << "\n";
    return kExitFailed;
  } catch (const std::exception& e) {
    err << "pgvigil: could not reach the agent at " << host << ":" << port << ": " << e.what()
        << "\n";
    return kExitFailed;
  }
}

}  // namespace pgvigil
