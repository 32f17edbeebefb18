// Application connection URLs: see app_url.h and docs/configuration.md ("Application URLs").
#include "core/app_url.h"

#include <algorithm>
#include <cctype>

#include "core/config_suggest.h"

namespace pgvigil {
namespace {

// The parameters each driver reads from its URL that libpq does not know. A name libpq knows
// (sslmode, sslcert, connect_timeout, application_name, options, host, user, password, ...) is
// never listed here: libpq reads it, with libpq's meaning.
const std::vector<std::string>& prismaParams() {
  static const std::vector<std::string> v{"schema",
                                          "connection_limit",
                                          "pool_timeout",
                                          "pgbouncer",
                                          "socket_timeout",
                                          "statement_cache_size",
                                          "sslaccept",
                                          "sslidentity",
                                          "max_connection_lifetime",
                                          "max_idle_connection_lifetime",
                                          "single_use_connections"};
  return v;
}

const std::vector<std::string>& jdbcParams() {
  static const std::vector<std::string> v{"currentSchema",
                                          "ssl",
                                          "sslfactory",
                                          "sslfactoryarg",
                                          "sslhostnameverifier",
                                          "sslpasswordcallback",
                                          "sslResponseTimeout",
                                          "loginTimeout",
                                          "connectTimeout",
                                          "socketTimeout",
                                          "cancelSignalTimeout",
                                          "tcpKeepAlive",
                                          "tcpNoDelay",
                                          "ApplicationName",
                                          "prepareThreshold",
                                          "preparedStatementCacheQueries",
                                          "preparedStatementCacheSizeMiB",
                                          "defaultRowFetchSize",
                                          "binaryTransfer",
                                          "binaryTransferEnable",
                                          "binaryTransferDisable",
                                          "stringtype",
                                          "reWriteBatchedInserts",
                                          "targetServerType",
                                          "loadBalanceHosts",
                                          "hostRecheckSeconds",
                                          "readOnly",
                                          "readOnlyMode",
                                          "autosave",
                                          "assumeMinServerVersion",
                                          "gssEncMode",
                                          "protocolVersion",
                                          "logUnclosedConnections",
                                          "socketFactory",
                                          "socketFactoryArg",
                                          "sendBufferSize",
                                          "receiveBufferSize",
                                          "jaasApplicationName",
                                          "jaasLogin",
                                          "kerberosServerName",
                                          "allowEncodingChanges",
                                          "logServerErrorDetail",
                                          "escapeSyntaxCallMode",
                                          "quoteReturningIdentifiers",
                                          "cleanupSavepoints",
                                          "preferQueryMode",
                                          "disableColumnSanitiser",
                                          "unknownLength",
                                          "databaseMetadataCacheFields",
                                          "databaseMetadataCacheFieldsMiB",
                                          "authenticationPluginClassName",
                                          "channelBinding",
                                          "groupStartupParameters",
                                          "maxResultBuffer",
                                          "adaptiveFetch",
                                          "adaptiveFetchMinimum",
                                          "adaptiveFetchMaximum",
                                          "hideUnprivilegedObjects",
                                          "loggerLevel",
                                          "loggerFile"};
  return v;
}

// node-postgres (pg-connection-string) passes every query parameter into the client config.
const std::vector<std::string>& nodeParams() {
  static const std::vector<std::string> v{"ssl",
                                          "statement_timeout",
                                          "query_timeout",
                                          "lock_timeout",
                                          "idle_in_transaction_session_timeout",
                                          "connectionTimeoutMillis",
                                          "idleTimeoutMillis",
                                          "keepAlive",
                                          "keepAliveInitialDelayMillis",
                                          "max",
                                          "min",
                                          "uselibpqcompat"};
  return v;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Percent-decodes `in` into `out`; false on a malformed escape or %00 (as libpq).
bool percentDecode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hexValue(in[i + 1]), lo = hexValue(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

/// A parameter name fit to print: printable ASCII without quotes, at most 63 characters.
bool printableName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return c > 0x20 && c < 0x7f && c != '\'' && c != '"' && c != '\\';
  });
}

}  // namespace

const std::vector<std::string>& libpqKeywords() {
  static const std::vector<std::string> v{"host",
                                          "hostaddr",
                                          "port",
                                          "dbname",
                                          "user",
                                          "password",
                                          "passfile",
                                          "channel_binding",
                                          "connect_timeout",
                                          "client_encoding",
                                          "options",
                                          "application_name",
                                          "fallback_application_name",
                                          "keepalives",
                                          "keepalives_idle",
                                          "keepalives_interval",
                                          "keepalives_count",
                                          "tcp_user_timeout",
                                          "replication",
                                          "sslmode",
                                          "sslnegotiation",
                                          "sslcompression",
                                          "sslcert",
                                          "sslkey",
                                          "sslcertmode",
                                          "sslpassword",
                                          "sslrootcert",
                                          "sslcrl",
                                          "sslcrldir",
                                          "sslsni",
                                          "requirepeer",
                                          "require_auth",
                                          "ssl_min_protocol_version",
                                          "ssl_max_protocol_version",
                                          "min_protocol_version",
                                          "max_protocol_version",
                                          "gssencmode",
                                          "krbsrvname",
                                          "gsslib",
                                          "gssdelegation",
                                          "service",
                                          "target_session_attrs",
                                          "load_balance_hosts",
                                          "scram_client_key",
                                          "scram_server_key",
                                          "oauth_issuer",
                                          "oauth_client_id",
                                          "oauth_client_secret",
                                          "oauth_scope"};
  return v;
}

bool looksLikeUrl(std::string_view text) {
  return startsWithNoCase(text, "postgresql://") || startsWithNoCase(text, "postgres://") ||
         startsWithNoCase(text, "jdbc:postgresql://");
}

AppUrl normalizeAppUrl(std::string_view text, bool keepUnknown) {
  AppUrl r;
  r.conninfo = std::string(text);
  if (!looksLikeUrl(text)) return r;
  r.is_url = true;
  if (startsWithNoCase(text, "jdbc:")) text.remove_prefix(5);
  std::size_t q = text.find('?');
  std::string base(text.substr(0, q));
  if (q == std::string_view::npos) {
    r.conninfo = base;
    return r;
  }
  std::string_view query = text.substr(q + 1);
  std::vector<std::string> kept;
  std::size_t index = 0;
  while (true) {
    std::size_t amp = query.find('&');
    std::string_view seg = query.substr(0, amp);
    ++index;
    if (!seg.empty()) {
      std::size_t eq = seg.find('=');
      std::string name, value;
      if (eq == std::string_view::npos) {
        r.errors.push_back("URL parameter " + std::to_string(index) +
                           " has no '=' (expected name=value)");
      } else if (!percentDecode(seg.substr(0, eq), name) || !printableName(name)) {
        r.errors.push_back("URL parameter " + std::to_string(index) +
                           " has a name that is not a plain word");
      } else if (name == "ssl" && percentDecode(seg.substr(eq + 1), value) && value == "true") {
        kept.emplace_back(seg);  // libpq reads ssl=true as sslmode=require, as JDBC does
      } else if (contains(libpqKeywords(), name)) {
        kept.emplace_back(seg);
      } else {
        std::string owner;
        auto add = [&](bool used, const char* who) {
          if (!used) return;
          if (!owner.empty()) owner += ", ";
          owner += who;
        };
        add(contains(prismaParams(), name), "Prisma");
        add(contains(jdbcParams(), name), "JDBC");
        add(contains(nodeParams(), name), "node-postgres");
        if (!owner.empty()) {
          r.ignored.push_back({name, owner});
        } else if (keepUnknown) {
          kept.emplace_back(seg);
        } else {
          std::string m = "unknown URL parameter '" + name +
                          "': neither a libpq keyword nor one Prisma, JDBC or node-postgres uses";
          std::string hint = suggestKey(name, libpqKeywords());
          if (!hint.empty()) m += "; did you mean '" + hint + "'?";
          r.errors.push_back(m);
        }
      }
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  r.conninfo = base;
  for (std::size_t i = 0; i < kept.size(); ++i) r.conninfo += (i ? "&" : "?") + kept[i];
  return r;
}

std::vector<std::string> describeIgnored(const std::vector<IgnoredParam>& ignored) {
  std::vector<std::string> out;
  for (const auto& p : ignored)
    out.push_back("URL parameter '" + p.name + "' ignored: used by " + p.owner);
  return out;
}

std::string quoteConninfoValue(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace pgvigil
