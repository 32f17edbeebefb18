// Application connection URLs (issue 11): a DATABASE_URL as Prisma, JDBC or node-postgres take
// it, made into a URI libpq accepts. Pure string work (core does not link libpq): the query
// parameters libpq does not know but a driver does are dropped and remembered, unknown ones are
// errors that name the parameter (never its value), `jdbc:` is stripped. libpq's own parser stays
// the final judge (probes/conninfo.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgvigil {

/// A query parameter dropped for the probe because an application driver uses it.
struct IgnoredParam {
  std::string name;   ///< percent-decoded
  std::string owner;  ///< "Prisma", "JDBC", "node-postgres" or several, comma-separated
  bool operator==(const IgnoredParam&) const = default;
};

struct AppUrl {
  bool is_url = false;   ///< false: not a URL; conninfo is the input unchanged
  std::string conninfo;  ///< the URI for libpq
  std::vector<IgnoredParam> ignored;
  std::vector<std::string> errors;  ///< name parameters, never values
  bool ok() const { return errors.empty(); }
};

/// True for postgresql://, postgres:// and jdbc:postgresql:// (any case of the scheme).
bool looksLikeUrl(std::string_view text);

/// Normalises an application URL; text that is not a URL comes back unchanged (is_url false).
/// With keepUnknown (a URL in `conninfo:`, libpq's domain) an unknown parameter is left for
/// libpq to judge instead of being an error here.
AppUrl normalizeAppUrl(std::string_view text, bool keepUnknown = false);

/// Every connection keyword libpq (up to 18) accepts in a URI's query.
const std::vector<std::string>& libpqKeywords();

/// A keyword conninfo value as libpq reads it back: single quotes, with ' and \ escaped by a
/// backslash ("host=" + quoteConninfoValue(v) is safe for any v, spaces and quotes included).
std::string quoteConninfoValue(std::string_view value);

/// "URL parameter 'schema' ignored: used by Prisma", one line per parameter.
std::vector<std::string> describeIgnored(const std::vector<IgnoredParam>& ignored);

}  // namespace pgvigil
