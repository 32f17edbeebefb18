// OpenSSL's error queue as a message: shared by the endpoint's TLS set-up and the control CLI's
// TLS client, the two places pgvigil calls OpenSSL itself.
#pragma once

#include <openssl/err.h>

#include <string>

namespace pgvigil {

/// `what`, followed by OpenSSL's first queued error (which file, which reason) when there is
/// one; clears the queue so the next call starts clean.
inline std::string sslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  char buf[256] = "";
  if (code) ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return what + (code ? std::string(": ") + buf : std::string());
}

}  // namespace pgvigil
