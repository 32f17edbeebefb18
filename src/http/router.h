// Exact-path routing, methods, auth and the handlers of docs/reference.md §4, as a pure function of
// a parsed request: Router::handle() never sees a socket, so every route, 404, 405 and 401 is unit
// tested without one. The server (http_server.h) parses requests and writes the answers.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/token_file.h"  // loadTokenFile, for the server's start and reload
#include "http/render_cache.h"
#include "http/renderers.h"
#include "http/status_provider.h"

namespace pgvigil {

struct HttpRequest {
  std::string method;         ///< "GET", "HEAD", "POST", ...
  std::string path;           ///< decoded, without the query
  std::string query;          ///< raw, without '?'
  std::string authorization;  ///< the Authorization header, "" when absent
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< besides type and length
};

inline constexpr std::string_view kJsonContentType = "application/json";

/// The bearer token, replaceable at runtime (start and reload). Thread-safe.
class TokenStore {
 public:
  /// nullopt: no token is configured (data endpoints open, control endpoints off).
  void set(std::optional<std::string> token);
  bool required() const;
  /// Constant-time comparison of an "Authorization" header value against "Bearer <token>".
  bool matches(std::string_view authorization) const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const std::string> token_;
};

/// Compares in time that depends only on the lengths, not on where the strings differ.
bool constantTimeEquals(std::string_view a, std::string_view b);

/// One query parameter's decoded value; nullopt when absent.
std::optional<std::string> queryParam(std::string_view query, std::string_view name);

class Router {
 public:
  Router(StatusProvider& provider, const TokenStore& tokens,
         const Clock& clock = SystemClock::instance());

  /// Answers one request. HEAD is answered as GET (the server drops the body). Never throws:
  /// an exception in a handler becomes a 500 that says nothing about its internals.
  HttpResponse handle(const HttpRequest& request) const;

  static constexpr std::size_t kDefaultEventLimit = 50;
  static constexpr std::size_t kMaxEventLimit = 1000;

 private:
  HttpResponse dispatch(const HttpRequest& request) const;
  HttpResponse control(const HttpRequest& request, std::string_view target,
                       std::string_view action) const;

  StatusProvider& provider_;
  const TokenStore& tokens_;
  const Clock& clock_;
  RenderCache<Rendered> healthCache_;
  RenderCache<Rendered> statusCache_;
  RenderCache<std::string> metricsCache_;
};

}  // namespace pgvigil
