#include "core/classify.h"

#include <cctype>
#include <cerrno>
#include <string>

namespace pgvigil {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && std::tolower(static_cast<unsigned char>(haystack[i + j])) ==
                                    std::tolower(static_cast<unsigned char>(needle[j])))
      ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

bool containsAny(std::string_view haystack, std::initializer_list<std::string_view> needles) {
  for (auto n : needles)
    if (contains(haystack, n)) return true;
  return false;
}

bool isSqlstateChar(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'Z');
}

// Texts of the server (postmaster.c, postinit.c, auth.c) and of libpq (fe-connect.c,
// fe-secure*.c, fe-misc.c) in PostgreSQL 12..17.
Cause fromText(Phase phase, std::string_view m) {
  // Server states first: their texts are the most specific.
  if (contains(m, "the database system is shutting down")) return Cause::kShuttingDown;
  if (containsAny(m, {"the database system is starting up", "the database system is in recovery",
                      "not yet accepting connections", "is not accepting connections",
                      "Hot standby mode is disabled"}))
    return Cause::kStartingUp;
  if (contains(m, "unexpected postmaster exit")) return Cause::kReset;
  if (containsAny(m, {"terminating connection due to administrator command",
                      "terminating connection because of crash of another server process"}))
    return Cause::kShuttingDown;
  if (containsAny(m, {"too many clients", "remaining connection slots are reserved",
                      "too many connections for"}))
    return Cause::kTooManyConnections;
  if (containsAny(m, {"password authentication failed", "no pg_hba.conf entry",
                      "authentication failed for user", "fe_sendauth: no password supplied",
                      "pg_hba.conf rejects connection", "does not support SCRAM",
                      "SCRAM authentication", "server requested", "channel binding"}))
    return Cause::kAuthFailed;
  if (contains(m, "role \"") && contains(m, "\" does not exist")) return Cause::kAuthFailed;
  if (contains(m, "database \"") && contains(m, "\" does not exist")) return Cause::kNoDatabase;

  // Name resolution.
  if (containsAny(m, {"could not translate host name", "Name or service not known",
                      "Temporary failure in name resolution", "nodename nor servname",
                      "No address associated with hostname", "cannot resolve host"}))
    return Cause::kDns;

  // TLS.
  if (containsAny(m, {"SSL error", "SSL SYSCALL error", "server does not support SSL",
                      "could not initiate SSL", "SSL connection has been closed",
                      "certificate verify failed", "certificate", "sslmode", "GSSAPI", "TLS"}))
    return Cause::kTls;

  // Socket-level failures.
  if (containsAny(m, {"timeout expired", "Connection timed out", "timed out"}))
    return Cause::kTimeout;
  if (containsAny(m, {"Connection refused", "No such file or directory", "Is the server running",
                      "No route to host", "Network is unreachable",
                      "Cannot assign requested address", "connection refused"}))
    return Cause::kRefused;
  if (containsAny(m, {"server closed the connection unexpectedly", "Connection reset by peer",
                      "connection reset", "Broken pipe", "could not receive data from server",
                      "could not send data to server", "no connection to the server",
                      "EOF detected", "lost synchronization with server", "end of file"}))
    return Cause::kReset;
  (void)phase;
  return Cause::kInternal;
}

}  // namespace

std::string_view sqlstateFromMessage(std::string_view message) {
  for (std::string_view severity : {"FATAL:  ", "ERROR:  ", "PANIC:  "}) {
    for (size_t pos = message.find(severity); pos != std::string_view::npos;
         pos = message.find(severity, pos + 1)) {
      std::string_view rest = message.substr(pos + severity.size());
      if (rest.size() >= 7 && rest[5] == ':' && rest[6] == ' ') {
        bool ok = true;
        for (size_t i = 0; i < 5; ++i) ok = ok && isSqlstateChar(rest[i]);
        if (ok) return rest.substr(0, 5);
      }
    }
  }
  return {};
}

Cause classify(Phase phase, std::string_view sqlstate, std::string_view message, int errnoHint) {
  if (sqlstate.empty()) sqlstate = sqlstateFromMessage(message);
  if (sqlstate.size() == 5) {
    std::string_view cls = sqlstate.substr(0, 2);
    if (sqlstate == "57P03") {
      return contains(message, "shutting down") ? Cause::kShuttingDown : Cause::kStartingUp;
    }
    if (sqlstate == "57P01" || sqlstate == "57P02") {
      if (contains(message, "unexpected postmaster exit")) return Cause::kReset;
      return Cause::kShuttingDown;
    }
    if (sqlstate == "57014") return Cause::kTimeout;  // statement_timeout / our cancel
    if (cls == "53" && sqlstate == "53300") return Cause::kTooManyConnections;
    if (sqlstate == "28P01" || sqlstate == "28000") return Cause::kAuthFailed;
    if (sqlstate == "3D000") return Cause::kNoDatabase;
    if (cls == "08") {
      if (sqlstate == "08P01") return Cause::kInternal;  // protocol violation
      Cause byText = fromText(phase, message);
      if (byText != Cause::kInternal) return byText;
      return phase == Phase::kQuery ? Cause::kReset : Cause::kRefused;
    }
    // Any other error the server reported: in the query it is the query's fault; before the
    // session was up, judge by the text.
    if (phase == Phase::kQuery) return Cause::kQueryError;
    Cause byText = fromText(phase, message);
    return byText != Cause::kInternal ? byText : Cause::kQueryError;
  }

  switch (errnoHint) {
    case ECONNREFUSED:
    case ENOENT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EADDRNOTAVAIL:
      return Cause::kRefused;
    case ETIMEDOUT:
      return Cause::kTimeout;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
      return Cause::kReset;
    default:
      break;
  }
  Cause byText = fromText(phase, message);
  if (byText != Cause::kInternal) return byText;
  if (phase == Phase::kDns) return Cause::kDns;
  return Cause::kInternal;
}

}  // namespace pgvigil
