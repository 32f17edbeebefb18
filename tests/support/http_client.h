// A tiny HTTP(S) client for tests of the agent's endpoint: one request, bounded in time, the
// answer as a value. A failure to connect or a timeout is a result (status 0, error set), not an
// exception, so tests can assert that an endpoint is down.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pgvigil::test {

struct HttpResponse {
  int status = 0;  ///< 0 when there was no answer (see error)
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  ///< in the order received
  std::string body;
  std::string error;  ///< why there was no answer
  /// First header with this name (case-insensitive), "" when absent.
  std::string header(const std::string& name) const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};
};

class HttpClient {
 public:
  /// host: "127.0.0.1" or "::1"; https: TLS without certificate verification (test certs).
  HttpClient(std::string host, int port, bool https = false);
  /// Parses "127.0.0.1:8787" or "[::1]:8787".
  static HttpClient forListen(const std::string& listen, bool https = false);

  HttpResponse request(const HttpRequest& request) const;
  HttpResponse request(const std::string& method, const std::string& path,
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       std::chrono::milliseconds timeout = std::chrono::milliseconds{5000}) const;
  HttpResponse get(const std::string& path) const { return request("GET", path); }

 private:
  std::string host_;
  int port_;
  bool https_;
};

}  // namespace pgvigil::test
