// Connection strings: parsed with libpq's own parser (PQconninfoParse), never by hand, so
// keyword strings and postgresql:// URIs behave exactly as psql would treat them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"

namespace pgvigil {

struct ConnInfo {
  /// Every keyword libpq knows that has a value after parsing (URI or keyword=value).
  std::map<std::string, std::string> params;
  std::string host() const;      ///< first host; "" means the default unix socket dir
  std::string hostaddr() const;  ///< first hostaddr, if any
  int port() const;              ///< first port, default 5432
  std::string dbname() const;
  std::string user() const;
  bool isUnixSocket() const;  ///< host is a path (starts with '/' or '@') or empty
};

/// Parses a conninfo (keywords or URI). On failure returns nullopt and sets error: libpq's
/// message with keywords and option/parameter names shown and every value masked.
std::optional<ConnInfo> parseConnInfo(const std::string& conninfo, std::string* error);

/// The conninfo as keyword=value pairs with password (and any other secret) replaced by "*****".
/// Works for keyword strings and URIs. A string libpq cannot parse comes back with its keywords
/// (or a URI's scheme and parameter names) and every value masked: "host=***** port=*****",
/// "postgresql://*****?schema=*****"; a word that may be part of a password is masked too.
std::string redactConnInfo(const std::string& conninfo);

/// Keyword/value arrays for PQconnectStartParams with the probe's own settings applied:
/// application_name, connect_timeout, options='-c statement_timeout=...', and
/// gssencmode=disable unless the conninfo, its service or PGGSSENCMODE chooses one (libpq's
/// default "prefer" looks for Kerberos credentials on every connection: a fifth of the agent's
/// CPU at 1,000 targets; GSSAPI authentication works either way).
struct ConnectParams {
  std::vector<std::string> keys;
  std::vector<std::string> values;
  /// NULL-terminated arrays for PQconnectStartParams; valid while this object lives unchanged.
  std::vector<const char*> keywordArray() const { return cStrings(keys); }
  std::vector<const char*> valueArray() const { return cStrings(values); }
  static std::vector<const char*> cStrings(const std::vector<std::string>& in) {
    std::vector<const char*> out;
    out.reserve(in.size() + 1);
    for (const auto& s : in) out.push_back(s.c_str());
    out.push_back(nullptr);
    return out;
  }
};
ConnectParams buildConnectParams(const ConnInfo& info, const std::string& applicationName,
                                 int connectTimeoutSeconds, int statementTimeoutMs,
                                 const Env& env = Env::process());

}  // namespace pgvigil
