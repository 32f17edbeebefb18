// HTTP/1.1 responses on the wire. See response_writer.h.
#include "http/response_writer.h"

#include <Poco/Net/HTTPResponse.h>

namespace pgvigil {
namespace {

std::string reason(int code) {
  return Poco::Net::HTTPResponse::getReasonForStatus(
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(code));
}

}  // namespace

void appendResponse(std::string& out, const HttpResponse& r, bool head, bool keepAlive) {
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason(r.status);
  out += "\r\nContent-Type: ";
  out += r.content_type.empty() ? std::string(kJsonContentType) : r.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  out += "\r\n";
  for (const auto& [name, value] : r.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!head) out += r.body;
}

HttpResponse errorResponse(int code, std::string_view message) {
  std::string body = "{\"error\":\"" + std::string(message) + "\"}";
  HttpResponse r{code, std::string(kJsonContentType), std::move(body), {}};
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace pgvigil
