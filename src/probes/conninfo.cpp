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

bool isIdentifier(std::string_view token) {
  if (token.empty() || token.size() > 63) return false;
  return std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool isSpaceChar(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// One `key = value` of a keyword conninfo, read leniently (as libpq's parser reads it, but
/// going on past its errors), to name what a string libpq rejects holds without its values.
struct LooseItem {
  std::string key;
  bool has_value = false;
  /// The key follows a bare (unquoted) password value: with a password holding a space spliced
  /// into the string ("password=abc def=x"), it is the password's second half.
  bool after_bare_password = false;
};

std::vector<LooseItem> looseKeywordItems(std::string_view s) {
  std::vector<LooseItem> out;
  bool lastWasBarePassword = false;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && isSpaceChar(s[i])) ++i;
    if (i >= s.size()) break;
    LooseItem item;
    while (i < s.size() && s[i] != '=' && !isSpaceChar(s[i])) item.key += s[i++];
    std::size_t j = i;
    while (j < s.size() && isSpaceChar(s[j])) ++j;
    item.after_bare_password = lastWasBarePassword;
    lastWasBarePassword = false;
    if (j < s.size() && s[j] == '=') {
      item.has_value = true;
      i = j + 1;
      while (i < s.size() && isSpaceChar(s[i])) ++i;
      bool quoted = i < s.size() && s[i] == '\'';
      if (quoted) {
        ++i;
        while (i < s.size() && s[i] != '\'') i += (s[i] == '\\' && i + 1 < s.size()) ? 2 : 1;
        if (i < s.size()) ++i;
      } else {
        while (i < s.size() && !isSpaceChar(s[i])) i += (s[i] == '\\' && i + 1 < s.size()) ? 2 : 1;
      }
      lastWasBarePassword = !quoted && isSecretKeyword(item.key);
    }
    out.push_back(std::move(item));
  }
  return out;
}

bool isUriConninfo(std::string_view s) {
  while (!s.empty() && isSpaceChar(s.front())) s.remove_prefix(1);
  return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0;
}

/// Whether a name that libpq quotes in an error may be shown: it is a plain word, no piece of a
/// password the string spells out, and in a keyword string not the word after a bare password
/// value (issue 11: a password with a space spliced into a conninfo makes its second half look
/// like an option name). Keyword names and URI parameter names are shown; only values are masked.
bool showableName(std::string_view token, const std::string& conninfo,
                  const std::vector<std::string>& secrets) {
  if (!isIdentifier(token)) return false;
  for (const auto& secret : secrets)
    if (!secret.empty() && secret.find(token) != std::string::npos) return false;
  if (isUriConninfo(conninfo)) return true;
  for (const auto& item : looseKeywordItems(conninfo))
    if (item.key == token && item.after_bare_password) return false;
  return true;
}

/// libpq's messages that quote a name rather than a value.
bool quotesAName(std::string_view message) {
  return message.find("invalid URI query parameter") != std::string_view::npos ||
         message.find("invalid connection option") != std::string_view::npos;
}

std::string redactParserError(std::string message, const std::string& conninfo,
                              const std::vector<std::string>& secrets) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  const bool namesQuoted = quotesAName(message);
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t open = message.find('"', pos);
    if (open == std::string::npos) break;
    size_t close = message.find('"', open + 1);
    if (close == std::string::npos) break;
    std::string token = message.substr(open + 1, close - open - 1);
    out += message.substr(pos, open + 1 - pos);
    out += knownKeywords().count(token) || (namesQuoted && showableName(token, conninfo, secrets))
               ? token
               : std::string(kMask);
    out += '"';
    pos = close + 1;
  }
  out += message.substr(pos);
  return redactSecrets(out, secrets);
}

/// A conninfo libpq cannot parse, with its keywords (or URI parameter names) and every value
/// masked: the user sees which keywords it holds, never a value (any of them may hold a
/// spliced password).
std::string maskUnparsedConnInfo(const std::string& conninfo) {
  const std::vector<std::string> secrets = connInfoSecrets(conninfo);
  std::string out;
  if (isUriConninfo(conninfo)) {
    std::string_view s = conninfo;
    while (!s.empty() && isSpaceChar(s.front())) s.remove_prefix(1);
    out = std::string(s.substr(0, s.find("://") + 3)) + std::string(kMask);
    std::size_t q = s.find('?');
    if (q == std::string_view::npos) return out;
    std::string_view query = s.substr(q + 1);
    query = query.substr(0, query.find('#'));
    char sep = '?';
    while (!query.empty()) {
      std::size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      std::string_view name = pair.substr(0, pair.find('='));
      out += sep;
      sep = '&';
      out += showableName(name, conninfo, secrets) ? std::string(name) : std::string(kMask);
      if (name.size() < pair.size()) out += "=" + std::string(kMask);
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
    return out;
  }
  for (const auto& item : looseKeywordItems(conninfo)) {
    if (!out.empty()) out += ' ';
    const bool show =
        item.has_value && isIdentifier(item.key) &&
        (knownKeywords().count(item.key) || showableName(item.key, conninfo, secrets));
    out += show ? item.key : std::string(kMask);
    if (item.has_value) out += "=" + std::string(kMask);
  }
  return out.empty() ? std::string(kMask) : out;
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
      *error = err ? redactParserError(err, conninfo, connInfoSecrets(conninfo))
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
  if (!options) return maskUnparsedConnInfo(conninfo);
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
