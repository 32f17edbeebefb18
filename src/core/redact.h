// Masking secrets in text that leaves the process: error messages, command output, log lines,
// `config show`. Pure string work (core must not link libpq); the probes layer has a libpq-based
// redactConnInfo for conninfo strings it can parse.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgvigil {

/// What every masked secret is replaced with.
inline constexpr std::string_view kRedacted = "*****";

/// Replaces every occurrence of each non-empty known secret, then masks by pattern:
///  - `password=VALUE` / `password: VALUE`, any case, also as the end of a longer name
///    (`PGPASSWORD=`, `sslpassword=`, `"password": "..."`), `passwd` likewise; VALUE is a
///    single- or double-quoted string (the quotes stay) or runs to the next white space
///    (or `&` / `#` after `?password=` / `&password=` in a URI);
///  - the password of a `postgresql://` or `postgres://` URI's userinfo (`user:SECRET@`);
///  - `Bearer TOKEN`.
/// Text without secrets comes back unchanged.
std::string redactSecrets(std::string_view text, const std::vector<std::string>& knownSecrets);

/// The passwords a conninfo (keyword=value or postgresql:// URI) spells out, as written and
/// decoded (libpq quoting and escapes, URI percent-encoding), to feed redactSecrets with.
std::vector<std::string> connInfoSecrets(std::string_view conninfo);

}  // namespace pgvigil
