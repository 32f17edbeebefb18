#include "support/http_client.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>

#include <strings.h>
#include <memory>
#include <sstream>

namespace pgvigil::test {

std::string HttpResponse::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return "";
}

HttpClient::HttpClient(std::string host, int port, bool https)
    : host_(std::move(host)), port_(port), https_(https) {}

HttpClient HttpClient::forListen(const std::string& listen, bool https) {
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  return HttpClient(host, std::stoi(listen.substr(colon + 1)), https);
}

HttpResponse HttpClient::request(const std::string& method, const std::string& path,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 std::chrono::milliseconds timeout) const {
  HttpRequest req;
  req.method = method;
  req.path = path;
  req.headers = headers;
  req.timeout = timeout;
  return request(req);
}

HttpResponse HttpClient::request(const HttpRequest& req) const {
  HttpResponse out;
  try {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (https_) {
      // Test certificates are self-signed: no verification (this client talks to loopback only).
      static Poco::Net::Context::Ptr context = new Poco::Net::Context(
          Poco::Net::Context::TLS_CLIENT_USE, "", "", "", Poco::Net::Context::VERIFY_NONE);
      session =
          std::make_unique<Poco::Net::HTTPSClientSession>(host_, Poco::UInt16(port_), context);
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(host_, Poco::UInt16(port_));
    }
    Poco::Timespan timeout(Poco::Timespan::TimeDiff(req.timeout.count()) * 1000);
    session->setTimeout(timeout, timeout, timeout);
    session->setKeepAlive(false);
    Poco::Net::HTTPRequest request(req.method, req.path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : req.headers) request.set(k, v);
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT")
      request.setContentLength(std::streamsize(req.body.size()));
    std::ostream& body = session->sendRequest(request);
    body << req.body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    out.status = int(response.getStatus());
    out.reason = response.getReason();
    for (const auto& [k, v] : response) out.headers.emplace_back(k, v);
    if (req.method != "HEAD") {
      std::ostringstream ss;
      Poco::StreamCopier::copyStream(in, ss);
      out.body = ss.str();
    }
  } catch (const Poco::Exception& e) {
    out.status = 0;
    out.error = e.displayText();
  } catch (const std::exception& e) {
    out.status = 0;
    out.error = e.what();
  }
  return out;
}

}  // namespace pgvigil::test
