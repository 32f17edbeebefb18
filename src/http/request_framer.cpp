#include "http/request_framer.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPMessage.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cstdint>
#include <sstream>

namespace pgvigil {

std::size_t requestHeadEnd(std::string_view in) {
  std::size_t crlf = in.find("\r\n\r\n");
  std::size_t lf = in.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return std::string_view::npos;
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf + 2 <= lf))
    return crlf + 4;
  return lf + 2;
}

void RequestFramer::feed(std::string_view bytes) {
  if (!failed_) in_.append(bytes);
}

bool RequestFramer::hasCompleteHead() const {
  return !failed_ && requestHeadEnd(in_) != std::string::npos;
}

RequestFramer::Result RequestFramer::fail(FramingError* error, int status, std::string message) {
  failed_ = true;
  in_.clear();
  in_.shrink_to_fit();
  error->status = status;
  error->message = std::move(message);
  return Result::kError;
}

RequestFramer::Result RequestFramer::next(FramedRequest* out, FramingError* error) {
  if (failed_) return Result::kNeedMore;
  std::size_t end = requestHeadEnd(in_);
  if (end == std::string::npos) {
    if (in_.size() > limits_.max_head_bytes) return fail(error, 431, "request head too large");
    return Result::kNeedMore;
  }
  if (end > limits_.max_head_bytes) return fail(error, 431, "request head too large");
  std::string_view head(in_.data(), end);
  // Counted before parsing, so a head of thousands of one-byte lines is refused cheaply: every
  // line but the request line and the blank one is (at most) a field.
  auto lines = static_cast<long>(std::count(head.begin(), head.end(), '\n'));
  if (lines - 2 > limits_.max_header_fields) return fail(error, 431, "too many header fields");

  Poco::Net::HTTPRequest parsed;
  parsed.setFieldLimit(limits_.max_header_fields);
  FramedRequest request;
  std::int64_t length = 0;
  try {
    std::istringstream stream{std::string(head)};
    parsed.read(stream);
    const std::string& version = parsed.getVersion();
    if (version != Poco::Net::HTTPMessage::HTTP_1_1 && version != Poco::Net::HTTPMessage::HTTP_1_0)
      return fail(error, 505, "HTTP version not supported");
    if (parsed.has("Transfer-Encoding"))
      return fail(error, 411, "request bodies need a Content-Length");
    length = parsed.getContentLength64();
    if (length < 0) {
      // -1 is Poco's "no Content-Length"; a negative value that was sent is malformed, not
      // "no body" (what follows it would be read as the next request).
      if (parsed.hasContentLength()) return fail(error, 400, "malformed request");
      length = 0;
    }
    Poco::URI uri(parsed.getURI());
    request.request.method = parsed.getMethod();
    request.request.path = uri.getPath();
    request.request.query = uri.getRawQuery();
    request.request.authorization = parsed.get("Authorization", "");
    request.target = parsed.getURI();
    request.version = version;
    for (const auto& [name, value] : parsed) request.headers.emplace_back(name, value);
    request.keep_alive = parsed.getKeepAlive();
  } catch (const Poco::Exception&) {
    return fail(error, 400, "malformed request");
  }
  if (static_cast<std::uint64_t>(length) > limits_.max_body_bytes)
    return fail(error, 413, "request body too large");
  auto bodyLength = static_cast<std::size_t>(length);
  if (in_.size() < end + bodyLength) return Result::kNeedMore;  // the body is still coming
  request.body.assign(in_, end, bodyLength);
  in_.erase(0, end + bodyLength);
  *out = std::move(request);
  return Result::kRequest;
}

}  // namespace pgvigil
