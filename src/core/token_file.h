// The one token-file reader: the agent (http, at start and on reload) and the control commands
// (`pgvigil pause|resume|restart`) read agent.token_file with it, so both see the same token.
#pragma once

#include <optional>
#include <string>

namespace pgvigil {

/// Reads a token file: the first line, with surrounding whitespace (spaces, tabs, a CR of a
/// CRLF line end) removed. An empty or unreadable file, or a token holding a control character or
/// a space, is an error (never silently "no token"). The error text never contains the file's
/// content.
struct [[nodiscard]] TokenFileResult {
  std::optional<std::string> token;
  std::string error;  ///< set when token is empty
};
TokenFileResult loadTokenFile(const std::string& path);

}  // namespace pgvigil
