// HTTP/1.x request framing for the status endpoint's server, with no socket: bytes go in (in any
// pieces), complete requests or a 4xx verdict come out. The server (http_server.cpp) owns the
// transport and hands every byte it reads to one RequestFramer per connection; this file owns
// where a request ends, the size limits and what counts as malformed, so all of that is unit
// tested and fuzzed without a connection. Pipelined requests come out one at a time, in order.
//
// Why not a Poco class: Poco::Net::HTTPRequest::read parses a head from a blocking stream and
// HTTPServer frames on a thread per connection; neither says "not complete yet" for a partial
// buffer. The head itself is still parsed by HTTPRequest::read, once it is known to be complete.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/router.h"

namespace pgvigil {

struct RequestLimits {
  std::size_t max_head_bytes = 8192;  ///< request line and headers; beyond: 431
  int max_header_fields = 64;         ///< beyond: 431
  std::size_t max_body_bytes = 4096;  ///< Content-Length beyond: 413
};

/// One complete request.
struct FramedRequest {
  HttpRequest request;  ///< method, decoded path, raw query, Authorization: what the router reads
  std::string target;   ///< the request-target as sent ("/status?x=1")
  std::string version;  ///< "HTTP/1.1" or "HTTP/1.0"
  std::vector<std::pair<std::string, std::string>> headers;  ///< in the order sent
  std::string body;                                          ///< Content-Length bytes, often none
  bool keep_alive = false;  ///< what the request asks for (HTTP/1.1 default yes, 1.0 default no)
};

/// Why the framer refused the stream: the status to answer (400, 411, 413, 431, 505) and a short
/// reason for the JSON body.
struct FramingError {
  int status = 400;
  std::string message;
};

class RequestFramer {
 public:
  explicit RequestFramer(RequestLimits limits = {}) : limits_(limits) {}

  /// Appends bytes as read from the connection. Ignored after an error.
  void feed(std::string_view bytes);

  enum class Result {
    kNeedMore,  ///< no complete request buffered (yet)
    kRequest,   ///< *request holds the next request; its bytes are consumed
    kError,     ///< *error says why; the buffer is dropped and every later call says kNeedMore
  };
  /// Takes the next complete request from the buffer, if there is one.
  Result next(FramedRequest* request, FramingError* error);

  /// Bytes buffered and not yet returned as a request.
  std::size_t buffered() const { return in_.size(); }
  /// Whether a whole head (up to its blank line) is buffered; the body may still be missing.
  bool hasCompleteHead() const;
  /// Drops whatever is buffered (the connection closes after the current answer).
  void clear() { in_.clear(); }
  /// An error was returned: the rest of the stream cannot be trusted and is ignored.
  bool failed() const { return failed_; }

 private:
  Result fail(FramingError* error, int status, std::string message);

  RequestLimits limits_;
  std::string in_;
  bool failed_ = false;
};

/// Where a head ends (the index just past its blank line, CRLF CRLF or LF LF, whichever comes
/// first), or npos.
std::size_t requestHeadEnd(std::string_view in);

}  // namespace pgvigil
