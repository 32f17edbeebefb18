#include "probes/conninfo.h"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <set>

#include "core/redact.h"

namespace pgvigil {
namespace {

using ConnInfoOptionsPtr = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

constexpr std::string_view kMask = "*****";

bool isSecretKeyword(std::string_view keyword) {
  return keyword == "password" || keyword == "sslpassword";
}

std::string firstOfList(const std::string& list) {
  auto comma = list.find(',');
  return comma == std::string::npos ? list : list.substr(0, comma);
}

/// libpq's quoting of a keyword value: bare when safe, else single quotes with \ escapes.
std::string quoteValue(const std::string& v) {
  bool bare = !v.empty() && std::none_of(v.begin(), v.end(), [](char c) {
    return c == ' ' || c == '\'' || c == '\\' || c == '=' || c == '\t' || c == '\n';
  });
  if (bare) return v;
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

/// Every keyword libpq knows (from PQconndefaults), so that parser errors can keep keyword
/// names and mask any other quoted token, which may be (part of) a secret.
const std::set<std::string>& knownKeywords() {
  static const std::set<std::string> keywords = [] {
    std::set<std::string> out;
    ConnInfoOptionsPtr defaults(PQconndefaults(), &PQconninfoFree);
    for (auto* o = defaults.get(); o && o->keyword; ++o) out.insert(o->keyword);
    return out;
  }();
  return keywords;
}

/// A token libpq's parser quotes that names a URI query parameter rather than holding a value:
/// a plain word in "invalid URI query parameter" (issue 11: a Prisma parameter was printed as
/// "*****", so the user could not see which one libpq rejected). In a keyword string the name
/// of an "invalid connection option" stays masked: a password with a space spliced into it
/// makes its second half look like a keyword.
bool namesParameter(std::string_view message, std::string_view token) {
  if (message.find("invalid URI query parameter") == std::string_view::npos) return false;
  if (token.empty() || token.size() > 63) return false;
  return std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::string redactParserError(std::string message, const std::vector<std::string>& secrets) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t open = message.find('"', pos);
    if (open == std::string::npos) break;
    size_t close = message.find('"', open + 1);
    if (close == std::string::npos) break;
    std::string token = message.substr(open + 1, close - open - 1);
    out += message.substr(pos, open + 1 - pos);
    out +=
        knownKeywords().count(token) || namesParameter(message, token) ? token : std::string(kMask);
    out += '"';
    pos = close + 1;
  }
  out += message.substr(pos);
  return redactSecrets(out, secrets);
}

}  // namespace

std::string ConnInfo::host() const {
  auto it = params.find("host");
  return it == params.end() ? "" : firstOfList(it->second);
}

std::string ConnInfo::hostaddr() const {
  auto it = params.find("hostaddr");
  return it == params.end() ? "" : firstOfList(it->second);
}

int ConnInfo::port() const {
  auto it = params.find("port");
  if (it == params.end()) return 5432;
  std::string first = firstOfList(it->second);
  try {
    size_t used = 0;
    int p = std::stoi(first, &used);
    if (used == first.size() && p > 0 && p < 65536) return p;
  } catch (...) {
  }
  return 5432;
}

std::string ConnInfo::dbname() const {
  auto it = params.find("dbname");
  return it == params.end() ? "" : it->second;
}

std::string ConnInfo::user() const {
  auto it = params.find("user");
  return it == params.end() ? "" : it->second;
}

bool ConnInfo::isUnixSocket() const {
  if (!hostaddr().empty()) return false;
  std::string h = host();
  return h.empty() || h.front() == '/' || h.front() == '@';
}

std::optional<ConnInfo> parseConnInfo(const std::string& conninfo, std::string* error) {
  char* err = nullptr;
  ConnInfoOptionsPtr options(PQconninfoParse(conninfo.c_str(), &err), &PQconninfoFree);
  if (!options) {
    if (error)
      *error = err ? redactParserError(err, connInfoSecrets(conninfo))
                   : "out of memory parsing the conninfo";
    if (err) PQfreemem(err);
    return std::nullopt;
  }
  ConnInfo info;
  for (auto* o = options.get(); o->keyword; ++o)
    if (o->val) info.params[o->keyword] = o->val;
  return info;
}

std::string redactConnInfo(const std::string& conninfo) {
  char* err = nullptr;
  ConnInfoOptionsPtr options(PQconninfoParse(conninfo.c_str(), &err), &PQconninfoFree);
  if (err) PQfreemem(err);
  if (!options) return std::string(kMask);
  // A malformed conninfo can carry a secret in another keyword's value: with an empty
  // ${DB_PORT}, "port= password=x" is port='password=x' to libpq (issue 11). So every value is
  // masked by pattern and by the passwords the string spells out, not only the secret keywords.
  const std::vector<std::string> secrets = connInfoSecrets(conninfo);
  std::string out;
  for (auto* o = options.get(); o->keyword; ++o) {
    if (!o->val) continue;
    if (!out.empty()) out += ' ';
    out += o->keyword;
    out += '=';
    out += isSecretKeyword(o->keyword) ? std::string(kMask)
                                       : quoteValue(redactSecrets(o->val, secrets));
  }
  return out;
}

ConnectParams buildConnectParams(const ConnInfo& info, const std::string& applicationName,
                                 int connectTimeoutSeconds, int statementTimeoutMs,
                                 const Env& env) {
  ConnectParams out;
  std::string options;
  for (const auto& [key, value] : info.params) {
    if (key == "application_name" || key == "connect_timeout" || key == "fallback_application_name")
      continue;
    if (key == "options") {
      options = value;
      continue;
    }
    out.keys.push_back(key);
    out.values.push_back(value);
  }
  if (!applicationName.empty()) {
    out.keys.push_back("application_name");
    out.values.push_back(applicationName);
  } else if (auto it = info.params.find("application_name"); it != info.params.end()) {
    out.keys.push_back("application_name");
    out.values.push_back(it->second);
  }
  // libpq treats 1 as 2 and 0 as "wait forever": never pass either.
  out.keys.push_back("connect_timeout");
  out.values.push_back(std::to_string(std::max(2, connectTimeoutSeconds)));
  if (statementTimeoutMs > 0) {
    if (!options.empty()) options += ' ';
    options += "-c statement_timeout=" + std::to_string(statementTimeoutMs);
  }
  if (!options.empty()) {
    out.keys.push_back("options");
    out.values.push_back(options);
  }
  if (!info.params.count("gssencmode") && !info.params.count("service") &&
      !env.get("PGGSSENCMODE") && !env.get("PGSERVICE")) {
    out.keys.push_back("gssencmode");
    out.values.push_back("disable");
  }
  return out;
}

}  // namespace pgvigil
