#include "app/cmd_control.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "core/config_loader.h"
#include "core/env.h"
#include "core/units.h"

namespace pgvigil {
namespace {

/// host:port of the listen address, with a wildcard host replaced by loopback.
bool splitListen(const std::string& listen, std::string& host, int& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return false;
  }
  return port > 0 && port < 65536;
}

std::string readToken(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read token_file " + path;
    return {};
  }
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) token.pop_back();
  if (token.empty()) error = "token_file " + path + " is empty";
  return token;
}

}  // namespace

int runControl(const ControlOptions& options, std::ostream& out, std::ostream& err) {
  const Env env = Env::process();
  const std::string path = resolveConfigPath(options.config_path, env);
  auto loaded = loadConfigFile(path, env);
  if (!loaded.config) {
    err << formatErrors(loaded.errors);
    return 2;
  }
  const Config& config = *loaded.config;
  if (!config.findTarget(options.target)) {
    err << "pgvigil: no target named '" << options.target << "' in " << path << "\n";
    return 2;
  }
  if (config.agent.listen.empty()) {
    err << "pgvigil: agent.listen is off in " << path << ": there is no endpoint to ask\n";
    return 1;
  }
  if (config.agent.token_file.empty()) {
    err << "pgvigil: agent.token_file is not set in " << path
        << ": the control endpoints are off without a token (see docs/http.md)\n";
    return 1;
  }
  std::string tokenError;
  const std::string token = readToken(config.agent.token_file, tokenError);
  if (!tokenError.empty()) {
    err << "pgvigil: " << tokenError << "\n";
    return 1;
  }
  std::string uri = "/targets/" + options.target + "/" + options.action;
  if (options.for_duration) {
    auto d = parseDuration(*options.for_duration);
    if (!d.ok()) {
      err << "pgvigil: --for " << *options.for_duration << ": " << d.error << "\n";
      return 64;
    }
    std::string encoded;
    Poco::URI::encode(*options.for_duration, "&=?#", encoded);
    uri += "?for=" + encoded;
  }
  std::string host;
  int port = 0;
  if (!splitListen(config.agent.listen, host, port)) {
    err << "pgvigil: agent.listen '" << config.agent.listen << "' is not host:port\n";
    return 2;
  }
  try {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (!config.agent.tls_cert.empty()) {
      // The agent's certificate is usually self-signed for a loopback endpoint: the bearer token
      // is what authenticates here, so the client does not verify the certificate.
      Poco::Net::Context::Ptr context = new Poco::Net::Context(
          Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_NONE);
      session = std::make_unique<Poco::Net::HTTPSClientSession>(host, static_cast<Poco::UInt16>(port), context);
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(host, static_cast<Poco::UInt16>(port));
    }
    session->setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, uri, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", "Bearer " + token);
    request.setContentLength(0);
    session->sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session->receiveResponse(response);
    std::string text;
    Poco::StreamCopier::copyToString(body, text);
    const int status = response.getStatus();
    (status < 300 ? out : err) << "pgvigil: " << options.action << " " << options.target << ": "
                               << status << " " << response.getReason() << "\n"
                               << text << (text.empty() || text.back() == '\n' ? "" : "\n");
    return status < 300 ? 0 : 1;
  } catch (const Poco::Exception& e) {
    err << "pgvigil: could not reach the agent at " << host << ":" << port << ": " << e.displayText() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "pgvigil: could not reach the agent at " << host << ":" << port << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace pgvigil
