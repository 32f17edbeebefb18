// An HttpResponse as HTTP/1.1 bytes on the wire, and the server's own error answers.
#pragma once

#include <string>
#include <string_view>

#include "http/router.h"

namespace pgvigil {

/// Appends the status line, headers (Content-Type, Content-Length, the response's own,
/// Connection) and, unless `head`, the body.
void appendResponse(std::string& out, const HttpResponse& r, bool head, bool keepAlive);

/// {"error":"message"} with the status code, not cached: the answers the server gives itself
/// (400, 408, 413, 431, 500).
HttpResponse errorResponse(int code, std::string_view message);

}  // namespace pgvigil
